"""billing: each employer's Stripe customer and subscriptions, its invoices, and the Stripe events acted on

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 02:26:18.452579
"""
from alembic import op
import sqlalchemy as sa
import backend.db


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('stripe_events',
    sa.Column('event_id', sa.String(length=255), nullable=False),
    sa.Column('type', sa.String(length=64), nullable=False),
    sa.Column('outcome', sa.String(length=32), nullable=False),
    sa.Column('received_at', backend.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_stripe_events'))
    )
    op.create_table('billing_invoices',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('stripe_invoice_id', sa.String(length=64), nullable=False),
    sa.Column('employer_id', sa.String(length=32), nullable=False),
    sa.Column('amount_due_cents', sa.BigInteger(), nullable=False),
    sa.Column('amount_paid_cents', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_on', sa.Date(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=True),
    sa.Column('period_end', sa.Date(), nullable=True),
    sa.Column('updated_at', backend.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['employer_id'], ['employers.id'], name=op.f('fk_billing_invoices_employer_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_invoices')),
    sa.UniqueConstraint('stripe_invoice_id', name=op.f('uq_billing_invoices_stripe_invoice_id'))
    )
    with op.batch_alter_table('billing_invoices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_billing_invoices_employer_id'), ['employer_id'], unique=False)

    op.create_table('billing_accounts',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('employer_id', sa.String(length=32), nullable=False),
    sa.Column('plan_id', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('went_live_on', sa.Date(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('base_fee_cents', sa.BigInteger(), nullable=False),
    sa.Column('participant_cents', sa.BigInteger(), nullable=False),
    sa.Column('stripe_customer_id', sa.String(length=64), nullable=True),
    sa.Column('base_subscription_id', sa.String(length=64), nullable=True),
    sa.Column('participant_subscription_id', sa.String(length=64), nullable=True),
    sa.Column('participant_item_id', sa.String(length=64), nullable=True),
    sa.Column('payment_failed_on', sa.Date(), nullable=True),
    sa.Column('past_due_on', sa.Date(), nullable=True),
    sa.Column('created_at', backend.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', backend.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['employer_id'], ['employers.id'], name=op.f('fk_billing_accounts_employer_id')),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], name=op.f('fk_billing_accounts_plan_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_accounts')),
    sa.UniqueConstraint('employer_id', name=op.f('uq_billing_accounts_employer_id'))
    )
    with op.batch_alter_table('billing_accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_billing_accounts_plan_id'), ['plan_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_billing_accounts_stripe_customer_id'), ['stripe_customer_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('billing_accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_billing_accounts_stripe_customer_id'))
        batch_op.drop_index(batch_op.f('ix_billing_accounts_plan_id'))

    op.drop_table('billing_accounts')
    with op.batch_alter_table('billing_invoices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_billing_invoices_employer_id'))

    op.drop_table('billing_invoices')
    op.drop_table('stripe_events')
