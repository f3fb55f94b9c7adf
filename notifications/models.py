"""The notification tables: the devices a user's pushes go to, the feed every notification is first stored in, and
each user's choices (language, time zone, quiet hours, muted categories)."""
from datetime import datetime, time

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Text, Time
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, UTCDateTime, new_id, utcnow

PLATFORMS = ("ios", "android", "web")


class Device(Base):
    """A phone or browser's FCM registration token; a token belongs to whoever registered it last."""

    __tablename__ = "devices"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("dev"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    token: Mapped[str] = mapped_column(String(4096), unique=True)
    platform: Mapped[str] = mapped_column(String(10))
    app_version: Mapped[str | None] = mapped_column(String(32))
    locale: Mapped[str | None] = mapped_column(String(35))
    time_zone: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Notification(Base):
    """One entry of a user's feed: stored with its cause, and the push (if any) queued in the outbox after it."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_created", "user_id", "created_at", "id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("ntf"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    category: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(64))
    # What caused it (an election, a pay run's statement), so a cause replayed does not tell the user twice.
    subject_id: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    deep_link: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class NotificationSettings(Base):
    """A user's choices about being told; no row means the defaults (notifications/preferences.py)."""

    __tablename__ = "notification_settings"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    language: Mapped[str | None] = mapped_column(String(8))  # None: follow the latest device's locale
    time_zone: Mapped[str | None] = mapped_column(String(64))  # None: the latest device's, else the default
    quiet_hours: Mapped[bool] = mapped_column(Boolean, default=False)
    quiet_start: Mapped[time] = mapped_column(Time())
    quiet_end: Mapped[time] = mapped_column(Time())
    muted: Mapped[list] = mapped_column(JSON, default=list)  # ["nudges/push", "digests/email", ...]
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
