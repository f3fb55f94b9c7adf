"""Eligibility determinations, deferral and investment elections, beneficiaries, outside deferrals."""
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db import Base, Cents, Dec, UTCDateTime, new_id, utcnow

MONEY_TYPES = ("pretax", "roth", "pretax_catchup", "roth_catchup")
CATCH_UP_TYPES = ("pretax_catchup", "roth_catchup")


class EligibilityDetermination(Base):
    """The current answer to "may this employee defer, and from when", recomputed whenever the census changes."""

    __tablename__ = "eligibility_determinations"

    employee_id: Mapped[str] = mapped_column(ForeignKey("employees.id"), primary_key=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    conditions_met_date: Mapped[date | None] = mapped_column(Date)
    entry_date: Mapped[date | None] = mapped_column(Date)
    basis: Mapped[str | None] = mapped_column(String(24))
    explanation: Mapped[str] = mapped_column(Text)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class DeferralElection(Base):
    """One version of an employee's deferral election. A change is a new version; history is never edited."""

    __tablename__ = "deferral_elections"
    __table_args__ = (UniqueConstraint("employee_id", "version", name="uq_deferral_elections_version"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("ele"))
    employee_id: Mapped[str] = mapped_column(ForeignKey("employees.id"), index=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # election | opt_out | auto_enroll | escalation
    # pending_approval → approved | rejected; a pending version is superseded by a newer one.
    status: Mapped[str] = mapped_column(String(20), index=True)
    effective_date: Mapped[date] = mapped_column(Date)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    submitted_by: Mapped[str | None] = mapped_column(String(32))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(32))
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    # First pay statement on which payroll withheld what this election asks (the end of its journey to payroll).
    observed_at: Mapped[date | None] = mapped_column(Date)

    lines: Mapped[list["ElectionLine"]] = relationship(back_populates="election", order_by="ElectionLine.position",
                                                       cascade="all, delete-orphan")


class ElectionLine(Base):
    """One payroll deduction: a money type at a percent of pay or a flat amount per paycheck (never both)."""

    __tablename__ = "election_lines"
    __table_args__ = (UniqueConstraint("election_id", "money_type", name="uq_election_lines_type"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("eln"))
    election_id: Mapped[str] = mapped_column(ForeignKey("deferral_elections.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    money_type: Mapped[str] = mapped_column(String(16))
    percent: Mapped[Decimal | None] = mapped_column(Dec())
    amount_cents: Mapped[int | None] = mapped_column(Cents)

    election: Mapped[DeferralElection] = relationship(back_populates="lines")


class InvestmentElection(Base):
    """How new contributions are invested; versioned like deferral elections."""

    __tablename__ = "investment_elections"
    __table_args__ = (UniqueConstraint("employee_id", "version", name="uq_investment_elections_version"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("ivs"))
    employee_id: Mapped[str] = mapped_column(ForeignKey("employees.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(32))

    allocations: Mapped[list["InvestmentAllocation"]] = relationship(order_by="InvestmentAllocation.position",
                                                                      cascade="all, delete-orphan")


class InvestmentAllocation(Base):
    __tablename__ = "investment_allocations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("iva"))
    investment_election_id: Mapped[str] = mapped_column(ForeignKey("investment_elections.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    fund_id: Mapped[str] = mapped_column(ForeignKey("funds.id"))
    percent: Mapped[Decimal] = mapped_column(Dec())


class BeneficiaryDesignation(Base):
    """A complete set of beneficiaries; a change replaces the set with a new version."""

    __tablename__ = "beneficiary_designations"
    __table_args__ = (UniqueConstraint("employee_id", "version", name="uq_beneficiary_designations_version"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("bnd"))
    employee_id: Mapped[str] = mapped_column(ForeignKey("employees.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    beneficiaries: Mapped[list["Beneficiary"]] = relationship(order_by="Beneficiary.position", cascade="all, delete-orphan")


class Beneficiary(Base):
    __tablename__ = "beneficiaries"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("ben"))
    designation_id: Mapped[str] = mapped_column(ForeignKey("beneficiary_designations.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    tier: Mapped[str] = mapped_column(String(12))  # primary | contingent
    name: Mapped[str] = mapped_column(String(200))
    relationship_to_participant: Mapped[str] = mapped_column(String(40))
    percent: Mapped[Decimal] = mapped_column(Dec())


class OutsideDeferral(Base):
    """Elective deferrals made at another employer this calendar year: they count toward the 402(g) limit."""

    __tablename__ = "outside_deferrals"
    __table_args__ = (UniqueConstraint("employee_id", "calendar_year", name="uq_outside_deferrals_year"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("odf"))
    employee_id: Mapped[str] = mapped_column(ForeignKey("employees.id"), index=True)
    calendar_year: Mapped[int] = mapped_column(Integer)
    amount_cents: Mapped[int] = mapped_column(Cents)
    other_employer: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
