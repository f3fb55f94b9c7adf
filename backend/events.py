"""Domain events: the audit trail and the transactional outbox.

Both are written in the caller's session, so they commit or roll back with the change that caused them: an approved
election and the message telling payroll about it are one transaction, and nothing is ever half-recorded.
"""
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text
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
    __table_args__ = (Index("ix_outbox_pending", "status", "next_attempt_at"),)

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(32), unique=True, default=lambda: new_id("msg"))
    topic: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[str] = mapped_column(String(128), index=True)
    employer_id: Mapped[str | None] = mapped_column(String(32), index=True)
    payload: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | delivered | dead
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


def enqueue(session: Session, topic: str, recipient: str, payload: dict, employer_id: str | None = None) -> OutboxMessage:
    message = OutboxMessage(topic=topic, recipient=recipient, payload=payload, employer_id=employer_id)
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
