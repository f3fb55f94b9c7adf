"""The plan's compliance as last computed, its history, and the early warnings raised from it."""
from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, Dec, UTCDateTime, new_id, utcnow


class ComplianceState(Base):
    """The latest result for a plan and year: what the sponsor's dashboard shows.

    `result` is the last full computation, every test in full (about 250 kB for 10,000 employees), written only by
    it. `headline` is what has moved since, small enough to rewrite on each election: the status and the
    projected ADP and ACP figures (laid over `result` when read), with the sums of the stored ratios by group."""

    __tablename__ = "compliance_states"

    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(16))  # on_track | narrow_margin | at_risk
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    trigger: Mapped[str] = mapped_column(String(64))
    result: Mapped[dict] = mapped_column(JSON, deferred=True)  # loaded only when the whole state is read
    headline: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # None before the first full computation


class ComplianceSnapshot(Base):
    """One point of the plan's history (for the chart): recorded at each recompute."""

    __tablename__ = "compliance_snapshots"
    __table_args__ = (Index("ix_compliance_snapshots_plan_at", "plan_id", "at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("cms"))
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id"))
    year: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    status: Mapped[str] = mapped_column(String(16))
    figures: Mapped[dict] = mapped_column(JSON)  # projected ADP/ACP averages, limits, margins


class ComplianceWarning(Base):
    """Raised once when the projection turns at risk or its margin narrow (not on every pay run while it stays
    so)."""

    __tablename__ = "compliance_warnings"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("cmw"))
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="at_risk", server_default="at_risk")
    failing_tests: Mapped[list] = mapped_column(JSON)
    narrow_margin_tests: Mapped[list | None] = mapped_column(JSON)
    message: Mapped[str] = mapped_column(String(2000))
    fix: Mapped[dict] = mapped_column(JSON)


class ComplianceRatio(Base):
    """Each eligible employee's projected ADP and ACP ratios as of the last full computation: what lets one
    election change move the averages without testing the whole plan again."""

    __tablename__ = "compliance_ratios"

    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    hce: Mapped[bool] = mapped_column(Boolean)
    adr: Mapped[Decimal] = mapped_column(Dec(12, 4))
    acr: Mapped[Decimal] = mapped_column(Dec(12, 4))
