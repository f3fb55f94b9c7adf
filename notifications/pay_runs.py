"""What a pay run's participants are told (their contributions posted; the 402(g) limit; the monthly nudges), and
when.

A pay run of up to `INLINE_LIMIT` posted statements — a small employer's, which is most of them — tells its
participants in its own transaction, like every other cause. A larger one queues jobs in its transaction instead
(backend/jobs.py: durable, retried until done; one per thousand statements, then one for the 402(g) notices and
nudges), and each job writes its feed entries and queues their pushes and emails together in its own transaction
moments later. So a 10,000-employee pay run does not carry
20,000 more rows and 10,000 rendered texts in the transaction that posts its money, and nothing is lost either
way: the job commits with the pay run or not at all, and a notice already given is never given twice
(`service.already_told`, and each nudge's monthly key), so a job run again after a crash tells only who was not
told."""
import math
from datetime import date, timedelta

from sqlalchemy.orm import Session

from backend.db import utcnow
from backend.events import PayRunPosted
from backend.jobs import Job, request_job
from backend.payroll.pay_history import posted_statement_count
from backend.plans.pii import PiiVault
from notifications import participants, service

JOB = "notifications.pay_run"  # the contributions posted, a part of the run each: first, so those pushes go out early
NUDGES_JOB = "notifications.pay_run_nudges"  # the 402(g) notices and the monthly nudges
INLINE_LIMIT = 500
PART_SIZE = 1000
NUDGES_WAIT = timedelta(minutes=1)


def after_pay_run(session: Session, event: PayRunPosted, vault: PiiVault) -> None:
    """Tell the pay run's participants now, or, for a large run, queue the jobs that will (see the module)."""
    count = posted_statement_count(session, event.pay_run_id)
    if count <= INLINE_LIMIT:
        service.tell_contributions_posted(session, event)
        participants.after_pay_run(session, event, vault)
        return
    payload = {"plan_id": event.plan_id, "pay_run_id": event.pay_run_id, "on": event.on.isoformat()}
    # In parts, each its own job and transaction: the first part's pushes go out while the next ones are written.
    for index in range(math.ceil(count / PART_SIZE)):
        request_job(session, JOB, {**payload, "part": [index, PART_SIZE]}, subject=f"{event.pay_run_id}/{index}")
    # The limits and nudges can wait a minute, so the worker sends the paycheck's pushes first.
    request_job(session, NUDGES_JOB, payload, subject=event.pay_run_id, run_after=utcnow() + NUDGES_WAIT)


def _event(job: Job) -> PayRunPosted:
    payload = job.payload
    return PayRunPosted(payload["plan_id"], payload["pay_run_id"], date.fromisoformat(payload["on"]))


def run_job(session: Session, job: Job) -> None:
    """One part of a large pay run's contributions told, in the job's transaction."""
    service.tell_contributions_posted(session, _event(job), tuple(job.payload["part"]))


def run_nudges_job(session: Session, job: Job, vault: PiiVault) -> None:
    """A large pay run's 402(g) notices and nudges, in the job's transaction."""
    participants.after_pay_run(session, _event(job), vault)
