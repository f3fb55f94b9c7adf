"""compliance state headline: what an election moves, apart from the last full result

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 10:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable, with nothing to fill in: a state without a headline is moved by the next full computation.
    with op.batch_alter_table('compliance_states', schema=None) as batch_op:
        batch_op.add_column(sa.Column('headline', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('compliance_states', schema=None) as batch_op:
        batch_op.drop_column('headline')
