"""name every constraint by the convention (pk_, uq_, fk_)

Migrations 0001–0006 were written before `backend.db.NAMING_CONVENTION`, so a database they built has unnamed
constraints: PostgreSQL calls them `<table>_pkey`, `<table>_<column>_key` and `<table>_<column>_fkey`; SQLite keeps
no name at all, and its batch mode can then neither find nor drop them. This revision gives each its conventional
name. A database built from scratch after the convention arrived already has those names (Alembic applies the
models' convention to 0001–0006 too), and is left as it is.

PostgreSQL renames in place (an index-backed constraint's index is renamed with it). SQLite cannot rename a
constraint, so each table is rebuilt in batch mode, which drops its triggers: the ledger's append-only triggers
are created again. The downgrade restores the old names (PostgreSQL's defaults; none on SQLite).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

# Frozen here rather than imported, so this revision does the same thing whatever later becomes of the models.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s",
    "pk": "pk_%(table_name)s",
}

# Every table's primary key was unnamed; so were these one-column unique constraints and foreign keys.
# table: (unique columns, foreign-key columns)
UNNAMED = {
    "audit_events": (("id",), ()),
    "beneficiaries": ((), ("designation_id",)),
    "beneficiary_designations": ((), ("employee_id",)),
    "compliance_ratios": ((), ("plan_id",)),
    "compliance_snapshots": ((), ("plan_id",)),
    "compliance_states": ((), ("plan_id",)),
    "compliance_warnings": ((), ("plan_id",)),
    "deferral_elections": ((), ("employee_id", "plan_id")),
    "election_lines": ((), ("election_id",)),
    "eligibility_determinations": ((), ("employee_id", "plan_id")),
    "employees": (("invite_code",), ("employer_id",)),
    "employers": (("ein",), ()),
    "fund_prices": ((), ("fund_id",)),
    "funds": ((), ("plan_id",)),
    "idempotency_keys": ((), ()),
    "investment_allocations": ((), ("fund_id", "investment_election_id")),
    "investment_elections": ((), ("employee_id",)),
    "invitations": (("token_hash",), ()),
    "ledger_accounts": ((), ("employee_id", "fund_id", "plan_id")),
    "ledger_entries": (("idempotency_key",), ("plan_id", "reverses_entry_id")),
    "ledger_lines": ((), ("account_id", "entry_id")),
    "login_attempts": ((), ()),
    "outbox_messages": (("id",), ()),
    "outside_deferrals": ((), ("employee_id",)),
    "pay_runs": ((), ("connection_id", "employer_id", "plan_id")),
    "pay_statements": ((), ("employee_id", "pay_run_id")),
    "payroll_exceptions": ((), ("employer_id", "pay_run_id", "statement_id")),
    "plans": ((), ("employer_id",)),
    "provider_connections": ((), ("employer_id",)),
    "provider_events": ((), ("connection_id",)),
    "refresh_tokens": (("token_hash",), ("user_id",)),
    "users": (("email", "employee_id"), ()),
}


def _names() -> list[tuple[str, str, str]]:
    """(table, PostgreSQL's default name, the conventional name) of every constraint this revision names."""
    names = []
    for table, (unique, foreign) in UNNAMED.items():
        names.append((table, f"{table}_pkey", f"pk_{table}"))
        names += [(table, f"{table}_{column}_key", f"uq_{table}_{column}") for column in unique]
        names += [(table, f"{table}_{column}_fkey", f"fk_{table}_{column}") for column in foreign]
    return names


def _rename_on_postgresql(pairs: list[tuple[str, str, str]]) -> None:
    """Rename (table, from, to) where the table has a constraint called `from`."""
    present = set(op.get_bind().execute(sa.text(
        "SELECT c.relname, con.conname FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema()")).all())
    for table, old, new in pairs:
        if (table, old) in present:
            op.execute(f'ALTER TABLE "{table}" RENAME CONSTRAINT "{old}" TO "{new}"')


def _sqlite_constraints(table: str) -> sa.Table:
    return sa.Table(table, sa.MetaData(), autoload_with=op.get_bind())


def _sqlite_append_only_triggers() -> None:
    """Migration 0002's triggers, which a rebuilt table loses: the ledger refuses updates and deletes."""
    for table in ("ledger_entries", "ledger_lines"):
        for action in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER IF NOT EXISTS {table}_no_{action.lower()} BEFORE {action} ON {table} "
                       f"BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _rename_on_postgresql(_names())
        return
    for table in UNNAMED:
        if any(c.name is None for c in _sqlite_constraints(table).constraints):
            # Batch mode names what it reflects without a name by the convention, as it rebuilds the table.
            with op.batch_alter_table(table, recreate="always", naming_convention=NAMING_CONVENTION):
                pass
    _sqlite_append_only_triggers()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _rename_on_postgresql([(table, new, old) for table, old, new in _names()])
        return
    conventional = {new for _, _, new in _names()}
    for table in UNNAMED:
        reflected = _sqlite_constraints(table)
        named = [c for c in reflected.constraints if c.name in conventional]
        if named:
            for constraint in named:
                constraint.name = None
            with op.batch_alter_table(table, recreate="always", copy_from=reflected):
                pass
    _sqlite_append_only_triggers()
