"""the database refuses a ledger entry that does not balance or has fewer than two lines

Double entry (DESIGN §3): an entry's lines sum to zero cents, and an entry moves money between at least two
accounts. `accounts.service.post_entries` checks this in Python; here the database refuses it too, so no code
path and no hand-written SQL can store a broken entry. Both rules rely on how `post_entries` writes: all the
entries first, then all their lines in one statement (COPY on PostgreSQL), in one transaction.

PostgreSQL (SQLSTATE 23514, check_violation):
- a statement-level trigger on ledger_lines sees every line the statement inserted (a transition table) and
  refuses the statement if any entry it touched now sums to anything but zero or has fewer than two lines: one
  query per statement, not one per line;
- a deferred constraint trigger on ledger_entries refuses, at commit, an entry that got no lines at all (the lines
  trigger never hears of it).

SQLite has neither statement triggers nor deferred triggers, but it checks deferred foreign keys at COMMIT (with
`PRAGMA foreign_keys=ON`, which every Plumb connection sets). A row trigger on ledger_lines keeps
ledger_balanced_entries: an entry's id is there while its lines sum to zero and number two or more, and only then.
Every ledger entry has a deferred foreign key to that table, so an entry that ends its transaction unbalanced or
without lines has nothing to point at, and the COMMIT fails ("FOREIGN KEY constraint failed"). The table and the
foreign key are kept outside the models (`accounts.models.SQLITE_BALANCE_OBJECTS`).

Entries already stored are not checked again (as PostgreSQL's NOT VALID constraints); `plumb ledger check` reports
any old one that breaks a rule.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 12:00:00
"""
from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

_REFUSAL = "USING ERRCODE = 'check_violation', TABLE = '{table}', CONSTRAINT = '{constraint}'"


def _upgrade_postgresql() -> None:
    op.execute(f"""
        CREATE FUNCTION plumb_ledger_entries_balance() RETURNS trigger AS $$
        DECLARE
            bad record;
        BEGIN
            SELECT l.entry_id, sum(l.amount_cents) AS total, count(*) AS lines INTO bad
              FROM ledger_lines l
             WHERE l.entry_id IN (SELECT DISTINCT entry_id FROM new_lines)
             GROUP BY l.entry_id
            HAVING sum(l.amount_cents) <> 0 OR count(*) < 2
             LIMIT 1;
            IF FOUND THEN
                RAISE EXCEPTION 'ledger entry % does not balance: % line(s) summing to % cents',
                    bad.entry_id, bad.lines, bad.total
                    {_REFUSAL.format(table="ledger_lines", constraint="ledger_lines_balance")};
            END IF;
            RETURN NULL;
        END; $$ LANGUAGE plpgsql""")
    op.execute("CREATE TRIGGER ledger_lines_balance AFTER INSERT ON ledger_lines REFERENCING NEW TABLE AS new_lines "
               "FOR EACH STATEMENT EXECUTE FUNCTION plumb_ledger_entries_balance()")
    op.execute(f"""
        CREATE FUNCTION plumb_ledger_entry_has_lines() RETURNS trigger AS $$
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM ledger_lines WHERE entry_id = NEW.id) THEN
                RAISE EXCEPTION 'ledger entry % has no lines', NEW.id
                    {_REFUSAL.format(table="ledger_entries", constraint="ledger_entries_have_lines")};
            END IF;
            RETURN NULL;
        END; $$ LANGUAGE plpgsql""")
    op.execute("CREATE CONSTRAINT TRIGGER ledger_entries_have_lines AFTER INSERT ON ledger_entries "
               "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION plumb_ledger_entry_has_lines()")


def _downgrade_postgresql() -> None:
    op.execute("DROP TRIGGER IF EXISTS ledger_entries_have_lines ON ledger_entries")
    op.execute("DROP FUNCTION IF EXISTS plumb_ledger_entry_has_lines()")
    op.execute("DROP TRIGGER IF EXISTS ledger_lines_balance ON ledger_lines")
    op.execute("DROP FUNCTION IF EXISTS plumb_ledger_entries_balance()")


def _sqlite_append_only_triggers() -> None:
    """Migration 0002's triggers on ledger_entries, which rebuilding the table drops."""
    for action in ("UPDATE", "DELETE"):
        op.execute(f"CREATE TRIGGER IF NOT EXISTS ledger_entries_no_{action.lower()} BEFORE {action} ON ledger_entries "
                   f"BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END")


def _upgrade_sqlite() -> None:
    op.execute("""
        CREATE TABLE ledger_balanced_entries (
            entry_id VARCHAR(32) NOT NULL,
            CONSTRAINT pk_ledger_balanced_entries PRIMARY KEY (entry_id)
        )""")
    op.execute("""
        INSERT INTO ledger_balanced_entries (entry_id)
        SELECT entry_id FROM ledger_lines GROUP BY entry_id HAVING sum(amount_cents) = 0 AND count(*) >= 2""")
    with op.batch_alter_table("ledger_entries", recreate="always") as batch_op:
        batch_op.create_foreign_key("fk_ledger_entries_balanced", "ledger_balanced_entries", ["id"], ["entry_id"],
                                    deferrable=True, initially="DEFERRED")
    _sqlite_append_only_triggers()
    # Each line re-adds its entry's lines (an index range of a few rows, just written): reading them costs a
    # third of keeping a running sum row up to date, which is a write per line.
    op.execute("""
        CREATE TRIGGER ledger_lines_balance AFTER INSERT ON ledger_lines BEGIN
            DELETE FROM ledger_balanced_entries WHERE entry_id = NEW.entry_id;
            INSERT INTO ledger_balanced_entries (entry_id)
            SELECT entry_id FROM ledger_lines WHERE entry_id = NEW.entry_id
             GROUP BY entry_id HAVING sum(amount_cents) = 0 AND count(*) >= 2;
        END""")


def _downgrade_sqlite() -> None:
    op.execute("DROP TRIGGER IF EXISTS ledger_lines_balance")
    with op.batch_alter_table("ledger_entries", recreate="always") as batch_op:
        batch_op.drop_constraint("fk_ledger_entries_balanced", type_="foreignkey")
    _sqlite_append_only_triggers()
    op.execute("DROP TABLE ledger_balanced_entries")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _upgrade_postgresql()
    else:
        _upgrade_sqlite()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _downgrade_postgresql()
    else:
        _downgrade_sqlite()
