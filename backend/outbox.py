"""The transactional outbox: messages owed to someone outside (payroll, a phone, Stripe), written in the caller's
transaction with the change that causes them, and delivered by the dispatcher until a receiver acknowledges them.

No delivery runs inside a transaction. The dispatcher leases a batch of messages in one short transaction (the
lease expires, so a killed worker's messages go back in line), hands them to their deliverers outside any
transaction, several at once, and records each outcome in another short transaction. A deliverer's failure, a
database error included, costs its own message an attempt and touches no other message.

Who delivers which topic is the wiring's table (`backend/wiring.py`). A deliverer is a callable
`(Message) -> Delivery`: it gets a read-only snapshot of the message, and whatever else it needs (the database for
its own short transactions, the PII vault) is bound to it by the wiring. A receiver with a batch API (FCM's
send_each takes 500 messages a call) gets a `BatchDeliverer`: the dispatcher hands it the topic's claimed messages
in loads, one call for many messages, and records the one outcome it answers for each exactly as if each had been
delivered alone.
"""
import itertools
import logging
import queue
import random
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text, bindparam, func, select, text, tuple_
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, Session, mapped_column

from backend.db import Base, UTCDateTime, any_of, bulk_insert, insert_unless_held, new_id, utcnow
from backend.errors import Conflict
from backend.events import MessageDead, MessageDelivered, MessageRetried, publish

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
    # Few indexes, none on `next_attempt_at` or `claim`: a claim then changes no indexed column, and PostgreSQL
    # updates the row in place (a HOT update; the table keeps room on its pages for that, migration 0009).
    __table_args__ = (Index("ix_outbox_recipient_seq", "recipient", "seq"),
                      # The claim walks the pending messages in line order ...
                      Index("ix_outbox_pending_line", "seq", postgresql_where=text("status = 'pending'"),
                            sqlite_where=text("status = 'pending'")),
                      # ... and asks of each: is anything earlier to its recipient still open?
                      Index("ix_outbox_open_lines", "recipient", "seq",
                            postgresql_where=text("status IN ('pending', 'dead')"),
                            sqlite_where=text("status IN ('pending', 'dead')")),
                      Index("ix_outbox_unique_subject", "unique_subject", unique=True,
                            postgresql_where=text("unique_subject IS NOT NULL"),
                            sqlite_where=text("unique_subject IS NOT NULL")))

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(32), unique=True, default=lambda: new_id("msg"))
    topic: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[str] = mapped_column(String(128))
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
            subject_id: str | None = None, *, once_per_subject: bool = False,
            not_before: datetime | None = None) -> OutboxMessage | None:
    """Owe `recipient` this message, in the caller's transaction. With `once_per_subject`, a message about the
    same subject that was ever enqueued that way wins: nothing is added and None is returned (two transactions
    racing to enqueue it both reach this answer: one inserts, the other waits for it and then finds it).
    `not_before` holds it (and the recipient's later messages, which keep their order) until then."""
    if not once_per_subject:
        message = OutboxMessage(topic=topic, recipient=recipient, payload=payload, employer_id=employer_id,
                                subject_id=subject_id, **({"next_attempt_at": not_before} if not_before else {}))
        session.add(message)
        return message
    if subject_id is None:
        raise ValueError("once_per_subject needs a subject_id")
    # Flushed first, so messages added earlier in this transaction keep their place in line before this one.
    session.flush()
    seq = insert_unless_held(session, OutboxMessage.__table__, topic=topic, recipient=recipient, payload=payload,
                             employer_id=employer_id, subject_id=subject_id, unique_subject=subject_id,
                             **({"next_attempt_at": not_before} if not_before else {}))
    return None if seq is None else session.get(OutboxMessage, seq)


def enqueue_many(session: Session, messages: Iterable[Mapping]) -> int:
    """Owe each of these messages (each a mapping of `enqueue`'s arguments: topic, recipient, payload, and
    optionally employer_id, subject_id, not_before), in the caller's transaction, in one statement however many
    they are (a pay run tells thousands); they take their places in line in the order given. How many."""
    now = utcnow()
    rows = [{"id": new_id("msg"), "topic": m["topic"], "recipient": m["recipient"], "payload": m["payload"],
             "employer_id": m.get("employer_id"), "subject_id": m.get("subject_id"), "unique_subject": None,
             "status": "pending", "attempts": 0, "next_attempt_at": m.get("not_before") or now, "claim": None,
             "last_error": None, "created_at": now, "delivered_at": None} for m in messages]
    if rows:
        # Flushed first, so messages added earlier in this transaction keep their place in line before these.
        session.flush()
        bulk_insert(session, OutboxMessage.__table__, rows)  # (COPY on PostgreSQL: the line order is the rows')
    return len(rows)


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


@dataclass(frozen=True)
class BatchDeliverer:
    """A topic's deliverer that takes up to `max_batch` claimed messages at once and answers one Delivery per
    message, in their order. A claim holds at most one message per recipient, so a load never reorders anyone's
    line; each outcome is recorded on its own message, so one message refused or asked to wait neither holds up
    nor repeats another. Called with one message, it is an ordinary deliverer."""

    deliver_many: Callable[[list[Message]], list[Delivery]]
    max_batch: int = 500

    def __post_init__(self):
        if self.max_batch < 1:
            raise ValueError("a batch holds at least one message")

    def __call__(self, message: Message) -> Delivery:
        return self.deliver_many([message])[0]


# ---- recording what happened to a message (the dispatcher, the pull feed and provider events alike) --------------

def _settle(session: Session, messages: list, *, claims: Mapping[str, str] | None = None,
            statuses: Iterable[str] = (), **values) -> set[str]:
    """Move messages on: for the dispatcher, those still held by the claim named in `claims` (a worker whose lease
    ran out and was taken over records nothing); for anyone else, those still in one of `statuses`. The ids
    moved."""
    if not messages:
        return set()
    table = OutboxMessage.__table__
    ids = [m.id for m in messages]
    # Found by their ids (a unique index, whatever the planner knows of the table), then held to their claims:
    # a message still under a claim is pending (every move clears the claim), so no status need be asked.
    held = any_of(session, table.c.id, ids)
    if claims is None:
        held &= table.c.status.in_(tuple(statuses))
    elif session.get_bind().dialect.name == "postgresql":
        # Two array parameters rather than a placeholder pair per message: a batch is hundreds of them.
        pairs = func.unnest(bindparam(None, ids, type_=postgresql.ARRAY(String)),
                            bindparam(None, [claims[i] for i in ids], type_=postgresql.ARRAY(String))
                            ).table_valued("id", "claim").render_derived()
        held &= tuple_(table.c.id, table.c.claim).in_(select(pairs.c.id, pairs.c.claim))
    else:
        held &= tuple_(table.c.id, table.c.claim).in_([(i, claims[i]) for i in ids])
    moved = set(session.execute(table.update().where(held).values(claim=None, **values)
                                .returning(table.c.id)).scalars())
    for message in messages:
        if message.id in moved and isinstance(message, OutboxMessage):
            session.expire(message)  # the caller's object shows the new state when next read
    return moved


def record_deliveries(session: Session, delivered: list[tuple[object, Mapping | None]], *,
                      claims: Mapping[str, str] | None = None,
                      statuses: Iterable[str] = ("pending", "awaiting_pull")) -> int:
    """Receivers acknowledged these messages (answering the dispatcher, acknowledging the pull feed, confirming by
    a provider event), each given with what the receiver answered: delivered, each announced by MessageDelivered.
    The one way a message becomes delivered. How many were recorded (not already done)."""
    moved = _settle(session, [message for message, _ in delivered], claims=claims, statuses=statuses,
                    status="delivered", delivered_at=utcnow(), last_error=None,
                    attempts=OutboxMessage.__table__.c.attempts + 1)
    for message, result in delivered:
        if message.id in moved:
            publish(session, MessageDelivered(message.id, message.topic, message.employer_id, message.subject_id,
                                              dict(result or {})))
    return len(moved)


def mark_dead(session: Session, message, reason: str | None, *, claims: Mapping[str, str] | None = None,
              count_attempt: bool = False, announce: bool = True) -> bool:
    """Give up on a message (refused for good, or out of attempts); the sponsor can put it back in line."""
    reason = (reason or "refused")[:2000]
    values = {"status": "dead", "last_error": reason}
    if count_attempt:
        values["attempts"] = OutboxMessage.__table__.c.attempts + 1
    if not _settle(session, [message], claims=claims, statuses=("pending", "awaiting_pull"), **values):
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
                                                          OutboxMessage.status == "awaiting_pull")).all()
    return record_deliveries(session, [(message, result) for message in waiting], statuses=("awaiting_pull",))


def pull_feed_query(employer_id: str, topic: str):
    """What a polling receiver's feed shows, oldest first: the messages parked for it, and those it acknowledged."""
    return select(OutboxMessage).where(OutboxMessage.employer_id == employer_id, OutboxMessage.topic == topic,
                                       OutboxMessage.status.in_(("awaiting_pull", "delivered")))


def retry_dead(session: Session, message: OutboxMessage) -> None:
    """Put a dead-lettered message back in line (the sponsor asked): it is retried from scratch, in order.
    Only dead letters are retried: anything else is still on its way (or already there)."""
    if message.status != "dead":
        raise Conflict(f"Only dead-lettered messages are retried; this one is {message.status}.")
    message.status, message.attempts, message.next_attempt_at, message.last_error = "pending", 0, utcnow(), None
    message.claim = None
    publish(session, MessageRetried(message.id, message.topic, message.employer_id))


# ---- the dispatcher -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Leased:
    message: Message
    claim: str

    @property
    def key(self) -> tuple[str, str]:
        return self.message.id, self.claim


class Couriers:
    """The threads that carry deliveries, several at once; each outcome comes back on `done`, one per message. A
    courier carries a parcel: one message, or a load of a batch deliverer's messages delivered in one call. A
    courier stuck in a deliverer past its deadline is left behind (a thread cannot be stopped) and another is hired
    in its place, so a receiver that hangs costs a thread, never the dispatcher; the stuck one retires if it ever
    comes back."""

    def __init__(self, size: int, carry: Callable[[list[Message]], list[Delivery]]):
        self.size, self.carry = size, carry
        self.done: queue.SimpleQueue = queue.SimpleQueue()  # (leased, outcome) as each delivery ends
        self._tasks: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._hired = self._stuck = 0
        # Parcels by the key of their first message; `_parcel_of` finds a message's parcel.
        self._parcel_of: dict = {}
        self._waiting: set = set()  # sent, not yet picked up
        self._carrying: set = set()
        self._given_up: set = set()  # past their deadline: skipped if still waiting, retiring their courier if not

    def send(self, parcel: list["_Leased"]) -> None:
        """Carry these messages in one delivery (several only for a batch deliverer)."""
        key = parcel[0].key
        with self._lock:
            self._waiting.add(key)
            for leased in parcel:
                self._parcel_of[leased.key] = key
            # Hired as the work asks, up to `size` (the ones stuck in a deliverer not counted).
            if len(self._waiting) + len(self._carrying) > self._hired and self._hired - self._stuck < self.size:
                self._hire()
        self._tasks.put(parcel)

    def abandon(self, late: list["_Leased"]) -> None:
        """These deliveries are past their deadline: a parcel still waiting is never delivered; for one being
        delivered, a new courier is hired in place of the one stuck with it."""
        with self._lock:
            for key in {self._parcel_of.get(leased.key) for leased in late} - {None} - self._given_up:
                if key in self._waiting:
                    self._given_up.add(key)
                elif key in self._carrying:
                    self._given_up.add(key)
                    self._stuck += 1
                    self._hire()

    def close(self) -> None:
        """Each courier not stuck in a deliverer leaves once the tasks already sent are carried."""
        with self._lock:
            leaving, self._hired = self._hired - self._stuck, self._stuck
        for _ in range(leaving):
            self._tasks.put(None)

    def _hire(self) -> None:
        self._hired += 1
        threading.Thread(target=self._work, name="outbox-courier", daemon=True).start()

    def _forget(self, parcel: list["_Leased"]) -> None:
        for leased in parcel:
            self._parcel_of.pop(leased.key, None)

    def _work(self) -> None:
        while True:
            parcel = self._tasks.get()
            if parcel is None:
                return
            key = parcel[0].key
            with self._lock:
                self._waiting.discard(key)
                if key in self._given_up:
                    self._given_up.discard(key)
                    self._forget(parcel)
                    continue
                self._carrying.add(key)
            outcomes = self.carry([leased.message for leased in parcel])
            with self._lock:
                self._carrying.discard(key)
                retire = key in self._given_up
                self._given_up.discard(key)
                self._forget(parcel)
                if retire:
                    self._hired -= 1
                    self._stuck -= 1
            for leased, outcome in zip(parcel, outcomes):
                self.done.put((leased, outcome))  # (a late outcome is ignored: the message was recorded as failed)
            if retire:
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
                 max_delay: float = 3600.0, batch_size: int = 100, concurrency: int = 32, window: int = 256,
                 lease_seconds: float = 120.0, now: Callable[[], datetime] = utcnow):
        self.db, self.deliverers = db, deliverers
        self.max_attempts, self.base_delay, self.max_delay = max_attempts, base_delay, max_delay
        self.batch_size, self.concurrency, self.now = batch_size, concurrency, now
        # Messages claimed and not yet recorded, between passes: more than the couriers carry at once, so they
        # always have the next one while a pass records and claims; with a batch deliverer, room for two of its
        # loads, so the next is claimed while one is on its way.
        largest_load = max([d.max_batch for d in deliverers.values() if isinstance(d, BatchDeliverer)], default=1)
        self.window = max(window, concurrency, 2 * largest_load)
        self.lease = timedelta(seconds=lease_seconds)
        # A delivery is given up on well inside its lease, so its outcome is recorded before anyone may take it over.
        self.delivery_timeout = lease_seconds / 2
        self.couriers = Couriers(concurrency, self.deliver_load)
        # Lease tokens: a random prefix per dispatcher and a counter (no system call per claim).
        self._tokens = (f"{secrets.token_hex(6)}{n:04x}" for n in itertools.count())

    def claim(self, limit: int) -> list[_Leased]:
        """Lease up to `limit` messages that are each the head of their recipient's line and due, oldest first,
        in one short transaction."""
        with self.db.transaction() as session:
            return self._claim(session, limit)

    def _claim(self, session: Session, limit: int) -> list[_Leased]:
        # An index walk over the pending messages in line order, each probed for an earlier open one to its
        # recipient (a partial index holds only open messages, so a long history costs nothing).
        table = OutboxMessage.__table__
        candidate, earlier = table.alias("candidate"), table.alias("earlier")
        now = self.now()
        held_back = (select(earlier.c.seq).where(earlier.c.recipient == candidate.c.recipient,
                                                 earlier.c.seq < candidate.c.seq, earlier.c.status.in_(OPEN))
                     .exists())
        heads = (select(candidate.c.seq)
                 .where(candidate.c.status == "pending", candidate.c.next_attempt_at <= now, ~held_back)
                 .order_by(candidate.c.seq).limit(limit))
        if self.db.dialect == "postgresql":
            heads = heads.with_for_update(skip_locked=True)
            # The walk must stay a walk when the table's statistics are missing or stale (a fresh table, a burst
            # of ten thousand since the last ANALYZE): a plan that reads every pending message and sorts them,
            # which such statistics make look cheap, costs a claim as much as the backlog is long.
            session.execute(text("SELECT " + ", ".join(f"set_config('enable_{plan}', 'off', true)" for plan in (
                "seqscan", "bitmapscan", "sort", "hashjoin", "mergejoin"))))
        token = next(self._tokens)
        heads = heads.subquery("heads")
        rows = sorted(session.execute(
            table.update().where(table.c.seq == heads.c.seq)
            .values(next_attempt_at=now + self.lease, claim=token)
            .returning(table.c.seq, table.c.id, table.c.topic, table.c.recipient, table.c.employer_id,
                       table.c.subject_id, table.c.payload, table.c.attempts)).all(), key=lambda row: row.seq)
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

    def deliver_load(self, messages: list[Message]) -> list[Delivery]:
        """Hand a load of one topic's messages to its batch deliverer in one call (any other deliverer gets them
        one by one): one outcome per message, in order. Whatever the call raises, or an answer that does not match
        the load, is a failed attempt for each of its messages."""
        deliverer = self.deliverers.get(messages[0].topic)
        if not isinstance(deliverer, BatchDeliverer):
            return [self.deliver(message) for message in messages]
        try:
            outcomes = list(deliverer.deliver_many(list(messages)))
        except Exception as error:  # as in `deliver`: retried like any failure
            return [Delivery(False, f"{type(error).__name__}: {error}")] * len(messages)
        if len(outcomes) != len(messages) or not all(isinstance(o, Delivery) for o in outcomes):
            return [Delivery(False, f"the deliverer answered {len(outcomes)} outcomes for {len(messages)} "
                                    "messages")] * len(messages)
        return outcomes

    def loads(self, claimed: list[_Leased]) -> list[list[_Leased]]:
        """The claimed messages as the couriers carry them: a batch deliverer's in loads of up to its `max_batch`,
        in line order; any other message alone."""
        loads, filling = [], {}
        for leased in claimed:
            deliverer = self.deliverers.get(leased.message.topic)
            if not isinstance(deliverer, BatchDeliverer):
                loads.append([leased])
                continue
            load = filling.get(leased.message.topic)
            if load is None or len(load) >= deliverer.max_batch:
                load = filling[leased.message.topic] = []
                loads.append(load)
            load.append(leased)
        return loads

    def record(self, outcomes: list[tuple[_Leased, Delivery]]) -> None:
        """Record the outcomes, all in one short transaction when nothing goes wrong; otherwise each in its own,
        so one that cannot be recorded (a MessageDelivered handler failing, say) costs only its own message an
        attempt."""
        if not outcomes:
            return
        try:
            with self.db.transaction() as session:
                self._record(session, outcomes)
            return
        except Exception:
            log.warning("recording %d outcomes together failed; recording them one by one", len(outcomes),
                        exc_info=True)
        self._record_each(outcomes)

    def _record_each(self, outcomes: list[tuple[_Leased, Delivery]]) -> None:
        """Each outcome in a transaction of its own; one that cannot be recorded is recorded as a failure."""
        for leased, outcome in outcomes:
            try:
                with self.db.transaction() as session:
                    self._record(session, [(leased, outcome)])
            except Exception as error:
                log.exception("recording the outcome of %s failed", leased.message.id)
                try:
                    with self.db.transaction() as session:
                        self._record(session, [(leased, Delivery(
                            False, f"its outcome could not be recorded: {type(error).__name__}: {error}"))],
                            announce=False)
                except Exception:  # the database itself is away: the lease runs out and the message is retried
                    log.exception("recording the failure of %s failed too", leased.message.id)

    def _record(self, session: Session, outcomes: list[tuple[_Leased, Delivery]], announce: bool = True) -> None:
        claims = {leased.message.id: leased.claim for leased, _ in outcomes}
        record_deliveries(session, [(leased.message, outcome.result) for leased, outcome in outcomes
                                    if outcome.acknowledged and not outcome.parked],
                          claims=claims)
        _settle(session, [leased.message for leased, outcome in outcomes if outcome.parked], claims=claims,
                status="awaiting_pull")
        for leased, outcome in outcomes:
            if outcome.acknowledged or outcome.parked:
                continue
            message = leased.message
            detail = (outcome.detail or "not acknowledged")[:2000]
            attempts = message.attempts + 1
            if outcome.permanent or attempts >= self.max_attempts:
                mark_dead(session, message, detail, claims=claims, count_attempt=True, announce=announce)
                continue
            delay = min(self.max_delay, self.base_delay * 2 ** (attempts - 1)) * random.uniform(0.8, 1.2)
            _settle(session, [message], claims=claims, attempts=attempts, last_error=detail,
                    next_attempt_at=self.now() + timedelta(seconds=delay))

    def _overdue(self) -> Delivery:
        return Delivery(False, f"the deliverer did not finish within {self.delivery_timeout:g} s")

    def run_once(self) -> int:
        """One pass of the worker's loop, waiting for what it claimed: claim a batch, deliver it concurrently,
        record the outcomes (through `_record_and_claim`, as `run_forever` does); how many messages were tried."""
        batch = self._record_and_claim([], self.batch_size)
        if not batch:
            return 0
        in_flight = {leased.key: leased for leased in batch}
        for load in self.loads(batch):
            self.couriers.send(load)
        finished, deadline = [], time.monotonic() + self.delivery_timeout
        while in_flight and (left := deadline - time.monotonic()) > 0:
            try:
                leased, outcome = self.couriers.done.get(timeout=left)
            except queue.Empty:
                break
            if in_flight.pop(leased.key, None) is not None:  # (not a straggler given up on earlier)
                finished.append((leased, outcome))
        if in_flight:
            self.couriers.abandon(list(in_flight.values()))
        self._record_and_claim(finished + [(leased, self._overdue()) for leased in in_flight.values()], 0)
        return len(batch)

    def close(self) -> None:
        """Let the couriers go (after the deliveries already sent)."""
        self.couriers.close()

    def run_forever(self, stop: threading.Event, idle_seconds: float = 0.1) -> None:
        """Deliver until `stop` is set, keeping up to `window` claimed messages on their way: each pass records
        what finished and claims as many new heads, in one short transaction, so a slow receiver holds up only
        its own messages. Sleeps `idle_seconds` when there is nothing to do; on stop, finishes what is in flight."""
        in_flight: dict[tuple[str, str], tuple[_Leased, float]] = {}
        arrived: list[tuple[_Leased, Delivery]] = []
        while not stop.is_set() or in_flight:
            while True:
                try:
                    arrived.append(self.couriers.done.get_nowait())
                except queue.Empty:
                    break
            finished = [(leased, outcome) for leased, outcome in arrived if in_flight.pop(leased.key, None)]
            arrived.clear()
            clock = time.monotonic()
            late = [leased for leased, deadline in in_flight.values() if deadline <= clock]
            if late:
                self.couriers.abandon(late)
                for leased in late:
                    del in_flight[leased.key]
                finished += [(leased, self._overdue()) for leased in late]
            room = 0 if stop.is_set() else self.window - len(in_flight)
            claimed = self._record_and_claim(finished, room)
            deadline = time.monotonic() + self.delivery_timeout
            for leased in claimed:
                in_flight[leased.key] = (leased, deadline)
            for load in self.loads(claimed):
                self.couriers.send(load)
            if finished or claimed:
                continue
            if in_flight:
                nearest = min(deadline for _, deadline in in_flight.values()) - time.monotonic()
                try:
                    arrived.append(self.couriers.done.get(timeout=max(0.0, min(idle_seconds, nearest))))
                except queue.Empty:
                    pass
            else:
                stop.wait(idle_seconds)
        self.close()

    def _record_and_claim(self, finished: list[tuple[_Leased, Delivery]], room: int) -> list[_Leased]:
        """One short transaction: the outcomes of what finished, and a claim on up to `room` more (one commit
        instead of two, which matters at thousands of messages a second). If it fails, the outcomes are recorded
        on their own, one by one if need be, and the claim waits for the next pass."""
        if not finished and not room:
            return []
        try:
            with self.db.transaction() as session:
                if finished:
                    self._record(session, finished)
                return self._claim(session, room) if room else []
        except Exception:
            log.warning("recording and claiming together failed; recording one by one", exc_info=True)
        self._record_each(finished)
        return []


def dead_letters_count(session: Session, employer_id: str) -> int:
    """How many of the employer's messages were given up on and wait for the sponsor's retry."""
    return session.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.employer_id == employer_id,
                                                                     OutboxMessage.status == "dead"))
