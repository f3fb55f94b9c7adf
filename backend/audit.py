"""The audit trail: who changed what, when, from where. Written in the caller's session, so a change and its audit
record commit or roll back together."""
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import JSON, BigInteger, Index, Integer, String, select
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


def record_audit(session: Session, actor: Actor, action: str, subject_type: str, subject_id: str,
                 changes: dict | None = None, employer_id: str | None = None) -> AuditEvent:
    event = AuditEvent(actor_user_id=actor.user_id, actor_role=actor.role, ip=actor.ip,
                       user_agent=(actor.user_agent or "")[:256] or None, employer_id=employer_id,
                       action=action, subject_type=subject_type, subject_id=subject_id, changes=changes or {})
    session.add(event)
    return event


def audit_trail_query(employer_id: str):
    """Every recorded change for an employer, for the paged audit-trail endpoint."""
    return select(AuditEvent).where(AuditEvent.employer_id == employer_id)
