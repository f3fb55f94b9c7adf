"""sign-up: invite codes stored as keyed digests, never in clear

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 23:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The codes in clear cannot be digested here (the key lives with the application, not the migration), and staff
    # could read every one of them: they are voided, and the sponsor resends an invitation to whoever still needs one.
    with op.batch_alter_table('employees', schema=None) as batch_op:
        batch_op.add_column(sa.Column('invite_code_hash', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint('uq_employees_invite_code_hash', ['invite_code_hash'])
        batch_op.drop_constraint('uq_employees_invite_code', type_='unique')
        batch_op.drop_column('invite_code')


def downgrade() -> None:
    # Codes come back as fresh random placeholders nobody holds: the sponsor resends after a downgrade too.
    with op.batch_alter_table('employees', schema=None) as batch_op:
        batch_op.add_column(sa.Column('invite_code', sa.String(length=16), nullable=True))
    op.execute("UPDATE employees SET invite_code = substr(id, length(id) - 15, 16)")
    with op.batch_alter_table('employees', schema=None) as batch_op:
        batch_op.alter_column('invite_code', existing_type=sa.String(length=16), nullable=False)
        batch_op.create_unique_constraint('uq_employees_invite_code', ['invite_code'])
        batch_op.drop_constraint('uq_employees_invite_code_hash', type_='unique')
        batch_op.drop_column('invite_code_hash')
