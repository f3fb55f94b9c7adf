"""Employers (sponsors), their plans and rules, fund menus, and employees (the census)."""
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db import Base, Cents, Dec, UTCDateTime, new_id, utcnow


class Employer(Base):
    __tablename__ = "employers"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("org"))
    name: Mapped[str] = mapped_column(String(200))
    ein: Mapped[str] = mapped_column(String(10), unique=True)
    address_line1: Mapped[str] = mapped_column(String(200))
    address_line2: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(2))
    postal_code: Mapped[str] = mapped_column(String(10))
    pay_frequency: Mapped[str] = mapped_column(String(16))
    anchor_pay_date: Mapped[date] = mapped_column(Date)
    advisor_user_id: Mapped[str | None] = mapped_column(String(32), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    plans: Mapped[list["Plan"]] = relationship(back_populates="employer", order_by="Plan.created_at")


class Plan(Base):
    __tablename__ = "plans"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("pln"))
    employer_id: Mapped[str] = mapped_column(ForeignKey("employers.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    template: Mapped[str | None] = mapped_column(String(32))
    effective_date: Mapped[date] = mapped_column(Date)
    plan_year_start_month: Mapped[int] = mapped_column(Integer, default=1)
    plan_year_start_day: Mapped[int] = mapped_column(Integer, default=1)
    # Eligibility (IRC 410(a)).
    min_age: Mapped[int] = mapped_column(Integer)
    service_months: Mapped[int] = mapped_column(Integer)
    entry_frequency: Mapped[str] = mapped_column(String(16))
    long_term_part_time: Mapped[bool] = mapped_column(Boolean, default=True)
    # Automatic enrollment (IRC 414A / 414(w)); rates are percents of pay.
    auto_enroll: Mapped[bool] = mapped_column(Boolean, default=False)
    auto_enroll_percent: Mapped[Decimal | None] = mapped_column(Dec())
    auto_escalate_step_percent: Mapped[Decimal | None] = mapped_column(Dec())
    auto_escalate_cap_percent: Mapped[Decimal | None] = mapped_column(Dec())
    opt_out_window_days: Mapped[int | None] = mapped_column(Integer)
    # How long before automatic enrollment takes effect the employee is told (IRC 414(w)(4): a reasonable period).
    auto_enroll_notice_days: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    # Contributions.
    match_tiers: Mapped[list] = mapped_column(JSON, default=list)  # [{"deferral_from_percent": "0", ...}]
    safe_harbor: Mapped[str] = mapped_column(String(24), default="none")
    vesting: Mapped[dict] = mapped_column(JSON, default=dict)  # source → {"0": "0", "3": "100"}
    requires_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    roth_allowed: Mapped[bool] = mapped_column(Boolean, default=True)
    catch_up_allowed: Mapped[bool] = mapped_column(Boolean, default=True)
    # Distributions while employed that the plan offers (IRC 72(p) loans; 1.401(k)-1(d)(3) hardship withdrawals).
    loans_allowed: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    hardship_allowed: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    # Compliance: a passing ADP/ACP projection whose margin (percentage points under the highest passing HCE
    # average) falls below this warns the sponsor early; 0 warns only on failure.
    compliance_warning_margin: Mapped[Decimal] = mapped_column(Dec(5, 2), default=Decimal(0), server_default="0")
    # Fund prices: a price moving more than this fraction (0.25 is 25%) from the fund's last confirmed price is
    # held for a second confirmation instead of trading (security review H-2: one typo mis-invests everyone).
    price_move_band: Mapped[Decimal] = mapped_column(Dec(6, 4), default=Decimal("0.25"), server_default="0.25")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    employer: Mapped[Employer] = relationship(back_populates="plans")
    funds: Mapped[list["Fund"]] = relationship(back_populates="plan", order_by="Fund.position")


class Fund(Base):
    __tablename__ = "funds"
    __table_args__ = (UniqueConstraint("plan_id", "ticker", name="uq_funds_plan_ticker"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("fnd"))
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id"), index=True)
    ticker: Mapped[str] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(String(200))
    asset_class: Mapped[str | None] = mapped_column(String(40))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)

    plan: Mapped[Plan] = relationship(back_populates="funds")


class Employee(Base):
    """One person on the employer's census. Date of birth and SSN are stored encrypted; the last four SSN digits
    stay in clear for identity checks."""

    __tablename__ = "employees"
    __table_args__ = (UniqueConstraint("employer_id", "external_id", name="uq_employees_employer_external"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("emp"))
    employer_id: Mapped[str] = mapped_column(ForeignKey("employers.id"), index=True)
    external_id: Mapped[str] = mapped_column(String(64))
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    date_of_birth_enc: Mapped[bytes] = mapped_column(LargeBinary)
    ssn_enc: Mapped[bytes] = mapped_column(LargeBinary)
    ssn_last4: Mapped[str] = mapped_column(String(4))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(32))
    hire_date: Mapped[date] = mapped_column(Date)
    rehire_date: Mapped[date | None] = mapped_column(Date)
    termination_date: Mapped[date | None] = mapped_column(Date)
    annual_compensation_cents: Mapped[int] = mapped_column(Cents)
    # Hours credited per 12-month eligibility computation period, keyed by the period's first day (ISO date).
    hours_by_period: Mapped[dict] = mapped_column(JSON, default=dict)
    ownership_percent: Mapped[Decimal] = mapped_column(Dec(), default=Decimal(0))
    officer: Mapped[bool] = mapped_column(Boolean, default=False)
    # The keyed digest of the invite code sent to the employee's census email or phone (the code itself is never
    # stored, so neither staff nor the database can read it back); none once spent, voided, or before any is sent.
    invite_code_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    signup_failures: Mapped[int] = mapped_column(Integer, default=0)
    census_fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
