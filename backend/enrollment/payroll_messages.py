"""The one builder of deferral-change messages to payroll (outbox topic `payroll.deferral_change`), whoever
causes the change: an approved election, a stop for termination or the 402(g) limit, a resume in January.

The body is documented in the README ("Payroll sync"); every push adapter sends it as built here."""
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.money import percent_str
from backend.outbox import OutboxMessage, enqueue

TOPIC = "payroll.deferral_change"


def payroll_recipient(employer_id: str, employee_id: str) -> str:
    """The ordering key of messages to payroll: one employee at one employer's payroll."""
    return f"payroll:{employer_id}:{employee_id}"


def line_dict(line) -> dict:
    """An election line (anything with money_type, percent, amount_cents) as payroll messages carry it."""
    return {"money_type": line.money_type, "percent": None if line.percent is None else percent_str(line.percent),
            "amount_cents": line.amount_cents}


def send_deferral_change(session: Session, employee, *, action: str, effective: date, subject_id: str,
                         lines=(), election=None, reason: str | None = None, once: bool = False,
                         **extra) -> OutboxMessage | None:
    """Queue a deferral change for the employee's payroll, in the caller's transaction, behind their earlier
    changes. `action` is "set" (withhold what `lines` say) or "stop"; `election` names the election it carries;
    `reason` says why the platform itself sent it (termination, 402g_limit, 402g_resume). With `once`, a change
    about the same subject already queued wins and None is returned (the database holds this under races)."""
    payload = {"action": action, "employee_id": employee.id, "external_id": employee.external_id,
               "effective_date": effective.isoformat(), "lines": [line_dict(line) for line in lines]}
    if election is not None:
        payload.update(election_id=election.id, version=election.version, kind=election.kind)
    if reason is not None:
        payload["reason"] = reason
    payload.update(extra)
    return enqueue(session, TOPIC, payroll_recipient(employee.employer_id, employee.id),
                   employer_id=employee.employer_id, subject_id=subject_id, payload=payload, once_per_subject=once)


# ---- reading what was sent (the participant notices tell what payroll acknowledged) ----------------------------------

LIMIT_STOP_PREFIX, LIMIT_RESUME_PREFIX = "402g_limit:", "402g_resume:"


def change_payload(session: Session, message_id: str) -> dict | None:
    """The body of one deferral change sent to payroll, as built by `send_deferral_change`."""
    message = session.scalar(select(OutboxMessage).where(OutboxMessage.id == message_id, OutboxMessage.topic == TOPIC))
    return None if message is None else dict(message.payload)


def delivered_limit_resumes(session: Session, year: int) -> list[tuple[str, str, date]]:
    """(subject, employee id, effective date) of the resumes after a 402(g) stop that payroll acknowledged and that
    take effect in `year` (the subjects are `402g_resume:<employee>:<year>`): one query."""
    found = []
    for subject, payload in session.execute(select(OutboxMessage.subject_id, OutboxMessage.payload).where(
            OutboxMessage.topic == TOPIC, OutboxMessage.status == "delivered",
            OutboxMessage.subject_id.like(f"{LIMIT_RESUME_PREFIX}%:{year}"))):
        found.append((subject, subject.split(":")[1], date.fromisoformat(payload["effective_date"])))
    return found
