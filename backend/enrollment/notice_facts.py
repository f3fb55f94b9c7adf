"""What the participant notices and nudges need to know about enrollment, read in batches: who may join and the
match the full-match rate would earn them, automatic enrollments and escalations still to come, who has not
enrolled, and what an election sent to payroll asked. Plain values, a few queries whatever the number of people."""
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from backend.db import any_of, chunks
from backend.enrollment.automatic import ESCALATION_RELEASE_DAYS
from backend.enrollment.eligibility import terminated_on
from backend.enrollment.models import DeferralElection, ElectionLine, EligibilityDetermination
from backend.money import percent_of_cents
from backend.plans import match as match_rules
from backend.plans import service as plans
from backend.plans.models import Employee, Plan


@dataclass(frozen=True)
class MatchOutlook:
    """What the plan's match formula offers one employee: the deferral percent that earns all of it (a percent of
    pay, e.g. 5), and the match that rate earns on their census pay over a year (0 in a plan without a match)."""

    full_match_percent: Decimal
    annual_match_cents: int


@dataclass(frozen=True)
class Joinable:
    """An employee who may join the plan (now or from the entry date), with the match they would get."""

    employee_id: str
    entry_date: date
    outlook: MatchOutlook


def _outlook(tiers, annual_pay_cents: int) -> MatchOutlook:
    full = match_rules.full_match_deferral_percent(tiers)
    return MatchOutlook(full, percent_of_cents(annual_pay_cents, match_rules.max_match_percent_of_pay(tiers))
                        if tiers else 0)


def match_outlooks(session: Session, plan_id: str, employee_ids) -> dict[str, MatchOutlook]:
    """Each employee's match outlook under the plan's formula, on their census pay (one query per 5,000)."""
    tiers = plans.match_tiers(session.get(Plan, plan_id))
    ids = list(dict.fromkeys(employee_ids))
    found = {}
    for chunk in chunks(ids):
        for employee_id, pay in session.execute(select(Employee.id, Employee.annual_compensation_cents)
                                                .where(any_of(session, Employee.id, chunk))):
            found[employee_id] = _outlook(tiers, pay or 0)
    return found


def joinable(session: Session, employee_ids, today: date) -> list[Joinable]:
    """Those of `employee_ids` who are eligible or waiting for a known entry date and still employed today."""
    ids = list(dict.fromkeys(employee_ids))
    rows = []
    for chunk in chunks(ids):
        rows += session.execute(
            select(EligibilityDetermination.employee_id, EligibilityDetermination.plan_id,
                   EligibilityDetermination.entry_date, Employee.annual_compensation_cents,
                   Employee.termination_date, Employee.rehire_date)
            .join(Employee, Employee.id == EligibilityDetermination.employee_id)
            .where(any_of(session, EligibilityDetermination.employee_id, chunk),
                   EligibilityDetermination.status.in_(("eligible", "waiting")),
                   EligibilityDetermination.entry_date.is_not(None))).all()
    tiers = {plan_id: plans.match_tiers(session.get(Plan, plan_id)) for plan_id in {r.plan_id for r in rows}}
    return [Joinable(r.employee_id, r.entry_date, _outlook(tiers[r.plan_id], r.annual_compensation_cents or 0))
            for r in rows if not terminated_on(r.termination_date, r.rehire_date, today)]


def entry_dates_of(session: Session, employee_ids) -> dict[str, tuple[date | None, str]]:
    """(entry date, stored status) of each of these employees with a determination (one query per 5,000)."""
    found = {}
    for chunk in chunks(list(dict.fromkeys(employee_ids))):
        found.update((who, (entry, status)) for who, entry, status in session.execute(
            select(EligibilityDetermination.employee_id, EligibilityDetermination.entry_date,
                   EligibilityDetermination.status).where(any_of(session, EligibilityDetermination.employee_id, chunk))))
    return found


def not_enrolled(session: Session, entered_by: date, today: date) -> list[Joinable]:
    """Employees whose entry date is on or before `entered_by`, still employed, who have never made an election of
    any kind (no election, opt-out, automatic enrollment or escalation): one query."""
    has_election = select(DeferralElection.id).where(DeferralElection.employee_id == Employee.id).exists()
    rows = session.execute(
        select(EligibilityDetermination.employee_id, EligibilityDetermination.plan_id,
               EligibilityDetermination.entry_date, Employee.annual_compensation_cents, Employee.termination_date,
               Employee.rehire_date)
        .join(Employee, Employee.id == EligibilityDetermination.employee_id)
        .where(EligibilityDetermination.status.in_(("eligible", "waiting")),
               EligibilityDetermination.entry_date <= entered_by, ~has_election)).all()
    tiers = {plan_id: plans.match_tiers(session.get(Plan, plan_id)) for plan_id in {r.plan_id for r in rows}}
    return [Joinable(r.employee_id, r.entry_date, _outlook(tiers[r.plan_id], r.annual_compensation_cents or 0))
            for r in rows if not terminated_on(r.termination_date, r.rehire_date, today)]


@dataclass(frozen=True)
class PlatformChange:
    """An automatic enrollment or escalation still to take effect."""

    election_id: str
    employee_id: str
    kind: str
    effective_date: date
    percent: Decimal  # of pay, every line together


def _percent(lines) -> Decimal:
    return sum((line.percent or Decimal(0) for line in lines), Decimal(0))


def coming_platform_changes(session: Session, today: date) -> list[PlatformChange]:
    """Automatic enrollments (approved, not yet in effect) and escalations (scheduled, not skipped) taking effect
    after today, where the employee has made no later election (an opt-out or their own choice replaced it)."""
    later = aliased(DeferralElection)
    newer = select(later.id).where(later.employee_id == DeferralElection.employee_id,
                                   later.version > DeferralElection.version,
                                   later.status.in_(("approved", "pending_approval"))).exists()
    elections = session.scalars(select(DeferralElection).where(
        DeferralElection.effective_date > today, ~newer,
        ((DeferralElection.kind == "auto_enroll") & (DeferralElection.status == "approved"))
        | ((DeferralElection.kind == "escalation") & (DeferralElection.status == "scheduled")))).all()
    lines = _lines_of(session, [e.id for e in elections])
    return [PlatformChange(e.id, e.employee_id, e.kind, e.effective_date, _percent(lines.get(e.id, ())))
            for e in elections]


def _lines_of(session: Session, election_ids: list[str]) -> dict[str, list[ElectionLine]]:
    by_election: dict[str, list[ElectionLine]] = {}
    for chunk in chunks(election_ids):
        for line in session.scalars(select(ElectionLine).where(any_of(session, ElectionLine.election_id, chunk))
                                    .order_by(ElectionLine.position)):
            by_election.setdefault(line.election_id, []).append(line)
    return by_election


@dataclass(frozen=True)
class ElectionChange:
    """What an election asked payroll: its kind, when it takes effect, its rate (None when a line is a flat amount)
    and whether it restarts deferrals after an opt-out."""

    election_id: str
    employee_id: str
    kind: str
    effective_date: date
    percent: Decimal | None
    stops: bool  # it asks nothing (an opt-out, or 0%)
    restarts: bool  # the election before it stopped deferrals


def election_change(session: Session, election_id: str) -> ElectionChange | None:
    """The election a payroll message carried, or None when the subject is not an election."""
    election = session.get(DeferralElection, election_id)
    if election is None:
        return None
    lines = list(election.lines)
    asks = [line for line in lines if (line.percent or 0) > 0 or (line.amount_cents or 0) > 0]
    previous = session.scalar(select(DeferralElection).where(
        DeferralElection.employee_id == election.employee_id, DeferralElection.status == "approved",
        DeferralElection.version < election.version).order_by(DeferralElection.version.desc()).limit(1))
    previous_stopped = previous is not None and not any(
        (line.percent or 0) > 0 or (line.amount_cents or 0) > 0 for line in previous.lines)
    percent = None if any(line.amount_cents is not None for line in lines) else _percent(lines)
    return ElectionChange(election.id, election.employee_id, election.kind, election.effective_date, percent,
                          stops=not asks, restarts=bool(asks) and previous_stopped)


def escalation_skip_deadline(effective: date) -> date:
    """The last day an escalation can be skipped: the daily pass sends it to payroll `ESCALATION_RELEASE_DAYS` before
    it takes effect, and only a scheduled one can be skipped."""
    return effective - timedelta(days=ESCALATION_RELEASE_DAYS + 1)


def opt_out_deadline(effective: date) -> date:
    """The last day an opt-out keeps the first automatic deferral from being taken: an opt-out takes effect on the
    next pay date after the day it is made (elections.next_effective_date), so one made the day before the
    automatic enrollment's first pay date replaces it on that very paycheck."""
    return effective - timedelta(days=1)

