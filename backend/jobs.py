"""Jobs: the platform's own work done moments later (a plan's compliance recompute, the fan-out of pushes), kept
apart from the outbox, so a slow job never delays a message to a receiver and "delivered" always means that a
receiver acknowledged it.

A job is requested in the caller's transaction. The job runner leases it in a short transaction, then runs it in a
transaction of its own that also records its completion: its effect and "done" commit together, or neither does.
A failing job is rolled back and retried with backoff, then marked dead, where it stays visible until someone
retries it. A job killed with its worker returns to the queue when its lease runs out.

A job about a subject (the plan year whose compliance to recompute) has at most one live row, queued or running,
held by a unique index: a request while it is queued merges into it, and one while it runs is kept on it and queues
it again when the run ends. So the newest request is always run, never twice at once, and never lost.

Who runs which kind is the wiring's table (`backend/wiring.py`); a handler is a callable `(session, Job) -> None`.
"""
import logging
import random
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text, case, func, literal, null, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from backend.db import Base, UTCDateTime, insert_unless_held, new_id, utcnow
from backend.errors import Conflict

log = logging.getLogger(__name__)

LIVE = ("queued", "running")


class JobRow(Base):
    """One piece of the platform's own work: queued → running → done, back to queued to retry, or dead."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_due", "status", "run_after"),
                      Index("ix_jobs_live_subject", "kind", "subject", unique=True,
                            postgresql_where=text("status IN ('queued', 'running')"),
                            sqlite_where=text("status IN ('queued', 'running')")))

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(32), unique=True, default=lambda: new_id("job"))
    kind: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str | None] = mapped_column(String(128))
    payload: Mapped[dict] = mapped_column(JSON)
    # A request that came while the job ran: the run may have read the data before it changed, so it runs again.
    next_payload: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # runs started, this one included
    # When it may be claimed: its first or next try, or, while it runs, when the runner's lease runs out.
    run_after: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claim: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


@dataclass(frozen=True)
class Job:
    """A job as its handler sees it: a read-only snapshot taken when the runner claimed it."""

    id: str
    kind: str
    subject: str | None
    payload: Mapping
    attempts: int  # runs started, this one included


JobHandler = Callable[[Session, Job], None]
Merge = Callable[[dict, dict], dict]


def newest_request(queued: dict, asked: dict) -> dict:
    """The default merge: the later request stands."""
    return asked


def request_job(session: Session, kind: str, payload: dict, *, subject: str | None = None,
                merge: Merge = newest_request, run_after: datetime | None = None) -> None:
    """Ask for a job, in the caller's transaction. With a `subject`, a live job of the same kind and subject takes
    the request instead (`merge(its payload, payload)` becomes its payload, or the payload of its next run when it
    is running), so requests coalesce; two transactions racing to ask both end up in the same row. `run_after`
    holds a new job until then (work that can wait for more urgent work)."""
    later = {"run_after": run_after} if run_after is not None else {}
    if subject is None:
        session.add(JobRow(kind=kind, payload=payload, **later))
        return
    for _ in range(5):
        live = session.scalar(select(JobRow).where(JobRow.kind == kind, JobRow.subject == subject,
                                                   JobRow.status.in_(LIVE)).with_for_update())
        if live is not None:
            if live.status == "queued":
                live.payload = merge(live.payload, payload)
            else:  # what the next run reads: the newest of both, as if asked after this run
                live.next_payload = merge(live.next_payload or live.payload, payload)
            return
        # Nothing live a moment ago: insert, unless a racing transaction just did (it is then found above).
        if insert_unless_held(session, JobRow.__table__, kind=kind, subject=subject, payload=payload,
                              **later) is not None:
            return
    raise RuntimeError(f"could not request {kind} for {subject}: the live job kept changing")


def retry_job(session: Session, job_id: str) -> JobRow:
    """Run a dead job again from scratch (someone fixed what made it fail). A newer request for its subject,
    already live, makes this one moot."""
    row = session.scalar(select(JobRow).where(JobRow.id == job_id))
    if row is None or row.status != "dead":
        raise Conflict(f"Only dead jobs are retried; this one is {row.status if row else 'unknown'}.")
    if row.subject is not None and session.scalar(select(JobRow.id).where(
            JobRow.kind == row.kind, JobRow.subject == row.subject, JobRow.status.in_(LIVE))):
        raise Conflict("A newer request for the same subject is already queued.")
    row.status, row.attempts, row.run_after, row.last_error, row.claim = "queued", 0, utcnow(), None, None
    return row


def dead_jobs(session: Session) -> list[JobRow]:
    """Jobs given up on, oldest first: they stay until retried."""
    return list(session.scalars(select(JobRow).where(JobRow.status == "dead").order_by(JobRow.seq)))


class LeaseLost(RuntimeError):
    """The job's lease ran out and another runner took it over: this run's effect must not commit."""


@dataclass(frozen=True)
class _Leased:
    job: Job
    claim: str


class JobRunner:
    """Runs queued jobs one at a time, each in its own transaction with its completion. Several runners (one per
    `plumb worker`) share the queue on PostgreSQL; a live subject's single row keeps one subject from running twice
    at once."""

    def __init__(self, db, handlers: Mapping[str, JobHandler], *, max_attempts: int = 5, base_delay: float = 5.0,
                 max_delay: float = 3600.0, lease_seconds: float = 300.0, now: Callable[[], datetime] = utcnow):
        self.db, self.handlers = db, handlers
        self.max_attempts, self.base_delay, self.max_delay = max_attempts, base_delay, max_delay
        self.lease, self.now = timedelta(seconds=lease_seconds), now

    def claim(self) -> _Leased | None:
        """Lease the oldest due job (or one whose runner's lease ran out), in one short transaction."""
        table = JobRow.__table__
        candidate = table.alias("candidate")
        now = self.now()
        oldest = (select(candidate.c.seq).where(candidate.c.status.in_(LIVE), candidate.c.run_after <= now)
                  .order_by(candidate.c.seq).limit(1))
        postgres = self.db.dialect == "postgresql"
        if postgres:
            oldest = oldest.with_for_update(skip_locked=True)
        token = secrets.token_hex(8)
        oldest = oldest.subquery("oldest")
        with self.db.transaction() as session:
            row = session.execute(table.update().where(table.c.seq == oldest.c.seq)
                                  .values(status="running", run_after=now + self.lease, claim=token,
                                          attempts=table.c.attempts + 1)
                                  .returning(table.c.id, table.c.kind, table.c.subject, table.c.payload,
                                             table.c.attempts)).first()
        if row is None:
            return None
        return _Leased(Job(row.id, row.kind, row.subject, MappingProxyType(row.payload), row.attempts), token)

    def run_once(self) -> int:
        """Claim one job and run it; 1 if there was one, else 0."""
        leased = self.claim()
        if leased is None:
            return 0
        self.run(leased)
        return 1

    def run(self, leased: _Leased) -> None:
        """Run a claimed job: its effect and its completion commit together, or neither (a failure is retried
        later; a run whose lease another runner took over is rolled back)."""
        job = leased.job
        try:
            if job.attempts > self.max_attempts:  # its runs keep dying with their workers
                raise RuntimeError(f"{job.attempts - 1} runs ended without an outcome")
            handler = self.handlers.get(job.kind)
            if handler is None:
                raise LookupError(f"no handler for jobs of kind {job.kind}")
            with self.db.transaction() as session:
                handler(session, job)
                self._complete(session, leased)
        except LeaseLost:
            log.warning("job %s was taken over by another runner; its run was rolled back", job.id)
        except Exception as error:
            log.warning("job %s (%s) failed", job.id, job.kind, exc_info=True)
            self._fail(leased, f"{type(error).__name__}: {error}"[:2000])

    def _complete(self, session: Session, leased: _Leased) -> None:
        """Done, in the job's own transaction, unless a request came while it ran: then it is queued again with
        that request's payload (read under the row's lock, so a request committed meanwhile is not missed)."""
        table = JobRow.__table__
        again = table.c.next_payload.is_not(None)
        now = literal(self.now(), UTCDateTime())
        moved = session.execute(
            table.update().where(table.c.id == leased.job.id, table.c.claim == leased.claim,
                                 table.c.status == "running")
            .values(status=case((again, "queued"), else_="done"),
                    payload=func.coalesce(table.c.next_payload, table.c.payload), next_payload=None,
                    attempts=case((again, 0), else_=table.c.attempts), run_after=now,
                    finished_at=case((again, null()), else_=now), claim=None, last_error=None)).rowcount
        if moved != 1:
            raise LeaseLost(leased.job.id)

    def _fail(self, leased: _Leased, error: str) -> None:
        """Retry later with backoff, or give up; a request that came while it ran is kept (on its retry, or as a
        new job when this one is given up on)."""
        try:
            with self.db.transaction() as session:
                row = session.scalar(select(JobRow).where(JobRow.id == leased.job.id, JobRow.claim == leased.claim,
                                                          JobRow.status == "running").with_for_update())
                if row is None:
                    return
                row.claim, row.last_error = None, error
                if row.attempts >= self.max_attempts:
                    row.status, row.finished_at = "dead", self.now()
                    if row.next_payload is not None:
                        pending, row.next_payload = row.next_payload, None
                        session.flush()  # dead first, so the new live row does not collide with it
                        session.add(JobRow(kind=row.kind, subject=row.subject, payload=pending))
                    return
                delay = min(self.max_delay, self.base_delay * 2 ** (row.attempts - 1)) * random.uniform(0.8, 1.2)
                row.status, row.run_after = "queued", self.now() + timedelta(seconds=delay)
                if row.next_payload is not None:
                    row.payload, row.next_payload = row.next_payload, None
        except Exception:  # the database is away: the lease runs out and the job is claimed again
            log.exception("recording the failure of job %s failed", leased.job.id)

    def run_forever(self, stop: threading.Event, idle_seconds: float = 0.5) -> None:
        """Run jobs until `stop` is set; sleep briefly when there is none."""
        while not stop.is_set():
            try:
                busy = self.run_once()
            except Exception:
                log.exception("job runner pass failed; trying again")
                busy = 0
            if not busy:
                stop.wait(idle_seconds)
