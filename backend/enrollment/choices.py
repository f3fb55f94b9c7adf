"""The participant's other choices: investments for new contributions, beneficiaries, deferrals at other employers."""
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.accounts.money_in import money_in_by_source
from backend.audit import Actor, record_audit
from backend.enrollment.elections import age_at_year_end, next_version
from backend.enrollment.models import (MONEY_TYPES, Beneficiary, BeneficiaryDesignation, InvestmentAllocation,
                                       InvestmentElection, OutsideDeferral)
from backend.errors import ValidationFailed
from backend.irs.deferrals import deferral_limit_cents, deferral_room_cents
from backend.money import HUNDRED, percent_str
from backend.plans import service as plans
from backend.plans.models import Employee
from backend.plans.pii import PiiVault


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
    election = InvestmentElection(employee_id=employee.id, version=next_version(session, InvestmentElection, employee.id),
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
                                         version=next_version(session, BeneficiaryDesignation, employee.id))
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


def beneficiary_count(session: Session, employee_id: str) -> int:
    """How many beneficiaries the participant's current designation names (what staff may know of it: not who)."""
    latest = select(func.max(BeneficiaryDesignation.version)).where(
        BeneficiaryDesignation.employee_id == employee_id).scalar_subquery()
    return session.scalar(select(func.count(Beneficiary.id))
                          .join(BeneficiaryDesignation, BeneficiaryDesignation.id == Beneficiary.designation_id)
                          .where(BeneficiaryDesignation.employee_id == employee_id,
                                 BeneficiaryDesignation.version == latest)) or 0


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


def allocations_by_employee(session: Session, employer_id: str,
                            employee_id: str | None = None) -> dict[str, list[tuple[str, Decimal]]]:
    """Each employee's current investment choice as [(fund id, percent)]; absent: the plan's default fund."""
    who = Employee.id == employee_id if employee_id else Employee.employer_id == employer_id
    allocations: dict[str, list[tuple[str, Decimal]]] = {}
    latest: dict[str, int] = {}
    for employee_id, version, fund_id, percent in session.execute(
            select(InvestmentElection.employee_id, InvestmentElection.version, InvestmentAllocation.fund_id,
                   InvestmentAllocation.percent)
            .join(InvestmentAllocation, InvestmentAllocation.investment_election_id == InvestmentElection.id)
            .join(Employee, Employee.id == InvestmentElection.employee_id).where(who)
            .order_by(InvestmentElection.version, InvestmentAllocation.position)).all():
        if latest.get(employee_id) != version:
            latest[employee_id] = version
            allocations[employee_id] = []
        allocations[employee_id].append((fund_id, percent))
    return allocations


def outside_deferrals_in_year(session: Session, employer_id: str, year: int,
                              employee_id: str | None = None) -> dict[str, int]:
    """Deferrals the employer's employees declared at other employers in calendar `year` (402(g) counts them)."""
    who = Employee.id == employee_id if employee_id else Employee.employer_id == employer_id
    return {employee: cents for employee, cents in session.execute(
        select(OutsideDeferral.employee_id, OutsideDeferral.amount_cents)
        .join(Employee, Employee.id == OutsideDeferral.employee_id)
        .where(who, OutsideDeferral.calendar_year == year)).all()}


def deferral_limits(session: Session, vault: PiiVault, employee: Employee, year: int) -> dict:
    """The participant's calendar year against 402(g): deferred here (every column, corrections netted) and at
    other employers, the limit with the catch-up their age allows, and what is left (IRC 402(g)(1), 414(v))."""
    plan = plans.current_plan(session, employee.employer_id)
    here = sum(money_in_by_source(session, plan.id, date(year, 1, 1), date(year, 12, 31), employee_id=employee.id,
                                  sources=MONEY_TYPES).get(employee.id, {}).values())
    elsewhere = outside_deferrals_in_year(session, employee.employer_id, year, employee.id).get(employee.id, 0)
    age = age_at_year_end(vault, employee, year)
    base = deferral_limit_cents(year, None)
    return {"calendar_year": year, "deferred_here_cents": here, "deferred_elsewhere_cents": elsewhere,
            "deferred_total_cents": here + elsewhere, "limit_402g_cents": base,
            "catch_up_limit_cents": deferral_limit_cents(year, age) - base,
            "total_limit_cents": deferral_limit_cents(year, age),
            "remaining_cents": deferral_room_cents(year, age, here, elsewhere)}
