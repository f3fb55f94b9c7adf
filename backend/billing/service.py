"""Billing the employer through Stripe: when its plan goes live, a customer and a subscription (a base fee and a price
per participant with a balance or an election, a month); the quantity follows that count; Stripe's webhooks tell
what was paid and what failed, and the daily pass flags billing past due once a failed payment's grace period ends.

Every Stripe write is an outbox message, enqueued in the transaction of its cause (the plan going live, an election
approved, a pay run posted) and delivered by `deliver_to_stripe` outside any transaction, with an idempotency key
derived from the message id, so a retry after a lost answer does nothing twice. One employer's messages share an
outbox line, so a quantity change never overtakes the subscription it changes. Billing never touches a participant's
money, account or app: past due is the sponsor's matter.
"""
import calendar
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import stripe
from sqlalchemy import and_, func, select, union, update
from sqlalchemy.orm import Session

from backend.accounts.models import LedgerAccount, LedgerLine
from backend.billing.models import BillingAccount, BillingInvoice, StripeEvent
from backend.billing.stripe_gateway import StripeGateway, base_plan_id, participant_plan_id
from backend.db import insert_unless_held, new_id, utcnow
from backend.enrollment.models import DeferralElection
from backend.events import BillingStatusChanged, ElectionApproved, PayRunPosted, PlanWentLive, publish
from backend.identity.service import staff_of_employer
from backend.outbox import Delivery, Message, enqueue
from backend.plans.models import Employer
from notifications.service import Notice, already_told, notify_many

log = logging.getLogger(__name__)

TOPIC = "billing.stripe"
PAYMENT_FAILED = "billing_payment_failed"


@dataclass(frozen=True)
class BillingSettings:
    """The prices a plan going live is billed at, and the grace period after a failed payment."""

    base_fee_cents: int
    participant_cents: int
    grace_days: int


def recipient(employer_id: str) -> str:
    """One outbox line per employer: its Stripe writes go out in the order they were caused."""
    return f"stripe/{employer_id}"


# ---- what is billed ---------------------------------------------------------------------------------------------

def billable_participants(session: Session, plan_id: str) -> int:
    """Participants with a balance or an election: employees whose latest approved election is not an opt-out, or
    whose accounts hold money. (Read here from enrollment's and the ledger's tables: neither offers this count.)"""
    latest = (select(DeferralElection.employee_id, func.max(DeferralElection.version).label("version"))
              .where(DeferralElection.plan_id == plan_id, DeferralElection.status == "approved")
              .group_by(DeferralElection.employee_id).subquery())
    elected = (select(DeferralElection.employee_id)
               .join(latest, and_(DeferralElection.employee_id == latest.c.employee_id,
                                  DeferralElection.version == latest.c.version))
               .where(DeferralElection.kind != "opt_out"))
    funded = (select(LedgerAccount.employee_id).join(LedgerLine, LedgerLine.account_id == LedgerAccount.id)
              .where(LedgerAccount.plan_id == plan_id, LedgerAccount.employee_id.is_not(None),
                     LedgerAccount.kind.in_(("participant", "participant_pending")))
              .group_by(LedgerAccount.employee_id).having(func.sum(LedgerLine.amount_cents) != 0))
    return session.scalar(select(func.count()).select_from(union(elected, funded).subquery()))


def _account(session: Session, employer_id: str) -> BillingAccount | None:
    return session.scalar(select(BillingAccount).where(BillingAccount.employer_id == employer_id))


# ---- causes: the plan going live, the count changing ------------------------------------------------------------

def start_billing(session: Session, event: PlanWentLive, settings: BillingSettings) -> None:
    """The employer's first plan to go live opens its billing account and owes Stripe a customer and a
    subscription; a replayed event, or the employer's next plan, finds the account open and adds nothing."""
    now = utcnow()
    opened = insert_unless_held(session, BillingAccount.__table__, id=new_id("bil"), employer_id=event.employer_id,
                                plan_id=event.plan_id, status="active", went_live_on=event.on, quantity=0,
                                base_fee_cents=settings.base_fee_cents,
                                participant_cents=settings.participant_cents, created_at=now, updated_at=now)
    if opened is None:
        return
    enqueue(session, TOPIC, recipient(event.employer_id), {"action": "subscribe", "on": event.on.isoformat()},
            employer_id=event.employer_id, subject_id=f"billing-start/{event.employer_id}", once_per_subject=True)
    _follow_count(session, event.plan_id)


def follow_election(session: Session, event: ElectionApproved) -> None:
    """An approved election may add a participant (or, an opt-out, take one away)."""
    _follow_count(session, event.plan_id)


def follow_pay_run(session: Session, event: PayRunPosted) -> None:
    """A posted pay run may give someone their first balance."""
    _follow_count(session, event.plan_id)


def _follow_count(session: Session, plan_id: str) -> None:
    """When the plan's billed count changed, record it and owe Stripe the new quantity. The row is locked first, so
    two changes at once queue their quantities in the order they were counted."""
    account = session.scalar(select(BillingAccount).where(BillingAccount.plan_id == plan_id).with_for_update())
    if account is None or account.status == "cancelled":
        return
    count = billable_participants(session, plan_id)
    if count == account.quantity:
        return
    account.quantity = count
    enqueue(session, TOPIC, recipient(account.employer_id), {"action": "quantity", "quantity": count},
            employer_id=account.employer_id, subject_id=account.id)


# ---- the deliverer ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Known:
    employer_name: str
    status: str
    went_live_on: date
    base_fee_cents: int
    participant_cents: int
    customer_id: str | None
    base_subscription_id: str | None
    participant_item_id: str | None


def _known(db, employer_id: str) -> _Known | None:
    with db.transaction() as session:
        account = _account(session, employer_id)
        if account is None:
            return None
        return _Known(session.get(Employer, employer_id).name, account.status, account.went_live_on,
                      account.base_fee_cents, account.participant_cents, account.stripe_customer_id,
                      account.base_subscription_id, account.participant_item_id)


def _record(db, employer_id: str, **ids) -> None:
    with db.transaction() as session:
        session.execute(update(BillingAccount).where(BillingAccount.employer_id == employer_id).values(**ids))


def first_billed_day(went_live_on: date, today: date) -> date:
    """Billing starts on the first of the month after the plan went live (the month it went live is free); a
    subscription made late starts on the first after the day it is made, as Stripe bills no day gone by."""
    day = max(went_live_on, today)
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _unix(day: date) -> int:
    return calendar.timegm(day.timetuple())


def deliver_to_stripe(message: Message, db, gateway: StripeGateway) -> Delivery:
    """Make in Stripe what the message owes, recording each id Stripe gives in a short transaction of its own, so a
    retry resumes where the last attempt stopped (and Stripe answers a repeated key with the first result)."""
    known = _known(db, message.employer_id)
    if known is None:
        return Delivery(False, "no billing account", permanent=True)
    if known.status == "cancelled":
        return Delivery(True, result={"skipped": "the subscription was cancelled"})
    trial_end = _unix(first_billed_day(known.went_live_on, utcnow().date()))
    try:
        if message.payload["action"] == "subscribe":
            gateway.ensure_plans(known.base_fee_cents, known.participant_cents)
            customer_id = known.customer_id
            if customer_id is None:
                customer_id = gateway.create_customer(message.employer_id, known.employer_name,
                                                      f"{message.id}/customer")
                _record(db, message.employer_id, stripe_customer_id=customer_id)
            if known.base_subscription_id is None:
                made = gateway.subscribe(customer_id, base_plan_id(known.base_fee_cents), 1, trial_end,
                                         message.employer_id, f"{message.id}/base")
                _record(db, message.employer_id, base_subscription_id=made.subscription_id)
            return Delivery(True, result={"customer": customer_id})
        quantity = int(message.payload["quantity"])
        if known.participant_item_id is not None:
            gateway.set_quantity(known.participant_item_id, quantity, message.id)
        elif quantity > 0:
            if known.customer_id is None:
                return Delivery(False, "the customer is not made yet")
            made = gateway.subscribe(known.customer_id, participant_plan_id(known.participant_cents), quantity,
                                     trial_end, message.employer_id, f"{message.id}/participants")
            _record(db, message.employer_id, participant_subscription_id=made.subscription_id,
                    participant_item_id=made.item_id)
        return Delivery(True, result={"quantity": quantity})
    except (stripe.RateLimitError, stripe.APIConnectionError) as error:
        return Delivery(False, f"{type(error).__name__}: {error.user_message or error}")
    except (stripe.InvalidRequestError, stripe.AuthenticationError, stripe.PermissionError) as error:
        # Stripe refused the request itself: the same request would be refused again.
        return Delivery(False, f"{type(error).__name__}: {error.user_message or error}", permanent=True)


# ---- Stripe's webhooks ----------------------------------------------------------------------------------------------

def _day(unix: int | None) -> date | None:
    return None if unix is None else datetime.fromtimestamp(int(unix), timezone.utc).date()


def receive_stripe_event(session: Session, event: Mapping, today: date, grace_days: int) -> tuple[bool, str]:
    """Act on a verified Stripe event once: its id is stored first (a copy arriving at the same time waits for the
    first to commit and then finds it). Whether it was new, and what was done."""
    if insert_unless_held(session, StripeEvent.__table__, event_id=event["id"], type=event["type"],
                          outcome="received", received_at=utcnow()) is None:
        return False, "duplicate"
    handler = _HANDLERS.get(event["type"])
    obj = event.get("data", {}).get("object", {}) or {}
    account = _account_of(session, obj)
    if handler is None:
        outcome = "ignored"
    elif account is None:
        outcome = "unknown_customer"
    else:
        before = account.status
        outcome = handler(session, account, obj, today, grace_days)
        if account.status != before:
            publish(session, BillingStatusChanged(account.employer_id, account.plan_id, account.status))
    session.execute(update(StripeEvent).where(StripeEvent.event_id == event["id"]).values(outcome=outcome))
    return True, outcome


def _account_of(session: Session, obj: Mapping) -> BillingAccount | None:
    customer = obj.get("customer")
    if not isinstance(customer, str):
        return None
    return session.scalar(select(BillingAccount).where(BillingAccount.stripe_customer_id == customer)
                          .with_for_update())


def _keep_invoice(session: Session, account: BillingAccount, obj: Mapping, status: str) -> BillingInvoice:
    invoice = session.scalar(select(BillingInvoice).where(BillingInvoice.stripe_invoice_id == obj["id"]))
    if invoice is None:
        invoice = BillingInvoice(stripe_invoice_id=obj["id"], employer_id=account.employer_id)
        session.add(invoice)
    invoice.amount_due_cents = int(obj.get("amount_due") or 0)
    invoice.amount_paid_cents = int(obj.get("amount_paid") or 0)
    invoice.status = status
    invoice.created_on = _day(obj.get("created")) or utcnow().date()
    invoice.period_start, invoice.period_end = _day(obj.get("period_start")), _day(obj.get("period_end"))
    return invoice


def _invoice_paid(session: Session, account: BillingAccount, obj: Mapping, today: date, grace_days: int) -> str:
    """A payment made good ends any grace period, and lifts past due."""
    _keep_invoice(session, account, obj, "paid")
    account.payment_failed_on = account.past_due_on = None
    if account.status == "past_due":
        account.status = "active"
    return "paid"


def _invoice_payment_failed(session: Session, account: BillingAccount, obj: Mapping, today: date,
                            grace_days: int) -> str:
    """The first failure starts the grace period (later ones do not extend it); the sponsor admins are told once
    per invoice."""
    invoice = _keep_invoice(session, account, obj, "payment_failed")
    if account.payment_failed_on is None:
        account.payment_failed_on, account.past_due_on = today, today + timedelta(days=grace_days)
    if not already_told(session, PAYMENT_FAILED, [invoice.stripe_invoice_id]):
        params = {"employer_id": account.employer_id, "invoice_id": invoice.stripe_invoice_id,
                  "amount_cents": invoice.amount_due_cents, "past_due_on": account.past_due_on.isoformat()}
        notify_many(session, [Notice(user_id, PAYMENT_FAILED, params, invoice.stripe_invoice_id)
                              for user_id in staff_of_employer(session, account.employer_id)])
    return "payment_failed"


def _subscription_deleted(session: Session, account: BillingAccount, obj: Mapping, today: date,
                          grace_days: int) -> str:
    if obj.get("id") not in (account.base_subscription_id, account.participant_subscription_id):
        return "ignored"
    account.status = "cancelled"
    return "cancelled"


_HANDLERS = {"invoice.paid": _invoice_paid, "invoice.payment_failed": _invoice_payment_failed,
             "customer.subscription.deleted": _subscription_deleted}


# ---- the daily pass and the sponsor's view ----------------------------------------------------------------------------

def flag_past_due(session: Session, today: date) -> int:
    """Billing whose grace period has ended without a payment turns past due (the plan and its participants go on
    as before). How many were flagged."""
    flagged = session.execute(update(BillingAccount)
                              .where(BillingAccount.status == "active", BillingAccount.past_due_on <= today)
                              .values(status="past_due", updated_at=utcnow())
                              .returning(BillingAccount.employer_id, BillingAccount.plan_id)).all()
    for employer_id, plan_id in flagged:
        publish(session, BillingStatusChanged(employer_id, plan_id, "past_due"))
    return len(flagged)


def billing_status(session: Session, employer_id: str) -> str:
    """The employer's billing status alone: off (no account), active, past_due or cancelled."""
    return session.scalar(select(BillingAccount.status).where(BillingAccount.employer_id == employer_id)) or "off"


def billing_view(session: Session, employer_id: str) -> dict:
    """The employer's billing status (off until a plan goes live with billing configured), count and invoices."""
    account = _account(session, employer_id)
    if account is None:
        return {"status": "off", "quantity": 0, "base_fee_cents": None, "participant_cents": None,
                "went_live_on": None, "payment_failed_on": None, "past_due_on": None, "invoices": []}
    invoices = session.scalars(select(BillingInvoice).where(BillingInvoice.employer_id == employer_id)
                               .order_by(BillingInvoice.created_on.desc(), BillingInvoice.id)).all()
    return {"status": account.status, "quantity": account.quantity, "base_fee_cents": account.base_fee_cents,
            "participant_cents": account.participant_cents, "went_live_on": account.went_live_on,
            "payment_failed_on": account.payment_failed_on, "past_due_on": account.past_due_on,
            "invoices": [{"id": i.stripe_invoice_id, "amount_due_cents": i.amount_due_cents,
                          "amount_paid_cents": i.amount_paid_cents, "status": i.status, "created_on": i.created_on,
                          "period_start": i.period_start, "period_end": i.period_end} for i in invoices]}
