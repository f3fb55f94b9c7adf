"""plan_figures: each plan's precomputed dashboard figures, the advisor's book read in the attention order

Existing plans get their row from the daily pass (`plumb daily` refreshes plans without figures) or from the
first event that moves them.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01 05:10:00
"""
from alembic import op
import sqlalchemy as sa
import backend.db


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('plan_figures',
    sa.Column('plan_id', sa.String(length=32), nullable=False),
    sa.Column('employer_id', sa.String(length=32), nullable=False),
    sa.Column('employer_name', sa.String(length=200), nullable=False),
    sa.Column('plan_name', sa.String(length=200), nullable=False),
    sa.Column('advisor_user_id', sa.String(length=32), nullable=True),
    sa.Column('plan_created_at', backend.db.UTCDateTime(), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('stage', sa.String(length=20), nullable=False),
    sa.Column('eligible_count', sa.Integer(), nullable=False),
    sa.Column('enrolled_count', sa.Integer(), nullable=False),
    sa.Column('participation_rate', backend.db.Dec(precision=7, scale=4), nullable=True),
    sa.Column('hce_average_deferral', backend.db.Dec(precision=12, scale=4), nullable=True),
    sa.Column('nhce_average_deferral', backend.db.Dec(precision=12, scale=4), nullable=True),
    sa.Column('match_paid_cents', sa.BigInteger(), nullable=False),
    sa.Column('match_projected_cents', sa.BigInteger(), nullable=False),
    sa.Column('assets_cents', sa.BigInteger(), nullable=False),
    sa.Column('contributions_by_month', sa.JSON(), nullable=False),
    sa.Column('pending_approvals', sa.Integer(), nullable=False),
    sa.Column('open_exceptions', sa.Integer(), nullable=False),
    sa.Column('dead_letters', sa.Integer(), nullable=False),
    sa.Column('compliance_status', sa.String(length=16), nullable=False),
    sa.Column('compliance_margin', backend.db.Dec(precision=12, scale=4), nullable=True),
    sa.Column('agreement_signed', sa.Boolean(), nullable=False),
    sa.Column('billing_status', sa.String(length=16), nullable=False),
    sa.Column('attention', sa.String(length=24), nullable=True),
    sa.Column('attention_rank', sa.Integer(), nullable=False),
    sa.Column('refreshed_at', backend.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['employer_id'], ['employers.id'], name=op.f('fk_plan_figures_employer_id')),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], name=op.f('fk_plan_figures_plan_id')),
    sa.PrimaryKeyConstraint('plan_id', name=op.f('pk_plan_figures'))
    )
    op.create_index('ix_plan_figures_advisor_order', 'plan_figures',
                    ['advisor_user_id', 'attention_rank', 'employer_name', 'plan_id'], unique=False)
    op.create_index('ix_plan_figures_order', 'plan_figures', ['attention_rank', 'employer_name', 'plan_id'],
                    unique=False)
    op.create_index('ix_plan_figures_advisor_stage', 'plan_figures', ['advisor_user_id', 'stage', 'plan_created_at'],
                    unique=False)
    op.create_index(op.f('ix_plan_figures_employer_id'), 'plan_figures', ['employer_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_plan_figures_employer_id'), table_name='plan_figures')
    op.drop_index('ix_plan_figures_advisor_stage', table_name='plan_figures')
    op.drop_index('ix_plan_figures_order', table_name='plan_figures')
    op.drop_index('ix_plan_figures_advisor_order', table_name='plan_figures')
    op.drop_table('plan_figures')
