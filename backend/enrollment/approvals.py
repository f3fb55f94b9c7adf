"""The sponsor's approval of elections (with ETags against races), and where an approved change stands on its
way to payroll."""
import hashlib
from datetime import date

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from backend.audit import Actor, record_audit
from backend.db import utcnow
from backend.enrollment.models import DeferralElection
from backend.enrollment.payroll_messages import send_deferral_change
from backend.errors import Conflict, NotFound, PreconditionFailed, ValidationFailed
from backend.events import ElectionApproved, ElectionRejected, publish
from backend.identity import policy
from backend.identity.service import Principal
from backend.outbox import OutboxMessage
from backend.plans import service as plans
from backend.plans.models import Employee, Employer
from backend.plans.schedules import next_pay_date


def election_etag(election: DeferralElection, status: str | None = None) -> str:
    """The election's ETag; with `status`, the one it had in that status."""
    status = status or election.status
    return hashlib.sha256(f"{election.id}:{election.version}:{status}".encode()).hexdigest()[:20]


def approve_election(session: Session, actor: Actor, election: DeferralElection, employer: Employer,
                     today: date) -> None:
    """Approve an election: it goes to payroll (outbox) and moves the plan's compliance state (ElectionApproved)."""
    election.status = "approved"
    election.decided_at = utcnow()
    election.decided_by = actor.user_id
    # An approval that comes after the requested pay date applies from the next one.
    next_pay = next_pay_date(employer.pay_frequency, employer.anchor_pay_date, today)
    if election.effective_date < next_pay:
        election.effective_date = next_pay
    employee = session.get(Employee, election.employee_id)
    record_audit(session, actor, "election.approved", "election", election.id, employer_id=employer.id,
                 changes={"version": election.version, "effective_date": election.effective_date.isoformat()})
    # The message to payroll commits with the approval (outbox); the dispatcher delivers it.
    send_deferral_change(session, employee, action="set" if election.lines else "stop",
                         effective=election.effective_date, subject_id=election.id, lines=election.lines,
                         election=election)
    publish(session, ElectionApproved(election.plan_id, election.id, election.employee_id, today))


def payroll_stages(session: Session, elections: list[DeferralElection]) -> dict[str, dict]:
    """Where each change stands on its way to payroll: requested → approved → sent → confirmed → observed, or
    failed with the reason. Read from the elections and their outbox messages (one query for all of them), so it
    is never out of step."""
    waiting = [e.id for e in elections if e.status == "approved" and not e.observed_at]
    latest: dict[str, OutboxMessage] = {}
    if waiting:
        for message in session.scalars(select(OutboxMessage).where(OutboxMessage.subject_id.in_(waiting))
                                       .order_by(OutboxMessage.seq)):
            latest[message.subject_id] = message
    return {e.id: _stage(e, latest.get(e.id)) for e in elections}


def _stage(election: DeferralElection, message: OutboxMessage | None) -> dict:
    if election.status != "approved":
        stage = {"pending_approval": "requested"}.get(election.status, election.status)
        return {"stage": stage, "detail": election.rejection_reason}
    if election.observed_at:
        return {"stage": "observed", "detail": f"withheld as elected on the {election.observed_at} pay statement"}
    if message is None:
        return {"stage": "approved", "detail": None}
    if message.status == "delivered":
        return {"stage": "confirmed", "detail": "payroll acknowledged the change"}
    if message.status == "dead":
        return {"stage": "failed", "detail": message.last_error}
    if message.status == "awaiting_pull" or message.attempts:
        return {"stage": "sent", "detail": message.last_error}
    return {"stage": "approved", "detail": None}


def election_for(session: Session, principal: Principal, election_id: str) -> DeferralElection:
    election = session.get(DeferralElection, election_id)
    if election is None:
        raise NotFound("No such election.")
    plans.employee_for(session, principal, election.employee_id, missing="No such election.")
    return election


def decide(session: Session, actor: Actor, principal: Principal, election_id: str, etag: str | None,
           approve: bool, today: date, reason: str | None = None) -> DeferralElection:
    """Approve or reject one pending election. `etag` must be the one the sponsor read: if the participant has
    since made a newer election, this one is superseded and the decision is refused. Of several decisions sent at
    once exactly one wins (one payroll message, one audit event); the others are refused."""
    policy.APPROVE_ELECTIONS.check(principal)
    if not approve and (not reason or not reason.strip()):
        raise ValidationFailed([("reason", "is required to reject an election")])
    claimed = _claim(session, election_id, "approved" if approve else "rejected", actor)
    # Any refusal below rolls the claim back with the rest of the request (or the bulk decision's savepoint).
    election = election_for(session, principal, election_id)
    session.refresh(election)
    before = election_etag(election, "pending_approval" if claimed else None)
    if etag is not None and etag != before:
        raise PreconditionFailed("This election changed since you read it (the participant may have made a newer "
                                 "one); reload the queue.", [("If-Match", f"current ETag is {before}")])
    if not claimed:
        raise Conflict(f"This election is {election.status.replace('_', ' ')}, not waiting for approval.")
    employer = session.get(Employer, session.get(Employee, election.employee_id).employer_id)
    if approve:
        approve_election(session, actor, election, employer, today)
    else:
        election.rejection_reason = reason.strip()
        record_audit(session, actor, "election.rejected", "election", election.id, employer_id=employer.id,
                     changes={"version": election.version, "reason": election.rejection_reason})
        publish(session, ElectionRejected(election.plan_id, election.id, election.employee_id, today,
                                          election.rejection_reason))
    return election


def _claim(session: Session, election_id: str, status: str, actor: Actor) -> bool:
    """Move the election out of pending_approval if it is still there as the database sees it now: True for the
    one request that did. A read-then-write would let parallel decisions all pass the status check, so this
    conditional UPDATE is the first statement of the decision: PostgreSQL makes the others wait on the row and
    then find it decided, and SQLite serializes them at their first write (a read first would pin a snapshot
    that a later write could not use)."""
    return session.execute(
        update(DeferralElection)
        .where(DeferralElection.id == election_id, DeferralElection.status == "pending_approval")
        .values(status=status, decided_at=utcnow(), decided_by=actor.user_id)
        .execution_options(synchronize_session=False)).rowcount == 1


def approval_queue_query(plan_id: str):
    return select(DeferralElection).where(DeferralElection.plan_id == plan_id,
                                          DeferralElection.status == "pending_approval")


def pending_approvals_count(session: Session, plan_id: str) -> int:
    """How many elections of the plan wait for the sponsor's decision."""
    return session.scalar(select(func.count()).select_from(approval_queue_query(plan_id).subquery()))
