"""Each plan's headline figures: computed fresh from their owners (`recompute_plan_figures`), stored in one row
(`refresh_plan_figures`), and kept current by the handlers of the events that change them.

A handler does not recompute at once: it marks the plan, and the figures of every marked plan are refreshed once,
just before the transaction commits (in it, so the figures commit with the change or not at all). An
auto-enrollment of ten thousand people publishes ten thousand approvals; the plan's figures are computed once.

What moves the figures, and the event each move comes with:
- money in (assets, match paid, contributions by month), open exceptions: PayRunPosted (a pay run, an exception
  resolved);
- what the money is worth (assets at market value): FundPricesChanged (prices stored, confirmed or corrected);
- eligibility and participation: CensusChanged, ElectionApproved/Rejected/AwaitingApproval (pending approvals);
- compliance status, margin and average deferral ratios: ComplianceStateStored (full recompute, an election's move,
  a new warning margin);
- the adoption agreement: PlanSetUp, PlanRulesChanged (a restatement is unsigned), DocumentSigned, PlanWentLive;
- billing: PlanWentLive (billing starts), BillingStatusChanged;
- dead letters: MessageDead, MessageRetried (delivery acknowledgements do not change the count).
Time alone also moves two figures: an entry date passing makes an employee eligible, and a new year starts the
year's figures afresh. The daily pass refreshes the plans whose figures are of an earlier day
(`refresh_stale_figures`), and a dashboard read of a row from an earlier year is computed fresh.
"""
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from backend.accounts.money_in import plan_money_in_by_day
from backend.accounts.service import plan_assets_cents
from backend.billing.service import billing_status
from backend.clock import Clock
from backend.compliance.state import headline_of
from backend.documents.service import agreement_signed
from backend.enrollment.approvals import pending_approvals_count
from backend.enrollment.elections import participation_counts
from backend.oversight.models import ATTENTION_REASONS, NO_ATTENTION, PlanFigures
from backend.outbox import dead_letters_count
from backend.payroll.exceptions_queue import open_exceptions_count
from backend.payroll.pay_history import first_pay_date
from backend.plans.models import Employer, Plan
from backend.plans.schedules import pay_dates_between, plan_year_bounds

MATCH_SOURCE = "employer_match"
RATE_PLACES = Decimal("0.0001")
_PENDING = "oversight.figures_pending"  # Session.info: the plans marked in this transaction
_LISTENING = "oversight.figures_listening"


@dataclass
class Figures:
    """A plan's headline figures, as a dashboard shows them and as the plan_figures row stores them."""

    plan_id: str
    employer_id: str
    employer_name: str
    plan_name: str
    advisor_user_id: str | None
    plan_created_at: object
    as_of: date
    stage: str
    eligible_count: int
    enrolled_count: int
    participation_rate: Decimal | None
    hce_average_deferral: Decimal | None
    nhce_average_deferral: Decimal | None
    match_paid_cents: int
    match_projected_cents: int
    assets_cents: int
    contributions_by_month: dict
    pending_approvals: int
    open_exceptions: int
    dead_letters: int
    compliance_status: str
    compliance_margin: Decimal | None
    agreement_signed: bool
    billing_status: str
    attention: str | None
    attention_rank: int

    @classmethod
    def of_row(cls, row: PlanFigures) -> "Figures":
        return cls(**{name: getattr(row, name) for name in cls.__dataclass_fields__})

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def participation_rate(eligible: int, enrolled: int) -> Decimal | None:
    """Enrolled over eligible, to four places (half up); None when no one is eligible yet."""
    if not eligible:
        return None
    return (Decimal(enrolled) / Decimal(eligible)).quantize(RATE_PLACES, rounding=ROUND_HALF_UP)


def projected_match(paid_cents: int, pay_dates_so_far: int, pay_dates_in_year: int) -> int:
    """The year's match at the run rate so far: what was paid over the pay dates past, spread over the year's pay
    dates (integer cents, half up); what was paid when no pay date has passed yet."""
    if pay_dates_so_far <= 0:
        return paid_cents
    return int((Decimal(paid_cents) * pay_dates_in_year / pay_dates_so_far).quantize(Decimal(1), ROUND_HALF_UP))


def attention_of(compliance_status: str, pending_approvals: int, open_exceptions: int, agreement_is_signed: bool,
                 billing: str) -> str | None:
    """The first reason, in the book's order, that the plan needs someone's attention; None when it needs none."""
    reasons = {"at_risk": compliance_status == "at_risk", "approvals": pending_approvals > 0,
               "exceptions": open_exceptions > 0, "unsigned_documents": not agreement_is_signed,
               "past_due_billing": billing == "past_due"}
    return next((reason for reason in ATTENTION_REASONS if reasons[reason]), None)


def stage_of(agreement_was_signed: bool, first_pay: date | None) -> str:
    if first_pay is not None:
        return "live"
    return "documents_signed" if agreement_was_signed else "created"


def recompute_plan_figures(session: Session, plan_id: str, today: date | None = None) -> Figures:
    """The plan's figures computed now from their owners (nothing is stored), as of `today` (the clock's date)."""
    today = today or Clock().today()
    plan = session.get(Plan, plan_id)
    employer = session.get(Employer, plan.employer_id)
    year_start, year_end = plan_year_bounds(plan, today)  # match paid and projected over the plan year
    by_day = plan_money_in_by_day(session, plan_id, year_start, today)
    by_month: dict[str, dict[str, int]] = {}
    for day, sources in sorted(by_day.items()):
        month = by_month.setdefault(f"{day.year:04d}-{day.month:02d}", {})
        for source, cents in sources.items():
            month[source] = month.get(source, 0) + cents
    match_paid = sum(sources.get(MATCH_SOURCE, 0) for sources in by_day.values())
    pay_dates = pay_dates_between(employer.pay_frequency, employer.anchor_pay_date, year_start, year_end)
    match_projected = projected_match(match_paid, sum(1 for day in pay_dates if day <= today), len(pay_dates))
    eligible, enrolled = participation_counts(session, plan_id, today)
    compliance = headline_of(session, plan_id, today.year)
    approvals, exceptions = pending_approvals_count(session, plan_id), open_exceptions_count(session, plan_id)
    signed, billing = agreement_signed(session, plan_id), billing_status(session, employer.id)
    status = compliance["status"] if compliance else "not_computed"
    first_pay = first_pay_date(session, plan_id)
    attention = attention_of(status, approvals, exceptions, signed, billing)
    return Figures(
        plan_id=plan_id, employer_id=employer.id, employer_name=employer.name, plan_name=plan.name,
        advisor_user_id=employer.advisor_user_id, plan_created_at=plan.created_at, as_of=today,
        # A plan whose agreement was restated still went live once: billing or a pay run says it did.
        stage=stage_of(signed or billing != "off", first_pay),
        eligible_count=eligible, enrolled_count=enrolled, participation_rate=participation_rate(eligible, enrolled),
        hce_average_deferral=compliance["hce_average"] if compliance else None,
        nhce_average_deferral=compliance["nhce_average"] if compliance else None,
        match_paid_cents=match_paid, match_projected_cents=match_projected,
        assets_cents=plan_assets_cents(session, plan, today), contributions_by_month=by_month,
        pending_approvals=approvals, open_exceptions=exceptions, dead_letters=dead_letters_count(session, employer.id),
        compliance_status=status, compliance_margin=compliance["margin"] if compliance else None,
        agreement_signed=signed, billing_status=billing, attention=attention,
        attention_rank=NO_ATTENTION if attention is None else ATTENTION_REASONS.index(attention))


def refresh_plan_figures(session: Session, plan_id: str, today: date | None = None) -> PlanFigures:
    """Compute the plan's figures and store them in its row, in the caller's transaction."""
    figures = recompute_plan_figures(session, plan_id, today)
    row = session.get(PlanFigures, plan_id)
    if row is None:
        row = PlanFigures(plan_id=plan_id)
        session.add(row)
    for name, value in figures.as_dict().items():
        if name != "plan_id":
            setattr(row, name, value)
    return row


def stored_figures(session: Session, plan_id: str) -> PlanFigures | None:
    return session.get(PlanFigures, plan_id)


def refresh_stale_figures(session: Session, today: date) -> int:
    """Refresh every plan whose figures are of an earlier day (entry dates passing, a new year); how many."""
    stale = list(session.scalars(select(PlanFigures.plan_id).where(PlanFigures.as_of < today)))
    missing = list(session.scalars(select(Plan.id).where(Plan.id.not_in(select(PlanFigures.plan_id)))))
    for plan_id in stale + missing:
        refresh_plan_figures(session, plan_id, today)
    return len(stale) + len(missing)


# ---- kept current from events --------------------------------------------------------------------------------

def mark(session: Session, plan_ids, clock: Clock) -> None:
    """Have these plans' figures refreshed once, just before this transaction commits."""
    pending = session.info.setdefault(_PENDING, set())
    pending.update(plan_ids)
    session.info["oversight.clock"] = clock
    if not session.info.get(_LISTENING):
        session.info[_LISTENING] = True
        event.listen(session, "before_commit", _refresh_marked)
        event.listen(session, "after_rollback", _forget_marked)


def _refresh_marked(session: Session) -> None:
    pending = session.info.get(_PENDING)
    if not pending:
        return
    today = session.info["oversight.clock"].today()
    # Refreshing may publish nothing, but take the set first: a handler marking again starts a new round.
    session.info[_PENDING] = set()
    for plan_id in sorted(pending):
        if session.get(Plan, plan_id) is not None:
            refresh_plan_figures(session, plan_id, today)


def _forget_marked(session: Session) -> None:
    session.info[_PENDING] = set()


def plan_changed(session: Session, event, clock: Clock) -> None:
    """Handler of the events that carry their plan."""
    mark(session, [event.plan_id], clock)


def employer_changed(session: Session, event, clock: Clock) -> None:
    """Handler of the events that carry only the employer (census changes, dead letters and their retries)."""
    if event.employer_id is None:
        return
    mark(session, session.scalars(select(Plan.id).where(Plan.employer_id == event.employer_id)), clock)
