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
`PRAGMA foreign_keys=ON`, which every Plumb connection sets). Row triggers keep each entry's running sum and line
count in ledger_entry_sums, whose balanced_entry_id is the entry's id while the sum is zero and there are two lines
or more, and null otherwise; every ledger entry has a deferred foreign key to that column. An entry that ends its
transaction unbalanced or without lines has nothing to point at, and the COMMIT fails ("FOREIGN KEY constraint
failed"). The table and the foreign key are kept outside the models (`accounts.models.SQLITE_BALANCE_OBJECTS`).

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
    # balanced_entry_id is a function of the sums (the CHECK), so it cannot be set by hand to hide an imbalance.
    op.execute("""
        CREATE TABLE ledger_entry_sums (
            entry_id VARCHAR(32) NOT NULL,
            sum_cents BIGINT NOT NULL,
            line_count INTEGER NOT NULL,
            balanced_entry_id VARCHAR(32),
            CONSTRAINT pk_ledger_entry_sums PRIMARY KEY (entry_id),
            CONSTRAINT uq_ledger_entry_sums_balanced_entry_id UNIQUE (balanced_entry_id),
            CONSTRAINT ck_ledger_entry_sums_balanced CHECK (
                (balanced_entry_id IS NOT NULL) = (sum_cents = 0 AND line_count >= 2)
                AND (balanced_entry_id IS NULL OR balanced_entry_id = entry_id))
        )""")
    op.execute("""
        INSERT INTO ledger_entry_sums (entry_id, sum_cents, line_count, balanced_entry_id)
        SELECT e.id, coalesce(sum(l.amount_cents), 0), count(l.id),
               CASE WHEN coalesce(sum(l.amount_cents), 0) = 0 AND count(l.id) >= 2 THEN e.id END
          FROM ledger_entries e LEFT JOIN ledger_lines l ON l.entry_id = e.id
         GROUP BY e.id""")
    with op.batch_alter_table("ledger_entries", recreate="always") as batch_op:
        batch_op.create_foreign_key("fk_ledger_entries_balanced", "ledger_entry_sums", ["id"], ["balanced_entry_id"],
                                    deferrable=True, initially="DEFERRED")
    _sqlite_append_only_triggers()
    op.execute("""
        CREATE TRIGGER ledger_entries_open_sum AFTER INSERT ON ledger_entries BEGIN
            INSERT INTO ledger_entry_sums (entry_id, sum_cents, line_count) VALUES (NEW.id, 0, 0);
        END""")
    op.execute("""
        CREATE TRIGGER ledger_lines_add_to_sum AFTER INSERT ON ledger_lines BEGIN
            UPDATE ledger_entry_sums
               SET sum_cents = sum_cents + NEW.amount_cents,
                   line_count = line_count + 1,
                   balanced_entry_id = CASE WHEN sum_cents + NEW.amount_cents = 0 AND line_count + 1 >= 2
                                            THEN entry_id END
             WHERE entry_id = NEW.entry_id;
        END""")
    # The sums are the ledger's own bookkeeping: append-only like the rows they add up.
    op.execute("CREATE TRIGGER ledger_entry_sums_no_delete BEFORE DELETE ON ledger_entry_sums "
               "BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END")


def _downgrade_sqlite() -> None:
    for trigger in ("ledger_entry_sums_no_delete", "ledger_lines_add_to_sum", "ledger_entries_open_sum"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    with op.batch_alter_table("ledger_entries", recreate="always") as batch_op:
        batch_op.drop_constraint("fk_ledger_entries_balanced", type_="foreignkey")
    _sqlite_append_only_triggers()
    op.execute("DROP TABLE ledger_entry_sums")


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
