"""Eligibility kept current: each employee's determination (status, entry date, why) recomputed whenever the
census changes, read as time moves on (a waiting employee's entry date comes, a last day passes)."""
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.db import any_of, chunks
from backend.enrollment.eligibility import EligibilityRules, compute_eligibility, terminated_on
from backend.enrollment.models import EligibilityDetermination
from backend.events import CensusChanged
from backend.plans import service as plans
from backend.plans.models import Employee, Plan
from backend.plans.pii import PiiVault


def eligibility_rules(plan: Plan) -> EligibilityRules:
    return EligibilityRules(min_age=plan.min_age, service_months=plan.service_months,
                            entry_frequency=plan.entry_frequency,
                            plan_year_start=(plan.plan_year_start_month, plan.plan_year_start_day),
                            plan_effective_date=plan.effective_date, long_term_part_time=plan.long_term_part_time)


_UNREAD = object()


def determine_eligibility(session: Session, vault: PiiVault, employee: Employee, plan: Plan, today: date,
                          previous=_UNREAD) -> EligibilityDetermination:
    """Work the employee's eligibility out again and store it; `previous` is their stored determination when the
    caller has read it already (None: they have none)."""
    if previous is _UNREAD:
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
    # Read in a few queries, not one each: a pay run can credit hours to thousands of waiting people.
    ids = list(event.employee_ids)
    employees = plans.employees_by_id(session, ids)
    stored = {}
    for chunk in chunks(ids):
        stored.update((d.employee_id, d) for d in session.scalars(
            select(EligibilityDetermination).where(any_of(session, EligibilityDetermination.employee_id, chunk))))
    for employee_id in ids:
        determine_eligibility(session, vault, employees[employee_id], plan, event.on, stored.get(employee_id))


def eligibility_of(session: Session, employee_id: str) -> EligibilityDetermination | None:
    return session.get(EligibilityDetermination, employee_id)


def status_on(determination: EligibilityDetermination, today: date, employee: Employee) -> str:
    """The stored status is as of the last recompute; time moves on: a waiting employee whose entry date has come
    is eligible, and one whose last day has passed (without a later rehire) is terminated."""
    return _status_today(determination.status, determination.entry_date, employee.termination_date,
                         employee.rehire_date, today)


def _status_today(stored: str, entry_date: date | None, termination_date: date | None, rehire_date: date | None,
                  today: date) -> str:
    if terminated_on(termination_date, rehire_date, today):
        return "terminated"
    if stored == "waiting" and entry_date and entry_date <= today:
        return "eligible"
    return stored


def statuses_on(session: Session, employer_id: str, today: date) -> dict[str, str]:
    """Each of the employer's employees' eligibility status today (as `status_on` reads it), in one query; an
    employee with no determination yet is absent."""
    return {row.employee_id: _status_today(row.status, row.entry_date, row.termination_date, row.rehire_date, today)
            for row in session.execute(
                select(EligibilityDetermination.employee_id, EligibilityDetermination.status,
                       EligibilityDetermination.entry_date, Employee.termination_date, Employee.rehire_date)
                .join(Employee, Employee.id == EligibilityDetermination.employee_id)
                .where(Employee.employer_id == employer_id)).all()}


def entry_dates_and_statuses(session: Session, employer_id: str,
                             employee_id: str | None = None) -> dict[str, tuple[date | None, str]]:
    """(entry date, stored status) of each of the employer's employees with a determination; one query."""
    who = Employee.id == employee_id if employee_id else Employee.employer_id == employer_id
    return {row.employee_id: (row.entry_date, row.status) for row in session.execute(
        select(EligibilityDetermination.employee_id, EligibilityDetermination.entry_date,
               EligibilityDetermination.status)
        .join(Employee, Employee.id == EligibilityDetermination.employee_id).where(who)).all()}
