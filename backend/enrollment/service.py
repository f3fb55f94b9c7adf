"""Eligibility upkeep, participant sign-up, deferral/investment elections, beneficiaries, and sponsor approvals."""
import hashlib
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.config import Config
from backend.db import any_of, utcnow
from backend.enrollment.eligibility import EligibilityRules, compute_eligibility
from backend.enrollment.models import (CATCH_UP_TYPES, Beneficiary, BeneficiaryDesignation,
                                       DeferralElection, EligibilityDetermination, ElectionLine, InvestmentAllocation,
                                       InvestmentElection, OutsideDeferral)
from backend.errors import Conflict, Forbidden, NotFound, TooManyAttempts, Unauthenticated, ValidationFailed
from backend.audit import Actor, record_audit
from backend.events import CensusChanged, ElectionApproved, publish
from backend.outbox import OutboxMessage, enqueue
from backend.identity import policy
from backend.identity.models import User
from backend.irs import limits as irs
from backend.identity.service import Principal, TokenPair, create_user, issue_tokens
from backend.money import HUNDRED, percent_of_cents, percent_str, round_half_up
from backend.plans import match as match_rules
from backend.plans import service as plans
from backend.plans.models import Employee, Employer, Plan
from backend.plans.pii import PiiVault
from backend.plans.schedules import next_pay_date, periods_per_year

ONE = Decimal(1)


# ---- eligibility -----------------------------------------------------------------------------------------------

def eligibility_rules(plan: Plan) -> EligibilityRules:
    return EligibilityRules(min_age=plan.min_age, service_months=plan.service_months,
                            entry_frequency=plan.entry_frequency,
                            plan_year_start=(plan.plan_year_start_month, plan.plan_year_start_day),
                            plan_effective_date=plan.effective_date, long_term_part_time=plan.long_term_part_time)


def determine_eligibility(session: Session, vault: PiiVault, employee: Employee, plan: Plan,
                          today: date) -> EligibilityDetermination:
    previous = session.get(EligibilityDetermination, employee.id)
    result = compute_eligibility(
        eligibility_rules(plan), date_of_birth=vault.open_date(employee.date_of_birth_enc),
        hire_date=employee.hire_date, as_of=today,
        hours_by_period={date.fromisoformat(k): v for k, v in (employee.hours_by_period or {}).items()},
        rehire_date=employee.rehire_date, termination_date=employee.termination_date,
        previously_met_date=_met_before_rehire(previous, employee))
    values = dict(plan_id=plan.id, status=result.status, conditions_met_date=result.conditions_met_date,
                  entry_date=result.entry_date, basis=result.basis, explanation=result.explanation)
    if previous is None:
        previous = EligibilityDetermination(employee_id=employee.id, **values)
        session.add(previous)
    else:
        for key, value in values.items():
            setattr(previous, key, value)
    return previous


def _met_before_rehire(previous: EligibilityDetermination | None, employee: Employee) -> date | None:
    """Conditions met in an earlier period of employment carry over to a rehire (IRC 410(a)(5))."""
    if previous is None or employee.rehire_date is None or previous.conditions_met_date is None:
        return None
    return previous.conditions_met_date if previous.conditions_met_date < employee.rehire_date else None


def refresh_eligibility(session: Session, event: CensusChanged, vault: PiiVault) -> None:
    """The census changed: eligibility and entry dates follow at once (handler of CensusChanged)."""
    plan = plans.current_plan(session, event.employer_id)
    for employee_id in event.employee_ids:
        determine_eligibility(session, vault, session.get(Employee, employee_id), plan, event.on)


def eligibility_of(session: Session, employee_id: str) -> EligibilityDetermination | None:
    return session.get(EligibilityDetermination, employee_id)


# ---- sign-up ---------------------------------------------------------------------------------------------------

def sign_up(session: Session, config: Config, vault: PiiVault, actor: Actor, *, invite_code: str,
            date_of_birth: date, ssn_last4: str, email: str, password: str) -> TokenPair:
    """A participant account for the employee holding `invite_code`, once they prove who they are."""
    employee = session.scalar(select(Employee).where(Employee.invite_code == invite_code.strip().upper()))
    if employee is None:
        raise NotFound("This invite code is not valid.", [("invite_code", "is not a code your employer issued")])
    if employee.signup_failures >= config.signup_max_attempts:
        raise TooManyAttempts("Too many failed attempts for this invite code; ask your employer for a new one.",
                              retry_after_seconds=86400)
    if session.scalar(select(User.id).where(User.employee_id == employee.id)):
        raise Conflict("An account already exists for this employee; log in instead.")
    if vault.open_date(employee.date_of_birth_enc) != date_of_birth or employee.ssn_last4 != ssn_last4:
        employee.signup_failures += 1
        left = config.signup_max_attempts - employee.signup_failures
        raise Unauthenticated(f"Date of birth or SSN does not match our records ({left} attempts left).",
                              keep_changes=True)
    user = create_user(session, config, email=email, password=password, role="participant",
                       employer_id=None, employee_id=employee.id)
    employee.signup_failures = 0
    record_audit(session, Actor(user.id, "participant", actor.ip, actor.user_agent), "participant.signed_up",
                 "employee", employee.id, {"email": user.email}, employer_id=employee.employer_id)
    return issue_tokens(session, config, user)


def participant_employee(session: Session, principal: Principal) -> Employee:
    policy.PARTICIPATE.check(principal)
    if not principal.employee_id:
        raise Forbidden("This is for participants.")
    employee = session.get(Employee, principal.employee_id)
    if employee is None:
        raise NotFound("No employee record is linked to this account.")
    return employee


# ---- deferral elections ----------------------------------------------------------------------------------------

@dataclass
class MatchPreview:
    deferral_percent: Decimal
    match_percent: Decimal
    annual_match_cents: int
    full_match_deferral_percent: Decimal
    max_match_percent: Decimal
    left_on_table_cents: int
    message: str


def age_at_year_end(vault: PiiVault, employee: Employee, year: int) -> int:
    dob = vault.open_date(employee.date_of_birth_enc)
    return year - dob.year


def validate_lines(plan: Plan, lines: list[dict], catch_up_eligible: bool) -> list[tuple[str, str]]:
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
    return problems


def preview_match(plan: Plan, employee: Employee, frequency: str, lines) -> MatchPreview:
    """What the employer's match will be at this election, and what more deferral would earn."""
    tiers = plans.match_tiers(plan)
    per_paycheck = Decimal(employee.annual_compensation_cents) / periods_per_year(frequency)
    percent = Decimal(0)
    for line in lines:
        if line["percent"] is not None:
            percent += line["percent"]
        elif per_paycheck > 0:
            percent += Decimal(line["amount_cents"]) * HUNDRED / per_paycheck
    percent = round_half_up(percent, 2)
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
                   f"${left / 100:,.2f} a year more.")
    else:
        message = f"You get the full employer match: {percent_str(max_pct)}% of your pay."
    return MatchPreview(percent, match_pct, annual, full_at, max_pct, max(left, 0), message)


def election_etag(election: DeferralElection) -> str:
    return hashlib.sha256(f"{election.id}:{election.version}:{election.status}".encode()).hexdigest()[:20]


def next_effective_date(session: Session, employee: Employee, employer: Employer, today: date) -> date:
    """The next pay date after today, or the entry date if that is later."""
    next_pay = next_pay_date(employer.pay_frequency, employer.anchor_pay_date, today)
    determination = eligibility_of(session, employee.id)
    if determination and determination.entry_date and determination.entry_date > next_pay:
        return determination.entry_date
    return next_pay


def _next_version(session: Session, model, employee_id: str) -> int:
    return (session.scalar(select(func.max(model.version)).where(model.employee_id == employee_id)) or 0) + 1


def submit_election(session: Session, vault: PiiVault, actor: Actor, employee: Employee, lines: list[dict],
                    today: date, kind: str = "election") -> DeferralElection:
    employer = session.get(Employer, employee.employer_id)
    plan = plans.current_plan(session, employer.id)
    determination = eligibility_of(session, employee.id)
    if determination is None or status_on(determination, today, employee) == "terminated":
        raise Forbidden("Only current employees can make elections.")
    effective = next_effective_date(session, employee, employer, today)
    problems = validate_lines(plan, lines, age_at_year_end(vault, employee, effective.year) >= irs.CATCH_UP_MIN_AGE)
    if problems:
        raise ValidationFailed(problems)
    for pending in session.scalars(select(DeferralElection).where(
            DeferralElection.employee_id == employee.id, DeferralElection.status == "pending_approval")):
        pending.status = "superseded"
        pending.decided_at = utcnow()
    election = DeferralElection(employee_id=employee.id, plan_id=plan.id,
                                version=_next_version(session, DeferralElection, employee.id), kind=kind,
                                status="pending_approval", effective_date=effective, submitted_by=actor.user_id)
    election.lines = [ElectionLine(position=i, money_type=line["money_type"], percent=line.get("percent"),
                                   amount_cents=line.get("amount_cents")) for i, line in enumerate(lines)]
    session.add(election)
    session.flush()
    record_audit(session, actor, "election.submitted", "election", election.id, employer_id=employer.id,
                 changes={"version": election.version, "kind": kind, "effective_date": effective.isoformat(),
                          "lines": [line_dict(l) for l in election.lines]})
    if not plan.requires_approval:
        _approve(session, Actor.system("auto_approval"), election, employer, today)
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


def line_dict(line: ElectionLine) -> dict:
    """An election line as payroll messages carry it."""
    return {"money_type": line.money_type, "percent": None if line.percent is None else percent_str(line.percent),
            "amount_cents": line.amount_cents}


def _approve(session: Session, actor: Actor, election: DeferralElection, employer: Employer, today: date) -> None:
    election.status = "approved"
    election.decided_at = utcnow()
    election.decided_by = actor.user_id
    # An approval that comes after the requested pay date applies from the next one.
    next_pay = next_pay_date(employer.pay_frequency, employer.anchor_pay_date, today)
    if election.effective_date < next_pay:
        election.effective_date = next_pay
    employee = session.get(Employee, election.employee_id)
    record_audit(session, actor, "election.approved", "election", election.id, employer_id=employer.id,
                 changes={"version": election.version, "effective_date": election.effective_date.isoformat()})
    # The message to payroll commits with the approval (outbox); the dispatcher delivers it.
    enqueue(session, "payroll.deferral_change", payroll_recipient(employer.id, employee.id), employer_id=employer.id,
            subject_id=election.id,
            payload={"action": "stop" if not election.lines else "set", "election_id": election.id,
                     "employee_id": employee.id, "external_id": employee.external_id, "version": election.version,
                     "kind": election.kind, "effective_date": election.effective_date.isoformat(),
                     "lines": [line_dict(l) for l in election.lines]})
    publish(session, ElectionApproved(election.plan_id, election.id, election.employee_id, today))


def payroll_recipient(employer_id: str, employee_id: str) -> str:
    """The ordering key of messages to payroll: one employee at one employer's payroll."""
    return f"payroll:{employer_id}:{employee_id}"


def payroll_stage(session: Session, election: DeferralElection) -> dict:
    """Where a change stands on its way to payroll: requested → approved → sent → confirmed → observed, or
    failed with the reason. Read from the election and its outbox message, so it is never out of step."""
    if election.status != "approved":
        stage = {"pending_approval": "requested"}.get(election.status, election.status)
        return {"stage": stage, "detail": election.rejection_reason}
    if election.observed_at:
        return {"stage": "observed", "detail": f"withheld as elected on the {election.observed_at} pay statement"}
    message = session.scalar(select(OutboxMessage).where(OutboxMessage.subject_id == election.id)
                             .order_by(OutboxMessage.seq.desc()).limit(1))
    if message is None:
        return {"stage": "approved", "detail": None}
    if message.status == "delivered":
        return {"stage": "confirmed", "detail": "payroll acknowledged the change"}
    if message.status == "dead":
        return {"stage": "failed", "detail": message.last_error}
    if message.status == "awaiting_pull" or message.attempts:
        return {"stage": "sent", "detail": message.last_error}
    return {"stage": "approved", "detail": None}


def election_for(session: Session, principal: Principal, election_id: str) -> DeferralElection:
    election = session.get(DeferralElection, election_id)
    if election is None:
        raise NotFound("No such election.")
    plans.employee_for(session, principal, election.employee_id)  # raises NotFound for others' elections
    return election


def decide(session: Session, actor: Actor, principal: Principal, election_id: str, etag: str | None,
           approve: bool, today: date, reason: str | None = None) -> DeferralElection:
    """Approve or reject one pending election. `etag` must be the one the sponsor read: if the participant has
    since made a newer election, this one is superseded and the decision is refused."""
    from backend.errors import PreconditionFailed

    policy.APPROVE_ELECTIONS.check(principal)
    election = election_for(session, principal, election_id)
    current = election_etag(election)
    if etag is not None and etag != current:
        raise PreconditionFailed("This election changed since you read it (the participant may have made a newer "
                                 "one); reload the queue.", [("If-Match", f"current ETag is {current}")])
    if election.status != "pending_approval":
        raise Conflict(f"This election is {election.status.replace('_', ' ')}, not waiting for approval.")
    employer = session.get(Employer, session.get(Employee, election.employee_id).employer_id)
    if approve:
        _approve(session, actor, election, employer, today)
    else:
        if not reason or not reason.strip():
            raise ValidationFailed([("reason", "is required to reject an election")])
        election.status = "rejected"
        election.decided_at = utcnow()
        election.decided_by = actor.user_id
        election.rejection_reason = reason.strip()
        record_audit(session, actor, "election.rejected", "election", election.id, employer_id=employer.id,
                     changes={"version": election.version, "reason": election.rejection_reason})
    return election


def approval_queue_query(plan_id: str):
    return select(DeferralElection).where(DeferralElection.plan_id == plan_id,
                                          DeferralElection.status == "pending_approval")


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


# ---- investments, beneficiaries, outside deferrals -------------------------------------------------------------

def set_investments(session: Session, actor: Actor, employee: Employee, allocations: list[dict] | None) -> InvestmentElection:
    """New contributions go to these funds; `None` means the plan's default fund (QDIA)."""
    plan = plans.current_plan(session, employee.employer_id)
    funds = {f.id: f for f in plan.funds}
    if allocations is None:
        allocations = [{"fund_id": plans.default_fund(plan).id, "percent": HUNDRED}]
    problems = []
    seen = set()
    for i, allocation in enumerate(allocations):
        if allocation["fund_id"] not in funds:
            problems.append((f"allocations[{i}].fund_id", "is not a fund on this plan's menu"))
        if allocation["fund_id"] in seen:
            problems.append((f"allocations[{i}].fund_id", "appears twice"))
        seen.add(allocation["fund_id"])
        if allocation["percent"] <= 0 or allocation["percent"] != allocation["percent"].quantize(Decimal("0.01")):
            problems.append((f"allocations[{i}].percent", "must be above 0 with at most two decimals"))
    if sum((a["percent"] for a in allocations), Decimal(0)) != HUNDRED:
        problems.append(("allocations", "percents must add up to exactly 100"))
    if problems:
        raise ValidationFailed(problems)
    election = InvestmentElection(employee_id=employee.id, version=_next_version(session, InvestmentElection, employee.id),
                                  created_by=actor.user_id)
    election.allocations = [InvestmentAllocation(position=i, fund_id=a["fund_id"], percent=a["percent"])
                            for i, a in enumerate(allocations)]
    session.add(election)
    session.flush()
    record_audit(session, actor, "investments.changed", "investment_election", election.id,
                 employer_id=employee.employer_id,
                 changes={"allocations": [{"fund": funds[a.fund_id].ticker, "percent": percent_str(a.percent)}
                                          for a in election.allocations]})
    return election


def current_investments(session: Session, employee_id: str) -> InvestmentElection | None:
    return session.scalar(select(InvestmentElection).where(InvestmentElection.employee_id == employee_id)
                          .order_by(InvestmentElection.version.desc()).limit(1))


def set_beneficiaries(session: Session, actor: Actor, employee: Employee, people: list[dict]) -> BeneficiaryDesignation:
    problems = []
    totals = {"primary": Decimal(0), "contingent": Decimal(0)}
    for i, person in enumerate(people):
        if person["percent"] <= 0:
            problems.append((f"beneficiaries[{i}].percent", "must be above 0"))
        totals[person["tier"]] += person["percent"]
    if totals["primary"] != HUNDRED:
        problems.append(("beneficiaries", "primary beneficiaries' shares must add up to 100"))
    if totals["contingent"] not in (Decimal(0), HUNDRED):
        problems.append(("beneficiaries", "contingent beneficiaries' shares must add up to 100 (or name none)"))
    if problems:
        raise ValidationFailed(problems)
    designation = BeneficiaryDesignation(employee_id=employee.id,
                                         version=_next_version(session, BeneficiaryDesignation, employee.id))
    designation.beneficiaries = [Beneficiary(position=i, tier=p["tier"], name=p["name"],
                                             relationship_to_participant=p["relationship"], percent=p["percent"])
                                 for i, p in enumerate(people)]
    session.add(designation)
    session.flush()
    record_audit(session, actor, "beneficiaries.changed", "beneficiary_designation", designation.id,
                 employer_id=employee.employer_id, changes={"version": designation.version, "count": len(people)})
    return designation


def current_beneficiaries(session: Session, employee_id: str) -> BeneficiaryDesignation | None:
    return session.scalar(select(BeneficiaryDesignation).where(BeneficiaryDesignation.employee_id == employee_id)
                          .order_by(BeneficiaryDesignation.version.desc()).limit(1))


def declare_outside_deferrals(session: Session, actor: Actor, employee: Employee, year: int, amount_cents: int,
                              other_employer: str | None, today: date) -> OutsideDeferral:
    """Deferrals at another employer in `year`; they count toward this person's 402(g) limit (IRC 402(g)(1))."""
    problems = []
    if year not in (today.year, today.year - 1):
        problems.append(("calendar_year", f"must be {today.year} (or {today.year - 1} until its limit is settled)"))
    if amount_cents < 0:
        problems.append(("amount_cents", "must not be negative"))
    if problems:
        raise ValidationFailed(problems)
    record = session.scalar(select(OutsideDeferral).where(OutsideDeferral.employee_id == employee.id,
                                                          OutsideDeferral.calendar_year == year))
    before = record.amount_cents if record else None
    if record is None:
        record = OutsideDeferral(employee_id=employee.id, calendar_year=year, amount_cents=amount_cents,
                                 other_employer=other_employer)
        session.add(record)
    else:
        record.amount_cents, record.other_employer = amount_cents, other_employer
    session.flush()
    record_audit(session, actor, "outside_deferrals.declared", "outside_deferral", record.id,
                 employer_id=employee.employer_id,
                 changes={"calendar_year": year, "amount_cents": {"from": before, "to": amount_cents}})
    return record


def outside_deferrals_of(session: Session, employee_id: str) -> list[OutsideDeferral]:
    return list(session.scalars(select(OutsideDeferral).where(OutsideDeferral.employee_id == employee_id)
                                .order_by(OutsideDeferral.calendar_year.desc())))


def status_on(determination: EligibilityDetermination, today: date, employee: Employee) -> str:
    """The stored status is as of the last recompute; time moves on: a waiting employee whose entry date has come
    is eligible, and one whose last day has passed (without a later rehire) is terminated."""
    ended = employee.termination_date
    if ended and ended <= today and not (employee.rehire_date and employee.rehire_date > ended):
        return "terminated"
    if determination.status == "waiting" and determination.entry_date and determination.entry_date <= today:
        return "eligible"
    return determination.status


def mark_observed(session: Session, election_ids: list[str], pay_date: date) -> None:
    """Payroll withheld what these elections ask on a pay statement: the change has arrived."""
    from sqlalchemy import update

    for start in range(0, len(election_ids), 5000):
        chunk = election_ids[start:start + 5000]
        session.execute(update(DeferralElection).where(any_of(session, DeferralElection.id, chunk),
                                                       DeferralElection.observed_at.is_(None))
                        .values(observed_at=pay_date).execution_options(synchronize_session=False))
