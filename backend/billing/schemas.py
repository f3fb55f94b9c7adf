"""Shapes of the sponsor's billing view and of the answer to Stripe's webhooks."""
from marshmallow import fields

from backend.web.schema import Schema


class InvoiceOut(Schema):
    """A Stripe invoice, as Stripe's last webhook about it described it."""

    id = fields.String(metadata={"description": "Stripe's invoice id"})
    amount_due_cents = fields.Integer()
    amount_paid_cents = fields.Integer()
    status = fields.String(metadata={"description": "paid, payment_failed or open"})
    created_on = fields.Date()
    period_start = fields.Date(allow_none=True)
    period_end = fields.Date(allow_none=True)


class BillingOut(Schema):
    """The employer's billing: its status, what it is billed for and its invoices, newest first."""

    configured = fields.Boolean(metadata={"description": "Whether this server bills through Stripe at all: false "
                                                        "means billing is off here for every employer"})
    status = fields.String(metadata={"description": "off (no plan live, or billing not configured), active, "
                                                    "past_due (a payment failed and its grace period ended) or "
                                                    "cancelled"})
    quantity = fields.Integer(metadata={"description": "Participants billed: those with a balance or an election"})
    base_fee_cents = fields.Integer(allow_none=True, metadata={"description": "A month"})
    participant_cents = fields.Integer(allow_none=True, metadata={"description": "A participant, a month"})
    went_live_on = fields.Date(allow_none=True)
    payment_failed_on = fields.Date(allow_none=True, metadata={"description": "A failed payment not yet made good"})
    past_due_on = fields.Date(allow_none=True, metadata={
        "description": "When billing turns past due unless a payment arrives first"})
    invoices = fields.List(fields.Nested(InvoiceOut))


class StripeEventOut(Schema):
    """What Plumb did with a Stripe event."""

    event_id = fields.String()
    duplicate = fields.Boolean(metadata={"description": "Seen before: nothing was done again"})
    outcome = fields.String()
