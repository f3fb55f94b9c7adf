"""Which employers, plans and employees a caller may load: other tenants' ids answer NotFound (the rule itself is in
`backend/identity/policy.py`)."""
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.errors import NotFound
from backend.identity import policy
from backend.identity.service import Principal
from backend.plans.models import Employee, Employer, Plan


def employer_for(session: Session, principal: Principal, employer_id: str, *, write: bool = False,
                 missing: str = "No such employer.") -> Employer:
    """The employer if the caller may see it; otherwise NotFound, so ids of other employers reveal nothing. A caller
    that reached the employer through something it holds (a pay run, an exception) passes that thing's own
    `missing` detail: another tenant's pay run must read exactly as an unknown one."""
    employer = session.get(Employer, employer_id)
    if employer is None or not policy.may_see_employer(principal, employer):
        raise NotFound(missing)
    if write:
        policy.MANAGE_EMPLOYERS.check(principal)
    return employer


def plan_for(session: Session, principal: Principal, plan_id: str) -> Plan:
    plan = session.get(Plan, plan_id)
    if plan is None or not policy.may_see_employer(principal, plan.employer):
        raise NotFound("No such plan.")
    return plan


def employee_for(session: Session, principal: Principal, employee_id: str,
                 missing: str = "No such employee.") -> Employee:
    """The employee if the caller may see them; otherwise NotFound with `missing` (see employer_for)."""
    employee = session.get(Employee, employee_id)
    if employee is None or not policy.may_see_employee(principal, employee,
                                                       session.get(Employer, employee.employer_id)):
        raise NotFound(missing)
    return employee


def employers_visible_to(session: Session, principal: Principal) -> list[Employer]:
    query = select(Employer).order_by(Employer.created_at, Employer.id)
    if principal.role == "advisor":
        query = query.where(Employer.advisor_user_id == principal.user_id)
    elif principal.role == "sponsor_admin":
        query = query.where(Employer.id == principal.employer_id)
    elif principal.role != "platform_admin":
        return []
    return list(session.scalars(query))


def current_plan(session: Session, employer_id: str) -> Plan:
    plan = session.scalar(select(Plan).where(Plan.employer_id == employer_id).order_by(Plan.created_at.desc()).limit(1))
    if plan is None:
        raise NotFound("This employer has no plan.")
    return plan


def plan_ids(session: Session, *, employer_id: str | None = None, in_effect_on: date | None = None) -> list[str]:
    """Ids of the plans of an employer, or of every plan in effect on a day."""
    query = select(Plan.id)
    if employer_id is not None:
        query = query.where(Plan.employer_id == employer_id)
    if in_effect_on is not None:
        query = query.where(Plan.effective_date <= in_effect_on)
    return list(session.scalars(query))
