"""Presenters: the census as the API answers it. A page of employees is presented with one query for who has
signed up, whatever its length; eligibility comes from enrollment's presenter, composed by the blueprint."""
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.identity.models import User
from backend.money import cents_to_dollars, percent_str
from backend.plans.census import CensusResult
from backend.plans.invitations import invitation_status
from backend.plans.models import Employee
from backend.plans.pii import PiiVault


def employee_views(session: Session, vault: PiiVault, employees: list[Employee],
                   eligibility: dict[str, dict | None], signup_max_attempts: int) -> list[dict]:
    """Each employee's census record as staff see it, whether they signed up on the phone, where their invitation
    stands, and their eligibility as given. Nothing the sign-up proof uses: no invite code, no full date of birth
    (the year only), no SSN digits; with them a sponsor admin or the advisor could sign up as the employee."""
    signed_up = set(session.scalars(select(User.employee_id).where(User.employee_id.in_([e.id for e in employees]))))
    return [{
        "id": employee.id, "external_id": employee.external_id, "first_name": employee.first_name,
        "last_name": employee.last_name, "birth_year": vault.birth_year(employee.date_of_birth_enc),
        "email": employee.email, "phone": employee.phone,
        "hire_date": employee.hire_date, "rehire_date": employee.rehire_date,
        "termination_date": employee.termination_date,
        "annual_compensation": str(cents_to_dollars(employee.annual_compensation_cents)),
        "ownership_percent": percent_str(employee.ownership_percent), "officer": employee.officer,
        "hours_by_period": employee.hours_by_period or {}, "signed_up": employee.id in signed_up,
        "invitation": invitation_status(employee, employee.id in signed_up, signup_max_attempts),
        "eligibility": eligibility.get(employee.id),
    } for employee in employees]


def census_result_view(result: CensusResult) -> dict:
    return {"created": result.created, "updated": result.updated, "unchanged": result.unchanged,
            "employees": [{"id": e.id, "external_id": e.external_id}
                          for e in result.employees]}
