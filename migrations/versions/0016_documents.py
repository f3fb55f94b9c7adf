"""plan documents and their electronic signatures; plans offer loans and hardship withdrawals

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 03:00:00.000000
"""
from alembic import op
import sqlalchemy as sa

import backend.db


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('plans') as batch:
        batch.add_column(sa.Column('loans_allowed', sa.Boolean(), server_default='false', nullable=False))
        batch.add_column(sa.Column('hardship_allowed', sa.Boolean(), server_default='false', nullable=False))
    op.create_table('plan_documents',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('plan_id', sa.String(length=32), nullable=False),
        sa.Column('employer_id', sa.String(length=32), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('language', sa.String(length=5), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('template_version', sa.String(length=16), nullable=False),
        sa.Column('provisions', sa.JSON(), nullable=False),
        sa.Column('provisions_digest', sa.String(length=64), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('content', sa.LargeBinary(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('effective_on', sa.Date(), nullable=False),
        sa.Column('changes', sa.JSON(), nullable=False),
        sa.Column('plan_year', sa.Integer(), nullable=True),
        sa.Column('notice_opens_on', sa.Date(), nullable=True),
        sa.Column('notice_deadline', sa.Date(), nullable=True),
        sa.Column('created_at', backend.db.UTCDateTime(), nullable=False),
        sa.Column('superseded_at', backend.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['employer_id'], ['employers.id'], name=op.f('fk_plan_documents_employer_id')),
        sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], name=op.f('fk_plan_documents_plan_id')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_documents')),
        sa.UniqueConstraint('plan_id', 'kind', 'language', 'version',
                            name='uq_plan_documents_plan_kind_language_version'),
    )
    op.create_index(op.f('ix_plan_documents_employer_id'), 'plan_documents', ['employer_id'], unique=False)
    op.create_index(op.f('ix_plan_documents_plan_id'), 'plan_documents', ['plan_id'], unique=False)
    op.create_table('document_signatures',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('document_id', sa.String(length=32), nullable=False),
        sa.Column('plan_id', sa.String(length=32), nullable=False),
        sa.Column('signer_user_id', sa.String(length=32), nullable=False),
        sa.Column('typed_name', sa.String(length=200), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('consent_to_electronic_records', sa.Boolean(), nullable=False),
        sa.Column('signed_at', backend.db.UTCDateTime(), nullable=False),
        sa.Column('ip_address', sa.String(length=64), nullable=True),
        sa.Column('user_agent', sa.String(length=500), nullable=True),
        sa.Column('document_sha256', sa.String(length=64), nullable=False),
        sa.Column('signed_sha256', sa.String(length=64), nullable=False),
        sa.Column('signed_content', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['document_id'], ['plan_documents.id'],
                                name=op.f('fk_document_signatures_document_id')),
        sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], name=op.f('fk_document_signatures_plan_id')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_document_signatures')),
        sa.UniqueConstraint('document_id', name=op.f('uq_document_signatures_document_id')),
    )
    op.create_index(op.f('ix_document_signatures_plan_id'), 'document_signatures', ['plan_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_document_signatures_plan_id'), table_name='document_signatures')
    op.drop_table('document_signatures')
    op.drop_index(op.f('ix_plan_documents_plan_id'), table_name='plan_documents')
    op.drop_index(op.f('ix_plan_documents_employer_id'), table_name='plan_documents')
    op.drop_table('plan_documents')
    with op.batch_alter_table('plans') as batch:
        batch.drop_column('hardship_allowed')
        batch.drop_column('loans_allowed')
