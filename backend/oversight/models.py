"""The precomputed figures of each plan (one row a plan): what a dashboard and an advisor's book show, kept current by
the handlers of the events that change them (figures.py), so a book of a thousand plans is one indexed read."""
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, Cents, Dec, UTCDateTime, utcnow

# The "needs attention" order, most urgent first; a plan takes the first reason that applies to it.
ATTENTION_REASONS = ("at_risk", "approvals", "exceptions", "unsigned_documents", "past_due_billing")
NO_ATTENTION = len(ATTENTION_REASONS)  # the rank of a plan that needs nothing
# created: set up, its adoption agreement not signed yet; documents_signed: signed (in force), no pay run yet;
# live: taking contributions (a pay run reached the ledger).
STAGES = ("created", "documents_signed", "live")


class PlanFigures(Base):
    """A plan's headline figures as of `as_of`, with the employer's name and advisor copied in so that the book
    reads this table alone: ordered by (attention_rank, employer_name, plan_id), a stable keyset cursor."""

    __tablename__ = "plan_figures"
    __table_args__ = (
        # The advisor's book, and the platform's (all plans), in the attention order: the cursor walks these.
        Index("ix_plan_figures_advisor_order", "advisor_user_id", "attention_rank", "employer_name", "plan_id"),
        Index("ix_plan_figures_order", "attention_rank", "employer_name", "plan_id"),
        # The pipeline: an advisor's plans by stage, newest first.
        Index("ix_plan_figures_advisor_stage", "advisor_user_id", "stage", "plan_created_at"),
    )

    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id"), primary_key=True)
    employer_id: Mapped[str] = mapped_column(ForeignKey("employers.id"), index=True)
    employer_name: Mapped[str] = mapped_column(String(200))
    plan_name: Mapped[str] = mapped_column(String(200))
    advisor_user_id: Mapped[str | None] = mapped_column(String(32))
    plan_created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    as_of: Mapped[date] = mapped_column(Date)
    stage: Mapped[str] = mapped_column(String(20))
    eligible_count: Mapped[int] = mapped_column(Integer)
    enrolled_count: Mapped[int] = mapped_column(Integer)
    participation_rate: Mapped[Decimal | None] = mapped_column(Dec(7, 4))  # a fraction: 0.7500 is 75%
    hce_average_deferral: Mapped[Decimal | None] = mapped_column(Dec(12, 4))  # percent of pay (projected ADP)
    nhce_average_deferral: Mapped[Decimal | None] = mapped_column(Dec(12, 4))
    match_paid_cents: Mapped[int] = mapped_column(Cents)
    match_projected_cents: Mapped[int] = mapped_column(Cents)
    assets_cents: Mapped[int] = mapped_column(Cents)
    contributions_by_month: Mapped[dict] = mapped_column(JSON)  # "YYYY-MM" → {source: cents}
    pending_approvals: Mapped[int] = mapped_column(Integer)
    open_exceptions: Mapped[int] = mapped_column(Integer)
    dead_letters: Mapped[int] = mapped_column(Integer)
    compliance_status: Mapped[str] = mapped_column(String(16))  # on_track | narrow_margin | at_risk | not_computed
    compliance_margin: Mapped[Decimal | None] = mapped_column(Dec(12, 4))
    agreement_signed: Mapped[bool] = mapped_column(Boolean)
    billing_status: Mapped[str] = mapped_column(String(16))  # off | active | past_due | cancelled
    attention: Mapped[str | None] = mapped_column(String(24))  # the first reason of ATTENTION_REASONS, or None
    attention_rank: Mapped[int] = mapped_column(Integer)
    refreshed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
