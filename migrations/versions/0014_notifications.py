"""notifications: devices (FCM tokens) and the feed

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 01:00:00.000000
"""
from alembic import op
import sqlalchemy as sa

import backend.db


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('devices',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('user_id', sa.String(length=32), nullable=False),
        sa.Column('token', sa.String(length=4096), nullable=False),
        sa.Column('platform', sa.String(length=10), nullable=False),
        sa.Column('app_version', sa.String(length=32), nullable=True),
        sa.Column('locale', sa.String(length=35), nullable=True),
        sa.Column('time_zone', sa.String(length=64), nullable=True),
        sa.Column('created_at', backend.db.UTCDateTime(), nullable=False),
        sa.Column('last_seen_at', backend.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_devices_user_id')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_devices')),
        sa.UniqueConstraint('token', name=op.f('uq_devices_token')))
    op.create_index(op.f('ix_devices_user_id'), 'devices', ['user_id'], unique=False)
    op.create_table('notifications',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('user_id', sa.String(length=32), nullable=False),
        sa.Column('category', sa.String(length=32), nullable=False),
        sa.Column('kind', sa.String(length=64), nullable=False),
        sa.Column('subject_id', sa.String(length=64), nullable=True),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('deep_link', sa.JSON(), nullable=False),
        sa.Column('created_at', backend.db.UTCDateTime(), nullable=False),
        sa.Column('read_at', backend.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notifications_user_id')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications')))
    op.create_index('ix_notifications_user_created', 'notifications', ['user_id', 'created_at', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_notifications_user_created', table_name='notifications')
    op.drop_table('notifications')
    op.drop_index(op.f('ix_devices_user_id'), table_name='devices')
    op.drop_table('devices')
