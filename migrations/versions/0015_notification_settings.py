"""notification settings: language, time zone, quiet hours and muted categories per user

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 02:00:00.000000
"""
from alembic import op
import sqlalchemy as sa

import backend.db


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('notification_settings',
        sa.Column('user_id', sa.String(length=32), nullable=False),
        sa.Column('language', sa.String(length=8), nullable=True),
        sa.Column('time_zone', sa.String(length=64), nullable=True),
        sa.Column('quiet_hours', sa.Boolean(), nullable=False),
        sa.Column('quiet_start', sa.Time(), nullable=False),
        sa.Column('quiet_end', sa.Time(), nullable=False),
        sa.Column('muted', sa.JSON(), nullable=False),
        sa.Column('updated_at', backend.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notification_settings_user_id')),
        sa.PrimaryKeyConstraint('user_id', name=op.f('pk_notification_settings')),
    )


def downgrade() -> None:
    op.drop_table('notification_settings')
