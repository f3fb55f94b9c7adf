"""The transactional outbox: messages owed to someone outside (payroll, a phone, Stripe), written in the caller's
transaction with the change that causes them, and delivered by the dispatcher until a receiver acknowledges them.

Who delivers which topic is the wiring's table (`backend/wiring.py`); a deliverer is a callable
`(session, message) -> Delivery`.
"""
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, Session, mapped_column

from backend.db import Base, UTCDateTime, new_id, utcnow
from backend.events import MessageDead, MessageDelivered, publish


class OutboxMessage(Base):
    """A message owed to someone outside (payroll, a phone, Stripe), delivered by the dispatcher until acknowledged.

    `recipient` orders delivery: messages to the same recipient key (one employee at one provider) go out in `seq`
    order, so a later deferral change never overtakes an earlier one.
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_pending", "status", "next_attempt_at"),
                      Index("ix_outbox_status_seq", "status", "seq"),
                      Index("ix_outbox_recipient_seq", "recipient", "seq"))

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(32), unique=True, default=lambda: new_id("msg"))
    topic: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[str] = mapped_column(String(128), index=True)
    employer_id: Mapped[str | None] = mapped_column(String(32), index=True)
    subject_id: Mapped[str | None] = mapped_column(String(64), index=True)  # what it is about (an election id)
    payload: Mapped[dict] = mapped_column(JSON)
    # pending → delivered, or dead after too many tries (the sponsor can retry); awaiting_pull for providers that
    # poll the feed instead of being called: delivered when they acknowledge.
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


def enqueue(session: Session, topic: str, recipient: str, payload: dict, employer_id: str | None = None,
            subject_id: str | None = None) -> OutboxMessage:
    message = OutboxMessage(topic=topic, recipient=recipient, payload=payload, employer_id=employer_id,
                            subject_id=subject_id)
    session.add(message)
    return message


@dataclass(frozen=True)
class Delivery:
    """What a deliverer reports: acknowledged, or not (and whether trying again can help)."""

    acknowledged: bool
    detail: str | None = None
    permanent: bool = False  # the receiver refused it for good: dead-letter now rather than retry
    parked: bool = False  # the receiver polls for it (a pull feed): wait for its acknowledgement
    result: dict | None = None  # what the receiver answered, carried by the MessageDelivered event


Deliverer = Callable[[Session, "OutboxMessage"], Delivery]


class Dispatcher:
    """Delivers pending outbox messages until acknowledged, with exponential backoff and a dead-letter state.

    Ordering: a message is only claimed when no earlier message to the same recipient is still pending or dead, so
    a later change to an employee never overtakes an earlier one. Several dispatchers (one per `plumb worker`
    process) share the work on PostgreSQL through FOR UPDATE SKIP LOCKED; a message stays locked while it is being
    delivered, so no two workers deliver it at once, and a worker that dies mid-delivery leaves it pending for the
    next one (the receiver de-duplicates by the message id, which never changes)."""

    def __init__(self, db, deliverers: Mapping[str, Deliverer], *, max_attempts: int = 10, base_delay: float = 1.0,
                 max_delay: float = 3600.0, batch_size: int = 20, now=utcnow):
        self.db, self.deliverers = db, deliverers
        self.max_attempts, self.base_delay, self.max_delay = max_attempts, base_delay, max_delay
        self.batch_size, self.now = batch_size, now

    def _claim(self, session: Session) -> list[OutboxMessage]:
        """Lock up to a batch of messages that are each the head of their recipient's line (the oldest message to
        that recipient not yet delivered), skipping rows another worker holds. Every step is an index walk, so a
        claim costs the same with ten thousand messages waiting as with ten, whatever the planner knows."""
        from sqlalchemy import func, select

        candidates = select(OutboxMessage.id, OutboxMessage.recipient, OutboxMessage.seq).where(
            OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= self.now()
        ).order_by(OutboxMessage.seq).limit(self.batch_size * 5)
        if self.db.dialect == "postgresql":
            # Lock the candidates, skipping what another worker holds, so workers look at different rows; the
            # ones that are not heads stay locked only until this batch commits.
            candidates = candidates.with_for_update(skip_locked=True, of=OutboxMessage)
        candidates = session.execute(candidates).all()
        if not candidates:
            return []
        heads = dict(session.execute(
            select(OutboxMessage.recipient, func.min(OutboxMessage.seq))
            .where(OutboxMessage.recipient.in_({c.recipient for c in candidates}),
                   OutboxMessage.status.in_(("pending", "dead")))
            .group_by(OutboxMessage.recipient)).all())
        chosen = [c.id for c in candidates if heads.get(c.recipient) == c.seq][:self.batch_size]
        return list(session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(chosen))
                                    .order_by(OutboxMessage.seq)))

    def run_once(self) -> int:
        """Claim a batch and try each message once; returns how many were tried."""
        with self.db.transaction() as session:
            claimed = self._claim(session)
            for message in claimed:
                self._attempt(session, message)
        return len(claimed)

    def _attempt(self, session: Session, message: OutboxMessage) -> int:
        import random
        from datetime import timedelta

        deliverer = self.deliverers.get(message.topic)
        try:
            outcome = (deliverer(session, message) if deliverer
                       else Delivery(False, f"no deliverer for {message.topic}"))
        except Exception as error:  # a deliverer's bug or a network error: retried like any failure
            outcome = Delivery(False, f"{type(error).__name__}: {error}")
        if outcome.parked:
            message.status = "awaiting_pull"
            return 1
        message.attempts += 1
        if outcome.acknowledged:
            message.status, message.delivered_at, message.last_error = "delivered", self.now(), None
            publish(session, MessageDelivered(message.id, message.topic, message.employer_id, message.subject_id,
                                              outcome.result or {}))
            return 1
        message.last_error = (outcome.detail or "not acknowledged")[:2000]
        if outcome.permanent or message.attempts >= self.max_attempts:
            mark_dead(session, message, message.last_error)
        else:
            delay = min(self.max_delay, self.base_delay * 2 ** (message.attempts - 1))
            message.next_attempt_at = self.now() + timedelta(seconds=delay * random.uniform(0.8, 1.2))
        return 0

    def run_forever(self, stop, idle_seconds: float = 0.5) -> None:
        """Deliver until `stop` (a threading.Event) is set; sleep briefly when there is nothing to do."""
        import logging

        log = logging.getLogger(__name__)
        while not stop.is_set():
            try:
                busy = self.run_once()
            except Exception:
                log.exception("dispatcher pass failed; retrying")
                busy = 0
            if not busy:
                stop.wait(idle_seconds)


def acknowledge_pulled(session: Session, message: OutboxMessage, result: dict | None = None) -> None:
    """A polling receiver says it applied this message."""
    message.status, message.delivered_at, message.attempts = "delivered", utcnow(), message.attempts + 1
    publish(session, MessageDelivered(message.id, message.topic, message.employer_id, message.subject_id,
                                      result or {}))


def mark_dead(session: Session, message: OutboxMessage, reason: str | None) -> None:
    """Give up on a message (refused for good, or out of attempts); the sponsor can put it back in line."""
    message.status, message.last_error = "dead", (reason or "refused")[:2000]
    publish(session, MessageDead(message.id, message.topic, message.employer_id, message.subject_id, message.last_error))


def retry_dead(session: Session, message: OutboxMessage) -> None:
    """Put a dead-lettered message back in line (the sponsor asked): it is retried from scratch, in order."""
    message.status, message.attempts, message.next_attempt_at, message.last_error = "pending", 0, utcnow(), None
