"""Billing's tables: each employer's Stripe account with Plumb (customer, subscriptions, status), the invoices
Stripe told us of, and the Stripe events already acted on (so a replayed or duplicated webhook acts once)."""
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, Cents, UTCDateTime, new_id, utcnow

# off: no plan live (or billing not configured); active: billed; past_due: a payment failed and the grace period
# ran out; cancelled: the subscription was deleted in Stripe.
STATUSES = ("active", "past_due", "cancelled")


class BillingAccount(Base):
    """An employer billed through Stripe since its plan went live: one row per employer."""

    __tablename__ = "billing_accounts"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("bil"))
    employer_id: Mapped[str] = mapped_column(ForeignKey("employers.id"), unique=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id"), index=True)  # found by every approval, every pay run
    status: Mapped[str] = mapped_column(String(16), default="active")
    went_live_on: Mapped[date] = mapped_column(Date)
    # Participants with a balance or an election, as last sent to Stripe (queued, at least).
    quantity: Mapped[int] = mapped_column(Integer, default=0)
    base_fee_cents: Mapped[int] = mapped_column(Cents)
    participant_cents: Mapped[int] = mapped_column(Cents)
    # Stripe's ids, recorded by the deliverer once Stripe made them (null until then).
    stripe_customer_id: Mapped[str | None] = mapped_column(String(64), index=True)
    base_subscription_id: Mapped[str | None] = mapped_column(String(64))
    participant_subscription_id: Mapped[str | None] = mapped_column(String(64))
    participant_item_id: Mapped[str | None] = mapped_column(String(64))
    # The first failed payment not yet made good, and the day the daily pass flags the plan past due unless a
    # payment arrives first.
    payment_failed_on: Mapped[date | None] = mapped_column(Date)
    past_due_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class BillingInvoice(Base):
    """A Stripe invoice of an employer's, as Stripe's last webhook about it described it."""

    __tablename__ = "billing_invoices"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("inv"))
    stripe_invoice_id: Mapped[str] = mapped_column(String(64), unique=True)
    employer_id: Mapped[str] = mapped_column(ForeignKey("employers.id"), index=True)
    amount_due_cents: Mapped[int] = mapped_column(Cents)
    amount_paid_cents: Mapped[int] = mapped_column(Cents)
    status: Mapped[str] = mapped_column(String(16))  # paid | payment_failed | open
    created_on: Mapped[date] = mapped_column(Date)
    period_start: Mapped[date | None] = mapped_column(Date)
    period_end: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class StripeEvent(Base):
    """A Stripe event acted on: its id is the primary key, so two copies arriving at once act once."""

    __tablename__ = "stripe_events"

    event_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
