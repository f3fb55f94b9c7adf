"""fund prices: held prices, the day each purchase's price was for, the plan's price move band

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26 10:00:00.000000
"""
from alembic import op
import sqlalchemy as sa

import backend.db

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


# Plain ADD COLUMN, not batch mode: on SQLite a batch copy of ledger_lines would drop the triggers that keep the
# ledger append-only and balanced (migration 0008). Every column here is nullable or has a constant default, which
# SQLite adds in place.
def upgrade() -> None:
    op.add_column('fund_prices', sa.Column('status', sa.String(length=10), server_default='confirmed', nullable=False))
    op.add_column('ledger_lines', sa.Column('price_date', sa.Date(), nullable=True))
    op.add_column('plans', sa.Column('price_move_band', backend.db.Dec(6, 4), server_default='0.25', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.drop_column('price_move_band')
    op.drop_column('ledger_lines', 'price_date')  # SQLite 3.35+ drops a plain column in place, triggers kept
    with op.batch_alter_table('fund_prices', schema=None) as batch_op:
        batch_op.drop_column('status')
