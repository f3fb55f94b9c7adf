"""Participant sign-up: the invite code sent to the employee, with the date of birth and the SSN's last four."""
from datetime import date

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.audit import Actor, record_audit
from backend.config import Config
from backend.errors import Conflict, Forbidden, NotFound, TooManyAttempts, Unauthenticated
from backend.identity import policy
from backend.identity.models import User
from backend.identity.service import Principal, TokenPair, create_user, issue_tokens
from backend.plans.invitations import invite_code_digest
from backend.plans.models import Employee
from backend.plans.pii import PiiVault


def sign_up(session: Session, config: Config, vault: PiiVault, actor: Actor, *, invite_code: str,
            date_of_birth: date, ssn_last4: str, email: str, password: str) -> TokenPair:
    """A participant account for the employee holding `invite_code`, once they prove who they are.

    The proof (README, "Signing up"): the code, sent only to the employee's census email or phone and stored only as
    a keyed digest, plus the date of birth and SSN last four, which the employer knows too and which only guard
    against a message that reached the wrong person. Each try spends one of `signup_max_attempts` before anything
    is compared: a conditional increment, so tries sent together cannot all pass the count. The code is spent by
    the sign-up (a signed-up employee's code answers like any unknown code)."""
    digest = invite_code_digest(vault, invite_code)
    # The increment is the transaction's first statement: on SQLite it then waits for the write lock rather than
    # failing on a snapshot that another try's increment made stale.
    employee_id = session.scalar(
        update(Employee).where(Employee.invite_code_hash == digest,
                               Employee.signup_failures < config.signup_max_attempts)
        .values(signup_failures=Employee.signup_failures + 1).returning(Employee.id))
    if employee_id is None:
        if session.scalar(select(Employee.id).where(Employee.invite_code_hash == digest)) is None:
            raise NotFound("This invite code is not valid.", [("invite_code", "is not a code your employer issued")])
        raise TooManyAttempts("Too many failed attempts for this invite code; ask your employer to send a new one.",
                              retry_after_seconds=86400)
    employee = session.get(Employee, employee_id)
    session.refresh(employee)
    if vault.open_date(employee.date_of_birth_enc) != date_of_birth or employee.ssn_last4 != ssn_last4:
        left = config.signup_max_attempts - employee.signup_failures
        raise Unauthenticated(f"Date of birth or SSN does not match our records ({left} attempts left).",
                              keep_changes=True)
    # Only someone who proved who they are learns that an account exists.
    if session.scalar(select(User.id).where(User.employee_id == employee.id)):
        raise Conflict("An account already exists for this employee; log in instead.")
    user = create_user(session, config, email=email, password=password, role="participant",
                       employer_id=None, employee_id=employee.id)
    employee.signup_failures = 0
    employee.invite_code_hash = None
    record_audit(session, Actor(user.id, "participant", actor.ip, actor.user_agent), "participant.signed_up",
                 "employee", employee.id, {"user_id": user.id, "email": user.email}, employer_id=employee.employer_id)
    return issue_tokens(session, config, user)


def participant_employee(session: Session, principal: Principal) -> Employee:
    policy.PARTICIPATE.check(principal)
    if not principal.employee_id:
        raise Forbidden("This is for participants.")
    employee = session.get(Employee, principal.employee_id)
    if employee is None:
        raise NotFound("No employee record is linked to this account.")
    return employee
