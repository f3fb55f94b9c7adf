"""The transactional outbox: messages owed to someone outside (payroll, a phone, Stripe), written in the caller's
transaction with the change that causes them, and delivered by the dispatcher until a receiver acknowledges them.

No delivery runs inside a transaction. The dispatcher leases a batch of messages in one short transaction (the
lease expires, so a killed worker's messages go back in line), hands them to their deliverers outside any
transaction, several at once, and records each outcome in another short transaction. A deliverer's failure, a
database error included, costs its own message an attempt and touches no other message.

Who delivers which topic is the wiring's table (`backend/wiring.py`). A deliverer is a callable
`(Message) -> Delivery`: it gets a read-only snapshot of the message, and whatever else it needs (the database for
its own short transactions, the PII vault) is bound to it by the wiring.
"""
import logging
import queue
import random
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from backend.db import Base, UTCDateTime, new_id, utcnow
from backend.errors import Conflict
from backend.events import MessageDead, MessageDelivered, publish

log = logging.getLogger(__name__)

# A message waiting its turn: it holds back the later messages to its recipient (a dead one until the sponsor
# retries it or gives up on it).
OPEN = ("pending", "dead")


class OutboxMessage(Base):
    """A message owed to someone outside (payroll, a phone, Stripe), delivered by the dispatcher until acknowledged.

    `recipient` orders delivery: messages to the same recipient key (one employee at one provider) go out in `seq`
    order, so a later deferral change never overtakes an earlier one.
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_pending", "status", "next_attempt_at"),
                      Index("ix_outbox_status_seq", "status", "seq"),
                      Index("ix_outbox_recipient_seq", "recipient", "seq"),
                      # What the claim asks of each candidate: is anything earlier to its recipient still open?
                      Index("ix_outbox_open_lines", "recipient", "seq",
                            postgresql_where=text("status IN ('pending', 'dead')"),
                            sqlite_where=text("status IN ('pending', 'dead')")),
                      Index("uq_outbox_unique_subject", "unique_subject", unique=True))

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(32), unique=True, default=lambda: new_id("msg"))
    topic: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[str] = mapped_column(String(128), index=True)
    employer_id: Mapped[str | None] = mapped_column(String(32), index=True)
    subject_id: Mapped[str | None] = mapped_column(String(64), index=True)  # what it is about (an election id)
    # The subject again when the message may exist only once for it (enqueue(..., once_per_subject=True)): a
    # unique index, so two transactions racing to enqueue it cannot both succeed.
    unique_subject: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[dict] = mapped_column(JSON)
    # pending → delivered, or dead after too many tries (the sponsor can retry); awaiting_pull for providers that
    # poll the feed instead of being called: delivered when they acknowledge.
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # When it may next be claimed: its next try, or, while a worker holds it, when that worker's lease runs out.
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claim: Mapped[str | None] = mapped_column(String(32))  # the lease holding it; an outcome must name it
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


def enqueue(session: Session, topic: str, recipient: str, payload: dict, employer_id: str | None = None,
            subject_id: str | None = None, *, once_per_subject: bool = False) -> OutboxMessage | None:
    """Owe `recipient` this message, in the caller's transaction. With `once_per_subject`, a message about the
    same subject that was ever enqueued that way wins: nothing is added and None is returned (two transactions
    racing to enqueue it both reach this answer: one inserts, the other waits for it and then finds it)."""
    if not once_per_subject:
        message = OutboxMessage(topic=topic, recipient=recipient, payload=payload, employer_id=employer_id,
                                subject_id=subject_id)
        session.add(message)
        return message
    if subject_id is None:
        raise ValueError("once_per_subject needs a subject_id")
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # Flushed first, so messages added earlier in this transaction keep their place in line before this one.
    session.flush()
    seq = session.execute(
        insert(OutboxMessage.__table__).values(
            id=new_id("msg"), topic=topic, recipient=recipient, payload=payload, employer_id=employer_id,
            subject_id=subject_id, unique_subject=subject_id, status="pending", attempts=0,
            next_attempt_at=utcnow(), created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["unique_subject"]).returning(OutboxMessage.__table__.c.seq)).scalar()
    return None if seq is None else session.get(OutboxMessage, seq)


@dataclass(frozen=True)
class Message:
    """An outbox message as its deliverer sees it: a read-only snapshot taken when the dispatcher claimed it."""

    id: str
    topic: str
    recipient: str
    employer_id: str | None
    subject_id: str | None
    payload: Mapping
    attempts: int  # earlier attempts (this one not counted)


@dataclass(frozen=True)
class Delivery:
    """What a deliverer reports: acknowledged, or not (and whether trying again can help)."""

    acknowledged: bool
    detail: str | None = None
    permanent: bool = False  # the receiver refused it for good: dead-letter now rather than retry
    parked: bool = False  # the receiver polls for it (a pull feed): wait for its acknowledgement
    result: dict | None = None  # what the receiver answered, carried by the MessageDelivered event


Deliverer = Callable[[Message], Delivery]


# ---- recording what happened to a message (the dispatcher, the pull feed and provider events alike) --------------

def _settle(session: Session, message, claim: str | None, statuses: Iterable[str], **values) -> bool:
    """Move one message on, if it is still in one of `statuses` (and, for the dispatcher, still held by its
    `claim`: a worker whose lease ran out and was taken over records nothing). Whether it moved."""
    table = OutboxMessage.__table__
    statement = table.update().where(table.c.id == message.id, table.c.status.in_(tuple(statuses)))
    if claim is not None:
        statement = statement.where(table.c.claim == claim)
    moved = session.execute(statement.values(claim=None, **values)).rowcount == 1
    if moved and isinstance(message, OutboxMessage):
        session.expire(message)  # the caller's object shows the new state when next read
    return moved


def record_delivery(session: Session, message, result: Mapping | None = None, *, claim: str | None = None,
                    statuses: Iterable[str] = ("pending", "awaiting_pull")) -> bool:
    """A receiver acknowledged the message (answering the dispatcher, acknowledging the pull feed, or confirming
    by a provider event): delivered, announced by MessageDelivered. Whether it was recorded (not already done)."""
    if not _settle(session, message, claim, statuses, status="delivered", delivered_at=utcnow(), last_error=None,
                   attempts=OutboxMessage.__table__.c.attempts + 1):
        return False
    publish(session, MessageDelivered(message.id, message.topic, message.employer_id, message.subject_id,
                                      dict(result or {})))
    return True


def mark_dead(session: Session, message, reason: str | None, *, claim: str | None = None,
              count_attempt: bool = False, announce: bool = True) -> bool:
    """Give up on a message (refused for good, or out of attempts); the sponsor can put it back in line."""
    reason = (reason or "refused")[:2000]
    values = {"status": "dead", "last_error": reason}
    if count_attempt:
        values["attempts"] = OutboxMessage.__table__.c.attempts + 1
    if not _settle(session, message, claim, ("pending", "awaiting_pull"), **values):
        return False
    if announce:
        publish(session, MessageDead(message.id, message.topic, message.employer_id, message.subject_id, reason))
    return True


def acknowledge_pulled(session: Session, employer_id: str, message_ids: Iterable[str],
                       result: Mapping | None = None) -> int:
    """A polling receiver says it applied these messages of its employer's; only those waiting for it are
    acknowledged (anything else, or another employer's, is ignored). How many were."""
    waiting = session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(list(message_ids)),
                                                          OutboxMessage.employer_id == employer_id,
                                                          OutboxMessage.status == "awaiting_pull"))
    return sum(record_delivery(session, message, result, statuses=("awaiting_pull",)) for message in waiting)


def retry_dead(session: Session, message: OutboxMessage) -> None:
    """Put a dead-lettered message back in line (the sponsor asked): it is retried from scratch, in order.
    Only dead letters are retried: anything else is still on its way (or already there)."""
    if message.status != "dead":
        raise Conflict(f"Only dead-lettered messages are retried; this one is {message.status}.")
    message.status, message.attempts, message.next_attempt_at, message.last_error = "pending", 0, utcnow(), None
    message.claim = None


# ---- the dispatcher -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Leased:
    message: Message
    claim: str


class Couriers:
    """The threads that carry deliveries, several at once. A courier stuck in a deliverer past its deadline is left
    behind (a thread cannot be stopped) and another is hired in its place, so a receiver that hangs costs a thread,
    never the dispatcher; the stuck one retires if it ever comes back."""

    def __init__(self, size: int):
        self.size = size
        self._tasks: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._hired = 0
        self._abandoned: set[Future] = set()

    def submit(self, work: Callable, *args) -> Future:
        with self._lock:
            while self._hired < self.size:
                self._hire()
        future: Future = Future()
        self._tasks.put((future, work, args))
        return future

    def abandon(self, futures: Iterable[Future]) -> None:
        """These deliveries are past their deadline: hire a courier for each still running."""
        with self._lock:
            for future in futures:
                if future.running():
                    self._abandoned.add(future)
                    self._hire()

    def _hire(self) -> None:
        self._hired += 1
        threading.Thread(target=self._carry, name="outbox-courier", daemon=True).start()

    def _carry(self) -> None:
        while True:
            future, work, args = self._tasks.get()
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(work(*args))
                except BaseException as error:  # noqa: BLE001 (handed to whoever waits on the future)
                    future.set_exception(error)
            with self._lock:
                if future in self._abandoned:
                    self._abandoned.discard(future)
                    self._hired -= 1
                    return


class Dispatcher:
    """Delivers pending outbox messages until acknowledged, with exponential backoff and a dead-letter state.

    Ordering: only the head of each recipient's line is claimed (no earlier message to that recipient is pending
    or dead), and a claimed message stays pending under its lease, so a later change to an employee never
    overtakes an earlier one, whichever worker holds it. A batch holds one message per recipient, so it is
    delivered concurrently without reordering anything. Several dispatchers (one per `plumb worker` process) share
    the work on PostgreSQL: the claim skips rows another worker is claiming (FOR UPDATE SKIP LOCKED) and the lease
    keeps the claimed ones from everyone else until it runs out. A worker that dies leaves its messages leased;
    when the lease runs out they are claimed again (the receiver de-duplicates by the message id, which never
    changes).
    """

    def __init__(self, db, deliverers: Mapping[str, Deliverer], *, max_attempts: int = 10, base_delay: float = 1.0,
                 max_delay: float = 3600.0, batch_size: int = 100, concurrency: int = 32,
                 lease_seconds: float = 120.0, now: Callable[[], datetime] = utcnow):
        self.db, self.deliverers = db, deliverers
        self.max_attempts, self.base_delay, self.max_delay = max_attempts, base_delay, max_delay
        self.batch_size, self.concurrency, self.now = batch_size, concurrency, now
        self.lease = timedelta(seconds=lease_seconds)
        # A delivery is given up on well inside its lease, so its outcome is recorded before anyone may take it over.
        self.delivery_timeout = lease_seconds / 2
        self.couriers = Couriers(concurrency)

    def claim(self, limit: int) -> list[_Leased]:
        """Lease up to `limit` messages that are each the head of their recipient's line and due, oldest first,
        in one short transaction. The claim is an index walk over pending messages, each probed for an earlier
        open one to its recipient."""
        table = OutboxMessage.__table__
        candidate, earlier = table.alias("candidate"), table.alias("earlier")
        now = self.now()
        held_back = (select(earlier.c.seq).where(earlier.c.recipient == candidate.c.recipient,
                                                 earlier.c.seq < candidate.c.seq, earlier.c.status.in_(OPEN))
                     .exists())
        heads = (select(candidate.c.seq)
                 .where(candidate.c.status == "pending", candidate.c.next_attempt_at <= now, ~held_back)
                 .order_by(candidate.c.seq).limit(limit))
        postgres = self.db.dialect == "postgresql"
        if postgres:
            heads = heads.with_for_update(skip_locked=True)
        token = secrets.token_hex(8)
        statement = (table.update().where(table.c.seq.in_(heads.scalar_subquery()))
                     .values(next_attempt_at=now + self.lease, claim=token)
                     .returning(table.c.seq, table.c.id, table.c.topic, table.c.recipient, table.c.employer_id,
                                table.c.subject_id, table.c.payload, table.c.attempts))
        with self.db.transaction() as session:
            if postgres:
                # A claim lost in a crash only means the message is claimed again: no need to wait for the disk.
                session.execute(text("SET LOCAL synchronous_commit TO OFF"))
            rows = sorted(session.execute(statement).all())
        return [_Leased(Message(row.id, row.topic, row.recipient, row.employer_id, row.subject_id,
                                MappingProxyType(row.payload), row.attempts), token) for row in rows]

    def deliver(self, message: Message) -> Delivery:
        """Hand one message to its deliverer; whatever it raises is a failed attempt, like a refusal."""
        deliverer = self.deliverers.get(message.topic)
        if deliverer is None:
            return Delivery(False, f"no deliverer for {message.topic}")
        try:
            return deliverer(message)
        except Exception as error:  # a deliverer's bug, a network or a database error: retried like any failure
            return Delivery(False, f"{type(error).__name__}: {error}")

    def record(self, outcomes: list[tuple[_Leased, Delivery]]) -> None:
        """Record the outcomes, all in one short transaction when nothing goes wrong; otherwise each in its own,
        so one that cannot be recorded (a MessageDelivered handler failing, say) costs only its own message an
        attempt."""
        if not outcomes:
            return
        try:
            with self.db.transaction() as session:
                for leased, outcome in outcomes:
                    self._record(session, leased, outcome)
            return
        except Exception:
            log.warning("recording %d outcomes together failed; recording them one by one", len(outcomes),
                        exc_info=True)
        for leased, outcome in outcomes:
            try:
                with self.db.transaction() as session:
                    self._record(session, leased, outcome)
            except Exception as error:
                log.exception("recording the outcome of %s failed", leased.message.id)
                try:
                    with self.db.transaction() as session:
                        self._record(session, leased, Delivery(
                            False, f"its outcome could not be recorded: {type(error).__name__}: {error}"),
                            announce=False)
                except Exception:  # the database itself is away: the lease runs out and the message is retried
                    log.exception("recording the failure of %s failed too", leased.message.id)

    def _record(self, session: Session, leased: _Leased, outcome: Delivery, announce: bool = True) -> None:
        message, claim = leased.message, leased.claim
        if outcome.parked:
            _settle(session, message, claim, ("pending",), status="awaiting_pull")
            return
        if outcome.acknowledged:
            record_delivery(session, message, outcome.result, claim=claim, statuses=("pending",))
            return
        detail = (outcome.detail or "not acknowledged")[:2000]
        attempts = message.attempts + 1
        if outcome.permanent or attempts >= self.max_attempts:
            mark_dead(session, message, detail, claim=claim, count_attempt=True, announce=announce)
            return
        delay = min(self.max_delay, self.base_delay * 2 ** (attempts - 1)) * random.uniform(0.8, 1.2)
        _settle(session, message, claim, ("pending",), attempts=attempts, last_error=detail,
                next_attempt_at=self.now() + timedelta(seconds=delay))

    def _overdue(self) -> Delivery:
        return Delivery(False, f"the deliverer did not finish within {self.delivery_timeout:g} s")

    def run_once(self) -> int:
        """Claim a batch, deliver it concurrently, record the outcomes; how many messages were tried."""
        batch = self.claim(self.batch_size)
        if not batch:
            return 0
        futures = {self.couriers.submit(self.deliver, leased.message): leased for leased in batch}
        done, late = wait(futures, timeout=self.delivery_timeout)
        if late:
            self.couriers.abandon(late)
        self.record([(futures[f], f.result()) for f in done] + [(futures[f], self._overdue()) for f in late])
        return len(batch)

    def run_forever(self, stop: threading.Event, idle_seconds: float = 0.1) -> None:
        """Deliver until `stop` is set, keeping up to `concurrency` deliveries in flight: as deliveries finish,
        their outcomes are recorded together and as many new heads are claimed, so a slow receiver holds up only
        its own messages. Sleeps `idle_seconds` when there is nothing to do; on stop, finishes what is in flight."""
        in_flight: dict[Future, tuple[_Leased, float]] = {}
        while not stop.is_set() or in_flight:
            finished = [(in_flight.pop(f)[0], f.result()) for f in [f for f in in_flight if f.done()]]
            clock = time.monotonic()
            late = [f for f, (_, deadline) in in_flight.items() if deadline <= clock]
            if late:
                self.couriers.abandon(late)
                finished += [(in_flight.pop(f)[0], self._overdue()) for f in late]
            self.record(finished)
            claimed = []
            room = self.concurrency - len(in_flight)
            if room and not stop.is_set():
                try:
                    claimed = self.claim(min(room, self.batch_size))
                except Exception:
                    log.exception("claiming outbox messages failed; trying again")
                deadline = time.monotonic() + self.delivery_timeout
                for leased in claimed:
                    in_flight[self.couriers.submit(self.deliver, leased.message)] = (leased, deadline)
            if finished or claimed:
                continue
            if in_flight:
                nearest = min(deadline for _, deadline in in_flight.values()) - time.monotonic()
                wait(in_flight, timeout=max(0.0, min(idle_seconds, nearest)), return_when=FIRST_COMPLETED)
            else:
                stop.wait(idle_seconds)
