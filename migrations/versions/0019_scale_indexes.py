"""scale indexes: ledger lines by account carry their amount and entry, so a plan's money by employee is read from
the index (issue 14's scale benchmark)

A plan's per-employee sums (money in by source for 402(g) and the compliance tests, cost basis, the staff's views)
join the plan's accounts to their lines. With only the lines' account index, PostgreSQL costed those lookups high
and, once the ledger held a few hundred plans, chose a parallel sequential scan of every ledger account instead
(60 ms against 3 ms for a 50-person plan, and growing with the book). The same index, covering the amount, the units
and the entry, makes each lookup an index-only scan and the plan's accounts are then found through their own index
(the units too: the participants' lines read them, and without them the staff's list of a plan's people still went
parallel and sequential).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01 05:10:00
"""
from alembic import op


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


# Plain index operations, not a batch: on SQLite a batch may copy the table, and ledger_lines carries the balance
# trigger of migration 0008. SQLite has no INCLUDE: there the index stays on the account alone.
def upgrade() -> None:
    op.drop_index('ix_ledger_lines_account_id', table_name='ledger_lines')
    op.create_index('ix_ledger_lines_account_id', 'ledger_lines', ['account_id'], unique=False,
                    postgresql_include=['amount_cents', 'units', 'entry_id'])


def downgrade() -> None:
    op.drop_index('ix_ledger_lines_account_id', table_name='ledger_lines')
    op.create_index('ix_ledger_lines_account_id', 'ledger_lines', ['account_id'], unique=False)
