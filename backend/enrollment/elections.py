"""Deferral elections: validated lines (pre-tax, Roth, catch-up by age), versions, the match they earn, when they
take effect, and which one is in effect on a day."""
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from backend.audit import Actor, record_audit
from backend.db import any_of, chunks, utcnow
from backend.enrollment.approvals import approve_election
from backend.enrollment.determinations import eligibility_of, status_on
from backend.enrollment.models import CATCH_UP_TYPES, DeferralElection, ElectionLine, EligibilityDetermination
from backend.enrollment.payroll_messages import line_dict
from backend.errors import Conflict, Forbidden, ValidationFailed
from backend.events import ElectionAwaitingApproval, publish
from backend.irs import limits as irs
from backend.money import HUNDRED, format_dollars, percent_of_cents, percent_str, round_half_up
from backend.plans import match as match_rules
from backend.plans import service as plans
from backend.plans.models import Employee, Employer, Plan
from backend.plans.pii import PiiVault
from backend.plans.schedules import next_pay_date, periods_per_year


@dataclass
class MatchPreview:
    deferral_percent: Decimal
    match_percent: Decimal
    annual_match_cents: int
    full_match_deferral_percent: Decimal
    max_match_percent: Decimal
    left_on_table_cents: int
    message: str
    flag: str | None = None  # "amount exceeds pay": the lines ask more than a paycheck, so the match is capped at 100%


AMOUNT_EXCEEDS_PAY = "amount exceeds pay"


def age_at_year_end(vault: PiiVault, employee: Employee, year: int) -> int:
    """The age the employee attains by December 31 of `year` (IRC 414(v)(5))."""
    return year - vault.birth_year(employee.date_of_birth_enc)


def catch_up_eligible(vault: PiiVault, employee: Employee, year: int) -> bool:
    """Old enough for catch-up contributions in calendar `year`: 50 by its end (IRC 414(v)(5))."""
    return age_at_year_end(vault, employee, year) >= irs.CATCH_UP_MIN_AGE


def pay_per_paycheck(employee: Employee, frequency: str) -> Decimal:
    """The employee's census pay spread over the year's paychecks: what an amount election is taken from."""
    return Decimal(employee.annual_compensation_cents) / periods_per_year(frequency)


def percent_of_paycheck(lines, per_paycheck: Decimal) -> Decimal | None:
    """What the lines ask as a percent of one paycheck (flat amounts turned into percents), or None when they ask an
    amount of a paycheck of nothing."""
    percent = Decimal(0)
    for line in lines:
        if line.get("percent") is not None:
            percent += line["percent"]
        elif line.get("amount_cents"):
            if per_paycheck <= 0:
                return None
            percent += Decimal(line["amount_cents"]) * HUNDRED / per_paycheck
    return percent


def validate_lines(plan: Plan, lines: list[dict], catch_up_eligible: bool,
                   per_paycheck: Decimal | None = None) -> list[tuple[str, str]]:
    """Every problem with an election's lines. Given the pay per paycheck, lines asking more than all of it (flat
    amounts included) are refused too: no payroll can withhold more than it pays."""
    problems = []
    seen = set()
    total_percent = Decimal(0)
    for i, line in enumerate(lines):
        field = f"lines[{i}]"
        money_type = line["money_type"]
        if money_type in seen:
            problems.append((f"{field}.money_type", f"{money_type} appears twice; one line per money type"))
        seen.add(money_type)
        has_percent, has_amount = line.get("percent") is not None, line.get("amount_cents") is not None
        if has_percent == has_amount:
            problems.append((field, "give either percent or amount_cents, not both or neither"))
        if has_percent:
            total_percent += line["percent"]
        if money_type.startswith("roth") and not plan.roth_allowed:
            problems.append((f"{field}.money_type", "this plan does not allow Roth deferrals"))
        if money_type in CATCH_UP_TYPES:
            if not plan.catch_up_allowed:
                problems.append((f"{field}.money_type", "this plan does not allow catch-up contributions"))
            elif not catch_up_eligible:
                problems.append((f"{field}.money_type",
                                 f"catch-up contributions start the year you turn {irs.CATCH_UP_MIN_AGE} (IRC 414(v)(5))"))
    if total_percent > HUNDRED:
        problems.append(("lines", "percents add up to more than 100% of pay"))
    elif per_paycheck is not None and not problems:
        asked = percent_of_paycheck(lines, per_paycheck)
        if asked is None or asked > HUNDRED:
            problems.append(("lines", f"ask more than your pay per paycheck "
                                      f"({format_dollars(int(round_half_up(per_paycheck, 0)))} on the census)"))
    return problems


def preview_match(plan: Plan, employee: Employee, frequency: str, lines) -> MatchPreview:
    """What the employer's match will be at this election, and what more deferral would earn. An election asking
    more than a paycheck (a flat amount after a pay cut on the census) is priced at 100% of pay and flagged: a
    view of it must still answer, so the sponsor can see it and the participant can change it."""
    tiers = plans.match_tiers(plan)
    asked = percent_of_paycheck(lines, pay_per_paycheck(employee, frequency))
    flag = AMOUNT_EXCEEDS_PAY if asked is None or asked > HUNDRED else None
    percent = HUNDRED if flag else round_half_up(asked, 2)
    match_pct = match_rules.match_percent_of_pay(tiers, percent)
    full_at = match_rules.full_match_deferral_percent(tiers)
    max_pct = match_rules.max_match_percent_of_pay(tiers)
    annual = percent_of_cents(employee.annual_compensation_cents, match_pct)
    left = percent_of_cents(employee.annual_compensation_cents, max_pct) - annual
    if not tiers:
        message = "This plan has no employer match."
    elif left > 0:
        message = (f"Your employer matches {percent_str(match_pct)}% of your pay at this rate. Deferring "
                   f"{percent_str(full_at)}% would earn the full {percent_str(max_pct)}%: "
                   f"{format_dollars(left)} a year more.")
    else:
        message = f"You get the full employer match: {percent_str(max_pct)}% of your pay."
    if flag:
        message = ("This election asks more than your pay per paycheck, so payroll cannot withhold it in full. "
                   + message)
    return MatchPreview(percent, match_pct, annual, full_at, max_pct, max(left, 0), message, flag)


def next_effective_date(session: Session, employee: Employee, employer: Employer, today: date) -> date:
    """The next pay date after today, or the entry date if that is later."""
    next_pay = next_pay_date(employer.pay_frequency, employer.anchor_pay_date, today)
    determination = eligibility_of(session, employee.id)
    if determination and determination.entry_date and determination.entry_date > next_pay:
        return determination.entry_date
    return next_pay


def next_version(session: Session, model, employee_id: str) -> int:
    return (session.scalar(select(func.max(model.version)).where(model.employee_id == employee_id)) or 0) + 1


def submit_election(session: Session, vault: PiiVault, actor: Actor, employee: Employee, lines: list[dict],
                    today: date, kind: str = "election") -> DeferralElection:
    employer = session.get(Employer, employee.employer_id)
    plan = plans.current_plan(session, employer.id)
    determination = eligibility_of(session, employee.id)
    if determination is None or status_on(determination, today, employee) == "terminated":
        raise Forbidden("Only current employees can make elections.")
    effective = next_effective_date(session, employee, employer, today)
    problems = validate_lines(plan, lines, catch_up_eligible(vault, employee, effective.year),
                              pay_per_paycheck(employee, employer.pay_frequency))
    if problems:
        raise ValidationFailed(problems)
    for pending in session.scalars(select(DeferralElection).where(
            DeferralElection.employee_id == employee.id, DeferralElection.status == "pending_approval")):
        pending.status = "superseded"
        pending.decided_at = utcnow()
    election = DeferralElection(employee_id=employee.id, plan_id=plan.id,
                                version=next_version(session, DeferralElection, employee.id), kind=kind,
                                status="pending_approval", effective_date=effective, submitted_by=actor.user_id)
    election.lines = [ElectionLine(position=i, money_type=line["money_type"], percent=line.get("percent"),
                                   amount_cents=line.get("amount_cents")) for i, line in enumerate(lines)]
    session.add(election)
    session.flush()
    record_audit(session, actor, "election.submitted", "election", election.id, employer_id=employer.id,
                 changes={"version": election.version, "kind": kind, "effective_date": effective.isoformat(),
                          "lines": [line_dict(l) for l in election.lines]})
    if not plan.requires_approval:
        approve_election(session, Actor.system("auto_approval"), election, employer, today)
    else:
        publish(session, ElectionAwaitingApproval(plan.id, employer.id, election.id, employee.id, today))
    return election


def opt_out(session: Session, vault: PiiVault, actor: Actor, employee: Employee, today: date) -> tuple[DeferralElection, bool]:
    """Stop deferring. Inside the plan's window after automatic enrollment began, the automatic contributions may
    also be withdrawn (IRC 414(w)(2)); returns the election and whether that withdrawal is available."""
    plan = plans.current_plan(session, employee.employer_id)
    if not plan.auto_enroll:
        raise Conflict("This plan has no automatic enrollment to opt out of; elect 0% instead.")
    first_auto = session.scalar(select(func.min(DeferralElection.effective_date)).where(
        DeferralElection.employee_id == employee.id, DeferralElection.kind == "auto_enroll",
        DeferralElection.status == "approved"))
    withdrawal = first_auto is None or today <= first_auto + timedelta(days=plan.opt_out_window_days or 0)
    election = submit_election(session, vault, actor, employee, [], today, kind="opt_out")
    return election, withdrawal


def elections_of(session: Session, employee_id: str) -> list[DeferralElection]:
    return list(session.scalars(select(DeferralElection).where(DeferralElection.employee_id == employee_id)
                                .order_by(DeferralElection.version.desc())))


def election_in_effect(session: Session, employee_id: str, as_of: date) -> DeferralElection | None:
    return session.scalar(select(DeferralElection).where(
        DeferralElection.employee_id == employee_id, DeferralElection.status == "approved",
        DeferralElection.effective_date <= as_of).order_by(DeferralElection.effective_date.desc(),
                                                           DeferralElection.version.desc()).limit(1))


def scheduled_election(session: Session, employee_id: str, as_of: date) -> DeferralElection | None:
    return session.scalar(select(DeferralElection).where(
        DeferralElection.employee_id == employee_id, DeferralElection.status == "approved",
        DeferralElection.effective_date > as_of).order_by(DeferralElection.version.desc()).limit(1))


def mark_observed(session: Session, election_ids: list[str], pay_date: date) -> None:
    """Payroll withheld what these elections ask on a pay statement: the change has arrived."""
    for chunk in chunks(election_ids):
        session.execute(update(DeferralElection).where(any_of(session, DeferralElection.id, chunk),
                                                       DeferralElection.observed_at.is_(None))
                        .values(observed_at=pay_date).execution_options(synchronize_session=False))


# Named tuples rather than frozen dataclasses: a plan's elections are read whole (tens of thousands of lines for a pay
# run or a compliance recompute), and a tuple is built in a fraction of the time.
class LineTerms(NamedTuple):
    """One line of an approved election: a money type at a percent of pay or a flat amount per paycheck."""

    money_type: str
    percent: Decimal | None
    amount_cents: int | None

    def cents_of(self, pay_cents: int) -> int:
        """What this line withholds from a paycheck of `pay_cents`."""
        return self.amount_cents if self.amount_cents is not None else percent_of_cents(pay_cents, self.percent)


class ElectionTerms(NamedTuple):
    """An approved election as payroll and the compliance projection read it: plain values, no ORM object."""

    id: str
    employee_id: str
    version: int
    kind: str
    effective_date: date
    observed_at: date | None
    lines: tuple[LineTerms, ...]


def approved_elections(session: Session, plan_id: str, *, effective_by: date | None = None,
                       employee_id: str | None = None) -> dict[str, list[ElectionTerms]]:
    """Every approved election of the plan (those taking effect by `effective_by` when given), by employee, in
    the order they take effect: the one in effect on a day is the last one effective by then. One query for
    the whole plan, whatever its size."""
    scope = [DeferralElection.plan_id == plan_id, DeferralElection.status == "approved"]
    if effective_by is not None:
        scope.append(DeferralElection.effective_date <= effective_by)
    if employee_id is not None:
        scope.append(DeferralElection.employee_id == employee_id)
    by_employee: dict[str, list[ElectionTerms]] = {}
    election, lines = None, []
    for election_id, who, version, kind, effective, observed, money_type, percent, amount in session.execute(
            select(DeferralElection.id, DeferralElection.employee_id, DeferralElection.version, DeferralElection.kind,
                   DeferralElection.effective_date, DeferralElection.observed_at, ElectionLine.money_type,
                   ElectionLine.percent, ElectionLine.amount_cents)
            .outerjoin(ElectionLine, ElectionLine.election_id == DeferralElection.id).where(*scope)
            .order_by(DeferralElection.effective_date, DeferralElection.version, DeferralElection.id,
                      ElectionLine.position)):
        if election is None or election[0] != election_id:
            if election is not None:
                by_employee.setdefault(election[1], []).append(ElectionTerms(*election, tuple(lines)))
            election, lines = (election_id, who, version, kind, effective, observed), []
        if money_type is not None:
            lines.append(LineTerms(money_type, percent, amount))
    if election is not None:
        by_employee.setdefault(election[1], []).append(ElectionTerms(*election, tuple(lines)))
    return by_employee


def participation_counts(session: Session, plan_id: str, today: date) -> tuple[int, int]:
    """(eligible, enrolled) employees of the plan today: eligible as determined (a waiting employee whose entry
    date has come counts), enrolled when eligible and their latest approved election (in effect, or taking effect
    at a coming pay date) withholds something: an opt-out is not enrolled."""
    eligible = {who for who, status, entry in session.execute(
        select(EligibilityDetermination.employee_id, EligibilityDetermination.status,
               EligibilityDetermination.entry_date).where(EligibilityDetermination.plan_id == plan_id))
        if status == "eligible" or (status == "waiting" and entry is not None and entry <= today)}
    in_effect = approved_elections(session, plan_id)
    enrolled = sum(1 for who in eligible
                   if who in in_effect and any((line.percent or 0) > 0 or (line.amount_cents or 0) > 0
                                               for line in in_effect[who][-1].lines))
    return len(eligible), enrolled
