"""signing links: the sponsor admin signs the adoption agreement from a single-use link sent to their email, without
an account; a signature records how its signer was identified, and a link's signer has no user id

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-01 06:00:00.000000
"""
from alembic import op
import sqlalchemy as sa

import backend.db


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('signing_links',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('document_id', sa.String(length=32), nullable=False),
        sa.Column('plan_id', sa.String(length=32), nullable=False),
        sa.Column('employer_id', sa.String(length=32), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('email', sa.String(length=320), nullable=False),
        sa.Column('created_by', sa.String(length=32), nullable=True),
        sa.Column('created_at', backend.db.UTCDateTime(), nullable=False),
        sa.Column('expires_at', backend.db.UTCDateTime(), nullable=False),
        sa.Column('used_at', backend.db.UTCDateTime(), nullable=True),
        sa.Column('voided_at', backend.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['document_id'], ['plan_documents.id'], name=op.f('fk_signing_links_document_id')),
        sa.ForeignKeyConstraint(['employer_id'], ['employers.id'], name=op.f('fk_signing_links_employer_id')),
        sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], name=op.f('fk_signing_links_plan_id')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_signing_links')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_signing_links_token_hash')),
    )
    op.create_index(op.f('ix_signing_links_document_id'), 'signing_links', ['document_id'], unique=False)
    op.create_index(op.f('ix_signing_links_plan_id'), 'signing_links', ['plan_id'], unique=False)
    with op.batch_alter_table('document_signatures') as batch:
        batch.add_column(sa.Column('identified_by', sa.String(length=400), nullable=True))
        batch.alter_column('signer_user_id', existing_type=sa.String(length=32), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table('document_signatures') as batch:
        batch.alter_column('signer_user_id', existing_type=sa.String(length=32), nullable=False)
        batch.drop_column('identified_by')
    op.drop_index(op.f('ix_signing_links_plan_id'), table_name='signing_links')
    op.drop_index(op.f('ix_signing_links_document_id'), table_name='signing_links')
    op.drop_table('signing_links')
