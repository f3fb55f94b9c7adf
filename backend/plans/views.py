"""Presenters: the census as the API answers it. A page of employees is presented with one query for who has
signed up, whatever its length; eligibility comes from enrollment's presenter, composed by the blueprint."""
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.identity.models import User
from backend.money import cents_to_dollars, percent_str
from backend.plans.census import CensusResult
from backend.plans.models import Employee
from backend.plans.pii import PiiVault


def employee_views(session: Session, vault: PiiVault, employees: list[Employee],
                   eligibility: dict[str, dict | None]) -> list[dict]:
    """Each employee's census record (the SSN never; its last four only), whether they signed up on the phone,
    and their eligibility as given."""
    signed_up = set(session.scalars(select(User.employee_id).where(User.employee_id.in_([e.id for e in employees]))))
    return [{
        "id": employee.id, "external_id": employee.external_id, "first_name": employee.first_name,
        "last_name": employee.last_name, "date_of_birth": vault.open_date(employee.date_of_birth_enc),
        "ssn_last4": employee.ssn_last4, "email": employee.email, "phone": employee.phone,
        "hire_date": employee.hire_date, "rehire_date": employee.rehire_date,
        "termination_date": employee.termination_date,
        "annual_compensation": str(cents_to_dollars(employee.annual_compensation_cents)),
        "ownership_percent": percent_str(employee.ownership_percent), "officer": employee.officer,
        "hours_by_period": employee.hours_by_period or {}, "invite_code": employee.invite_code,
        "signed_up": employee.id in signed_up, "eligibility": eligibility.get(employee.id),
    } for employee in employees]


def census_result_view(result: CensusResult) -> dict:
    return {"created": result.created, "updated": result.updated, "unchanged": result.unchanged,
            "employees": [{"id": e.id, "external_id": e.external_id, "invite_code": e.invite_code}
                          for e in result.employees]}
