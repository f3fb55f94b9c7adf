"""Domain events: the audit trail and the transactional outbox.

Both are written in the caller's session, so they commit or roll back with the change that caused them: an approved
election and the message telling payroll about it are one transaction, and nothing is ever half-recorded.
"""
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, Session, mapped_column

from backend.db import Base, UTCDateTime, new_id, utcnow


@dataclass(frozen=True)
class Actor:
    """Who caused a change, and from where (for the audit trail)."""

    user_id: str | None
    role: str
    ip: str | None = None
    user_agent: str | None = None

    @classmethod
    def system(cls, reason: str = "system") -> "Actor":
        return cls(user_id=None, role=reason)


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_employer_at", "employer_id", "seq"),)

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(32), unique=True, default=lambda: new_id("aud"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_user_id: Mapped[str | None] = mapped_column(String(32))
    actor_role: Mapped[str] = mapped_column(String(32))
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(256))
    employer_id: Mapped[str | None] = mapped_column(String(32), index=True)
    action: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(String(32), index=True)
    changes: Mapped[dict] = mapped_column(JSON, default=dict)


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


def record_audit(session: Session, actor: Actor, action: str, subject_type: str, subject_id: str,
                 changes: dict | None = None, employer_id: str | None = None) -> AuditEvent:
    event = AuditEvent(actor_user_id=actor.user_id, actor_role=actor.role, ip=actor.ip,
                       user_agent=(actor.user_agent or "")[:256] or None, employer_id=employer_id,
                       action=action, subject_type=subject_type, subject_id=subject_id, changes=changes or {})
    session.add(event)
    return event


def enqueue(session: Session, topic: str, recipient: str, payload: dict, employer_id: str | None = None,
            subject_id: str | None = None) -> OutboxMessage:
    message = OutboxMessage(topic=topic, recipient=recipient, payload=payload, employer_id=employer_id,
                            subject_id=subject_id)
    session.add(message)
    return message


# In-process domain events: a lower module announces a change and a higher one reacts inside the same transaction
# (the census in plans changes, enrollment recomputes eligibility) without the lower module importing the higher.
_SUBSCRIBERS: dict[str, list] = {}


def subscribe(name: str):
    def register(handler):
        _SUBSCRIBERS.setdefault(name, []).append(handler)
        return handler

    return register


def publish(session: Session, name: str, **payload) -> None:
    for handler in _SUBSCRIBERS.get(name, ()):
        handler(session, **payload)



# ---- delivery --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Delivery:
    """What a deliverer reports: acknowledged, or not (and whether trying again can help)."""

    acknowledged: bool
    detail: str | None = None
    permanent: bool = False  # the receiver refused it for good: dead-letter now rather than retry
    parked: bool = False  # the receiver polls for it (a pull feed): wait for its acknowledgement
    result: dict | None = None  # what the receiver answered, for the subscribers of "outbox.delivered"


_DELIVERERS: dict[str, object] = {}


def register_deliverer(topic: str):
    """A function (session, message, secrets) -> Delivery that hands messages of `topic` to whoever receives them;
    `secrets` opens what is stored encrypted (connection signing secrets)."""

    def register(deliverer):
        _DELIVERERS[topic] = deliverer
        return deliverer

    return register


class Dispatcher:
    """Delivers pending outbox messages until acknowledged, with exponential backoff and a dead-letter state.

    Ordering: a message is only claimed when no earlier message to the same recipient is still pending or dead, so
    a later change to an employee never overtakes an earlier one. Several dispatchers (one per `plumb worker`
    process) share the work on PostgreSQL through FOR UPDATE SKIP LOCKED; a message stays locked while it is being
    delivered, so no two workers deliver it at once, and a worker that dies mid-delivery leaves it pending for the
    next one (the receiver de-duplicates by the message id, which never changes)."""

    def __init__(self, db, secrets, *, max_attempts: int = 10, base_delay: float = 1.0, max_delay: float = 3600.0,
                 batch_size: int = 20, now=utcnow):
        self.db, self.secrets = db, secrets
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

        deliverer = _DELIVERERS.get(message.topic)
        try:
            outcome = (deliverer(session, message, self.secrets) if deliverer
                       else Delivery(False, f"no deliverer for {message.topic}"))
        except Exception as error:  # a deliverer's bug or a network error: retried like any failure
            outcome = Delivery(False, f"{type(error).__name__}: {error}")
        if outcome.parked:
            message.status = "awaiting_pull"
            return 1
        message.attempts += 1
        if outcome.acknowledged:
            message.status, message.delivered_at, message.last_error = "delivered", self.now(), None
            publish(session, "outbox.delivered", message=message, result=outcome.result or {})
            return 1
        message.last_error = (outcome.detail or "not acknowledged")[:2000]
        if outcome.permanent or message.attempts >= self.max_attempts:
            message.status = "dead"
            publish(session, "outbox.dead", message=message)
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
    publish(session, "outbox.delivered", message=message, result=result or {})


def retry_dead(session: Session, message: OutboxMessage) -> None:
    """Put a dead-lettered message back in line (the sponsor asked): it is retried from scratch, in order."""
    message.status, message.attempts, message.next_attempt_at, message.last_error = "pending", 0, utcnow(), None
