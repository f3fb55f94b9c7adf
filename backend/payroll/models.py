"""Provider connections, inbound pay runs and their statements, and the exceptions found in them."""
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db import Base, Cents, Dec, UTCDateTime, new_id, utcnow

RUN_TYPES = ("regular", "off_cycle", "bonus", "correction", "final_pay")
WITHHOLDING_TYPES = ("pretax", "roth", "pretax_catchup", "roth_catchup", "after_tax")


class ProviderConnection(Base):
    """How one employer's payroll talks to Plumb. The signing secret is stored encrypted."""

    __tablename__ = "provider_connections"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("pcn"))
    employer_id: Mapped[str] = mapped_column(ForeignKey("employers.id"), index=True)
    provider: Mapped[str] = mapped_column(String(20))
    endpoint_url: Mapped[str | None] = mapped_column(String(500))  # where push adapters deliver changes
    config: Mapped[dict] = mapped_column(JSON, default=dict)  # provider specifics (e.g. Finch benefit ids)
    secret_enc: Mapped[bytes] = mapped_column(LargeBinary)
    # The provider's own credentials (access token, webhook secret), encrypted like the signing secret.
    credentials_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PayRun(Base):
    """One version of one provider pay run. A correction is a new version; the old one is superseded."""

    __tablename__ = "pay_runs"
    __table_args__ = (UniqueConstraint("employer_id", "provider_run_id", "version", name="uq_pay_runs_version"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("prn"))
    employer_id: Mapped[str] = mapped_column(ForeignKey("employers.id"), index=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id"), index=True)
    connection_id: Mapped[str | None] = mapped_column(ForeignKey("provider_connections.id"))
    provider_run_id: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    request_hash: Mapped[str] = mapped_column(String(64))
    pay_date: Mapped[date] = mapped_column(Date)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    run_type: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(24))  # posted | posted_with_holds | superseded
    received_via: Mapped[str] = mapped_column(String(8))  # api | csv
    totals: Mapped[dict] = mapped_column(JSON, default=dict)  # source → cents posted
    statement_count: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    statements: Mapped[list["PayStatement"]] = relationship(order_by="PayStatement.position", back_populates="pay_run")


class PayStatement(Base):
    """One employee's lines in one pay run version."""

    __tablename__ = "pay_statements"
    __table_args__ = (UniqueConstraint("pay_run_id", "employee_id", name="uq_pay_statements_employee"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("pst"))
    pay_run_id: Mapped[str] = mapped_column(ForeignKey("pay_runs.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    employee_id: Mapped[str] = mapped_column(ForeignKey("employees.id"), index=True)
    gross_cents: Mapped[int] = mapped_column(Cents)
    plan_compensation_cents: Mapped[int] = mapped_column(Cents)
    hours: Mapped[Decimal | None] = mapped_column(Dec(8, 2))
    withholdings: Mapped[dict] = mapped_column(JSON)  # money type → cents
    employer_match_cents: Mapped[int] = mapped_column(Cents)
    match_source: Mapped[str] = mapped_column(String(10))  # provider | computed
    ytd: Mapped[dict | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(12))  # posted | held | rejected
    posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    pay_run: Mapped[PayRun] = relationship(back_populates="statements")


class PayrollException(Base):
    """A doubt about a statement, found as it arrived; the sponsor resolves it (accept, correct, reject)."""

    __tablename__ = "payroll_exceptions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("pex"))
    employer_id: Mapped[str] = mapped_column(ForeignKey("employers.id"), index=True)
    pay_run_id: Mapped[str] = mapped_column(ForeignKey("pay_runs.id"), index=True)
    statement_id: Mapped[str | None] = mapped_column(ForeignKey("pay_statements.id"))
    employee_id: Mapped[str | None] = mapped_column(String(32), index=True)
    code: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(8))  # hold (statement waits) | warning (posted, needs a look)
    message: Mapped[str] = mapped_column(Text)
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(12), default="open", index=True)  # open | accepted | corrected | rejected
    resolved_by: Mapped[str | None] = mapped_column(String(32))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolution_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ProviderEvent(Base):
    """A webhook a provider sent us, kept by its event id so a redelivery is recognised and ignored."""

    __tablename__ = "provider_events"
    __table_args__ = (UniqueConstraint("connection_id", "event_id", name="uq_provider_events_event"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("pev"))
    connection_id: Mapped[str] = mapped_column(ForeignKey("provider_connections.id"), index=True)
    event_id: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict] = mapped_column(JSON)
    outcome: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
