"""Participant sign-up: an invite code from the employer, proven with the date of birth and the SSN's last four."""
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.audit import Actor, record_audit
from backend.config import Config
from backend.errors import Conflict, Forbidden, NotFound, TooManyAttempts, Unauthenticated
from backend.identity import policy
from backend.identity.models import User
from backend.identity.service import Principal, TokenPair, create_user, issue_tokens
from backend.plans.models import Employee
from backend.plans.pii import PiiVault


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
