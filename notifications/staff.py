"""What sponsors and advisors are told: elections waiting for approval (batched, at most once an hour per plan),
pay-run exceptions, compliance early warnings, payroll messages given up on, and the advisor's daily digest of
early warnings across the plans they serve.

Each cause is told once: a replayed event finds its notification by subject (`already_told`). The approval batch
is an outbox message held until the end of the hour the first pending election of that hour arrived in, enqueued
once per plan and hour (`once_per_subject`), so however many elections arrive, one batch is owed; at the end of the
hour it counts what still waits then (nothing waiting: nothing told)."""
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

from sqlalchemy.orm import Session

from backend.compliance.early_warning import warning_by_id, warnings_raised
from backend.db import utcnow
from backend.enrollment.payroll_messages import TOPIC as PAYROLL_TOPIC
from backend.enrollment.views import pending_approval_count
from backend.events import ComplianceWarningRaised, ElectionAwaitingApproval, MessageDead, PayRunPosted
from backend.identity.service import staff_of_employer
from backend.money import HUNDRED, dollars_to_cents
from backend.outbox import Delivery, Message, enqueue
from backend.payroll.pay_history import held_statements
from backend.plans.directory import plan_labels, plans_by_advisor
from notifications.service import Notice, already_told, notify_many

APPROVALS_TOPIC = "notification.approvals_batch"


# ---- elections waiting for approval, batched by the hour ------------------------------------------------------------

def hour_of(instant: datetime) -> datetime:
    """The start of the UTC hour `instant` falls in."""
    return instant.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)


def approvals_subject(plan_id: str, hour: datetime) -> str:
    return f"apv/{plan_id}/{hour:%Y-%m-%dT%H}"


def schedule_approvals_batch(session: Session, event: ElectionAwaitingApproval) -> None:
    """The first election of the hour to wait for approval owes the plan's sponsor admins one batch, delivered at
    the end of that hour; later ones of the same hour find it owed already."""
    hour = hour_of(utcnow())
    subject = approvals_subject(event.plan_id, hour)
    enqueue(session, APPROVALS_TOPIC, f"approvals/{event.plan_id}",
            {"plan_id": event.plan_id, "employer_id": event.employer_id, "hour": hour.isoformat()},
            employer_id=event.employer_id, subject_id=subject, once_per_subject=True,
            not_before=hour + timedelta(hours=1))


def tell_approvals_waiting(session: Session, plan_id: str, employer_id: str, subject: str) -> int:
    """Tell the sponsor admins how many of the plan's elections wait now (none: nothing). How many were told."""
    count = pending_approval_count(session, plan_id)
    if not count or already_told(session, "approvals_waiting", [subject]):
        return 0
    entries = notify_many(session, [Notice(user_id, "approvals_waiting", {"plan_id": plan_id, "count": count},
                                           subject) for user_id in staff_of_employer(session, employer_id)])
    return len(entries)


def deliver_approvals_batch(message: Message, db) -> Delivery:
    """The outbox's deliverer for the hour's batch: tells in a transaction of its own (told twice never: a retry
    after a lost acknowledgement finds the notifications by subject)."""
    with db.transaction() as session:
        told = tell_approvals_waiting(session, message.payload["plan_id"], message.payload["employer_id"],
                                      message.subject_id)
    return Delivery(True, result={"told": told})


# ---- pay-run exceptions, early warnings, dead letters ---------------------------------------------------------------

def tell_pay_run_exceptions(session: Session, event: PayRunPosted) -> None:
    """A pay run that holds statements for review is told to the employer's sponsor admins once (a resolution
    publishes PayRunPosted again for the same run: not told again)."""
    held = held_statements(session, event.pay_run_id)
    if held is None or not held.held or already_told(session, "pay_run_exceptions", [held.pay_run_id]):
        return
    params = {"pay_run_id": held.pay_run_id, "employer_id": held.employer_id, "pay_date": held.pay_date.isoformat(),
              "held": held.held}
    notify_many(session, [Notice(user_id, "pay_run_exceptions", params, held.pay_run_id)
                          for user_id in staff_of_employer(session, held.employer_id)])


def _rate(percent_text: str | None) -> str | None:
    """A percent as the projection writes it ('5.00') as the fraction templates take ('0.05')."""
    return None if percent_text is None else str(Decimal(percent_text) / HUNDRED)


def _total_cents(by_person: dict | None) -> int:
    return sum(dollars_to_cents(dollars) for dollars in (by_person or {}).values())


def warning_fixes(status: str, tests: list[str], fix: dict) -> list[dict]:
    """The stored fix of each test concerned, as template parameters (cents as integers, rates as fractions)."""
    fixes = []
    for test in tests:
        figures = fix.get(test) or {}
        if status == "narrow_margin":
            fixes.append({"test": test, "narrow": True, "margin": figures.get("margin"),
                          "limit": _rate(figures.get("limit"))})
            continue
        qnec = figures.get("qnec") or {}
        fixes.append({"test": test, "qnec_rate": _rate(qnec.get("percent")),
                      "qnec_cost_cents": dollars_to_cents(qnec["cost"]) if qnec.get("cost") else 0,
                      "refund_cents": _total_cents(figures.get("refunds")),
                      "catch_up_cents": _total_cents(figures.get("recharacterized_catch_up"))})
    return fixes


def tell_compliance_warning(session: Session, event: ComplianceWarningRaised) -> None:
    """The plan's sponsor admins hear of each early warning once, with the fix in the feed."""
    warning = warning_by_id(session, event.warning_id)
    label = plan_labels(session, [event.plan_id]).get(event.plan_id)
    if warning is None or label is None or already_told(session, "compliance_warning", [warning.id]):
        return
    tests = warning.failing_tests if warning.status == "at_risk" else (warning.narrow_margin_tests or [])
    params = {"warning_id": warning.id, "plan_id": warning.plan_id, "plan_name": label.plan_name,
              "year": warning.year, "status": warning.status, "tests": list(tests),
              "fixes": warning_fixes(warning.status, list(tests), warning.fix or {})}
    notify_many(session, [Notice(user_id, "compliance_warning", params, warning.id)
                          for user_id in staff_of_employer(session, label.employer_id)])


def tell_payroll_message_dead(session: Session, event: MessageDead) -> None:
    """A deferral change payroll never took is told to the employer's sponsor admins once per message."""
    if event.topic != PAYROLL_TOPIC or event.employer_id is None:
        return
    if already_told(session, "payroll_message_dead", [event.message_id]):
        return
    params = {"message_id": event.message_id, "employer_id": event.employer_id,
              "reason": (event.reason or "refused")[:300]}
    notify_many(session, [Notice(user_id, "payroll_message_dead", params, event.message_id)
                          for user_id in staff_of_employer(session, event.employer_id)])


# ---- the advisor's daily digest -------------------------------------------------------------------------------------

def digest_subject(advisor_id: str, day: date) -> str:
    return f"dgst/{advisor_id}/{day.isoformat()}"


def send_advisor_digests(session: Session, today: date) -> int:
    """Each advisor hears, once on `today`, of the early warnings raised yesterday (UTC) across every plan they
    serve; an advisor with none hears nothing. Run by the daily pass, however often it runs. How many were sent."""
    day = today - timedelta(days=1)
    start = datetime.combine(day, time(0), tzinfo=timezone.utc)
    served = plans_by_advisor(session)
    labels = plan_labels(session, [plan_id for plan_ids in served.values() for plan_id in plan_ids])
    told = already_told(session, "advisor_digest", [digest_subject(a, today) for a in served])
    raised: dict[str, list] = {}
    for warning in warnings_raised(session, labels, start, start + timedelta(days=1)):
        raised.setdefault(warning.plan_id, []).append(warning)
    notices = []
    for advisor_id, plan_ids in served.items():
        subject = digest_subject(advisor_id, today)
        warnings = [w for plan_id in plan_ids for w in raised.get(plan_id, [])]
        if subject in told or not warnings:
            continue
        notices.append(Notice(advisor_id, "advisor_digest", {"day": day.isoformat(), "warnings": [
            {"plan_name": labels[w.plan_id].plan_name, "employer_name": labels[w.plan_id].employer_name,
             "status": w.status, "year": w.year,
             "tests": list(w.failing_tests if w.status == "at_risk" else (w.narrow_margin_tests or []))}
            for w in warnings]}, subject))
    return len(notify_many(session, notices))
