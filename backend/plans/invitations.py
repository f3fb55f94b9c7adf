"""Invitations reach people directly, never through staff: an employee's invite code goes to the email or phone on
the census, a sponsor admin's token to the address the advisor gave. Staff can resend (which voids the old code or
token), never read. Each message is an outbox message on the `invitation` topic whose secret is sealed with the PII
vault, so the outbox table does not hold it in clear either; the notifications layer opens it when it delivers.

The sign-up proof (see README, "Signing up"): the invite code, which only the employee receives, plus the date of
birth and the SSN's last four digits. The employer knows those two already, so they guard only against a message
that reached the wrong person; the code is what the employer's own records cannot give.
"""
import secrets
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.audit import Actor, record_audit
from backend.db import utcnow
from backend.errors import Conflict, NotFound
from backend.identity import policy
from backend.identity import service as identity
from backend.identity.models import Invitation, RefreshToken, User
from backend.identity.service import Principal
from backend.outbox import enqueue
from backend.plans.access import employee_for, employer_for
from backend.plans.models import Employee, Employer
from backend.plans.pii import PiiVault

TOPIC = "invitation"

_INVITE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I/L: people read these aloud
INVITE_CODE_LENGTH = 10


def new_invite_code() -> str:
    return "".join(secrets.choice(_INVITE_ALPHABET) for _ in range(INVITE_CODE_LENGTH))


def invite_code_digest(vault: PiiVault, code: str) -> str:
    """A keyed digest: the code space (31^10) is small enough that a plain hash in a stolen table could be reversed."""
    return vault.fingerprint("invite-code:" + code.strip().upper())


def contact(employee: Employee) -> dict:
    return {"email": employee.email, "phone": employee.phone}


def has_contact(employee: Employee) -> bool:
    return bool(employee.email or employee.phone)


def _line(vault: PiiVault, who: str, to: dict) -> str:
    """The outbox line of messages to one person at one contact. A message that bounced for good (a wrong address)
    holds back only its own line: the message sent after the census corrects the contact goes out on a new one.
    The contact appears as a keyed digest, never in clear."""
    address = "|".join(value or "" for value in (to.get("email"), to.get("phone")))
    return f"invitee/{who}/{vault.fingerprint('contact:' + address.lower())[:16]}"


def _message(vault: PiiVault, kind: str, recipient: str, to: dict, employer_id: str | None, subject_id: str | None,
             *, secret: str | None = None, **fields) -> dict:
    """One invitation message as `enqueue`'s arguments; the code or token in it sealed with the PII vault."""
    payload = {"kind": kind, "to": to, **fields}
    if secret is not None:
        payload["secret_sealed"] = vault.seal(secret).decode()
    return {"topic": TOPIC, "recipient": _line(vault, recipient, to), "payload": payload, "employer_id": employer_id,
            "subject_id": subject_id}


def _send(session: Session, vault: PiiVault, kind: str, recipient: str, to: dict, employer_id: str | None,
          subject_id: str | None, *, secret: str | None = None, **fields) -> None:
    enqueue(session, **_message(vault, kind, recipient, to, employer_id, subject_id, secret=secret, **fields))


def issue_invite_code(session: Session, vault: PiiVault, employer: Employer, employee: Employee,
                      reason: str = "new") -> bool:
    """A fresh code for the employee (the old one void, the attempts counter reset), sent to the census contact.
    False when the census has no email or phone to send it to (no code then: nobody could receive it)."""
    employee.signup_failures = 0
    if not has_contact(employee):
        employee.invite_code_hash = None
        return False
    code = new_invite_code()
    employee.invite_code_hash = invite_code_digest(vault, code)
    _send(session, vault, "participant_invitation", employee.id, contact(employee), employer.id,
          employee.id, secret=code, first_name=employee.first_name, employer_name=employer.name, reason=reason)
    return True


def invite_new_employees(vault: PiiVault, employer: Employer, rows: list[dict]) -> list[dict]:
    """issue_invite_code for employees about to be inserted in bulk (a census's new rows, as dicts): each row with
    a contact gets its code's digest, and the messages carrying the codes come back as `enqueue_many`'s rows, for
    the caller to queue once the rows are stored. A census of a hundred thousand people costs two statements, not
    two hundred thousand."""
    messages = []
    for row in rows:
        row["signup_failures"] = 0
        to = {"email": row.get("email"), "phone": row.get("phone")}
        if not (to["email"] or to["phone"]):
            row["invite_code_hash"] = None
            continue
        code = new_invite_code()
        row["invite_code_hash"] = invite_code_digest(vault, code)
        messages.append(_message(vault, "participant_invitation", row["id"], to, employer.id, row["id"], secret=code,
                                 first_name=row.get("first_name"), employer_name=employer.name, reason="new"))
    return messages


def is_signed_up(session: Session, employee_id: str) -> bool:
    return session.scalar(select(User.id).where(User.employee_id == employee_id)) is not None


def contact_changed(session: Session, vault: PiiVault, actor: Actor, employer: Employer, employee: Employee,
                    old: dict) -> None:
    """The census changed an employee's email or phone. A pending code went to the old contact: it is voided, a
    new one goes to the new contact, and the old contact is told (if someone changed it who should not have, the
    employee hears of it). Nothing changes for someone who has signed up already."""
    if is_signed_up(session, employee.id):
        return
    had_code = employee.invite_code_hash is not None
    sent = issue_invite_code(session, vault, employer, employee, reason="contact_changed")
    if had_code and (old.get("email") or old.get("phone")):
        _send(session, vault, "contact_changed", employee.id, old, employer.id, employee.id,
              first_name=employee.first_name, employer_name=employer.name)
    # Voided when a code was out; otherwise the new contact is simply the first place a code can go.
    record_audit(session, actor, "employee.invitation_voided" if had_code else "employee.invitation_sent", "employee",
                 employee.id, {"reason": "contact_changed", "new_code_sent": sent}, employer_id=employer.id)


def _employee_and_employer(session: Session, principal: Principal, employee_id: str) -> tuple[Employee, Employer]:
    employee = employee_for(session, principal, employee_id)
    return employee, session.get(Employer, employee.employer_id)


def resend_employee_invitation(session: Session, vault: PiiVault, actor: Actor, principal: Principal,
                               employee_id: str) -> dict:
    """Staff asked: a new code to the employee's census contact, the old one void and the attempts counter reset
    (this is also how a code locked by wrong guesses is reissued)."""
    policy.MANAGE_EMPLOYERS.check(principal)
    employee, employer = _employee_and_employer(session, principal, employee_id)
    if is_signed_up(session, employee.id):
        raise Conflict("This employee has signed up already; there is no invitation to resend.")
    if not has_contact(employee):
        raise Conflict("The census has no email or phone for this employee; add one, and the invitation is sent.",
                       [("email", "is needed (or a phone) to send the invitation")])
    issue_invite_code(session, vault, employer, employee, reason="resent")
    record_audit(session, actor, "employee.invitation_resent", "employee", employee.id,
                 {"sent_to": _channels(employee)}, employer_id=employer.id)
    return {"employee_id": employee.id, "sent_to": _channels(employee)}


def _channels(employee: Employee) -> list[str]:
    return [name for name in ("email", "phone") if getattr(employee, name)]


def unlink_account(session: Session, vault: PiiVault, actor: Actor, principal: Principal, employee_id: str,
                   reason: str) -> dict:
    """The sponsor says the participant account on this employee was claimed by the wrong person: the account is
    detached and disabled (its sessions end), the employee is told at the census contact, and a new code lets them
    sign up again. Recorded with the staff user who did it."""
    policy.UNLINK_ACCOUNTS.check(principal)
    employee, employer = _employee_and_employer(session, principal, employee_id)
    user = session.scalar(select(User).where(User.employee_id == employee.id).with_for_update())
    if user is None:
        raise NotFound("No participant account is linked to this employee.")
    user.employee_id, user.disabled = None, True
    session.execute(update(RefreshToken).where(RefreshToken.user_id == user.id, RefreshToken.revoked_at.is_(None))
                    .values(revoked_at=utcnow()))
    session.flush()
    if has_contact(employee):
        _send(session, vault, "account_unlinked", employee.id, contact(employee), employer.id,
              employee.id, first_name=employee.first_name, employer_name=employer.name)
    sent = issue_invite_code(session, vault, employer, employee, reason="account_unlinked")
    record_audit(session, actor, "participant.unlinked", "employee", employee.id,
                 {"user_id": user.id, "email": user.email, "reason": reason, "new_code_sent": sent},
                 employer_id=employer.id)
    return {"employee_id": employee.id, "unlinked_user_id": user.id, "new_code_sent_to": _channels(employee)}


def invitation_status(employee: Employee, signed_up: bool, max_attempts: int) -> str:
    """What staff may know of an employee's invitation: whether one is out, not what it says."""
    if signed_up:
        return "accepted"
    if employee.invite_code_hash is None:
        return "none"
    return "locked" if employee.signup_failures >= max_attempts else "sent"


# ---- sponsor admins ----------------------------------------------------------------------------------------------

def invite_sponsor_admin(session: Session, vault: PiiVault, employer: Employer, email: str,
                         created_by: str | None) -> Invitation:
    """The sponsor admin's invitation, sent to them; the advisor who asked gets its address and expiry only."""
    invitation, token = identity.create_invitation(session, email=email, role="sponsor_admin",
                                                   employer_id=employer.id, created_by=created_by)
    _send(session, vault, "sponsor_invitation", "sponsor", {"email": invitation.email},
          employer.id, invitation.id, secret=token, employer_name=employer.name,
          expires_at=invitation.expires_at.isoformat())
    return invitation


def resend_sponsor_invitation(session: Session, vault: PiiVault, actor: Actor, principal: Principal,
                              employer_id: str) -> Invitation:
    """A new invitation to the same address, the pending one voided (an advisor asked; they still see no token)."""
    policy.SET_UP_PLANS.check(principal)
    employer = employer_for(session, principal, employer_id)
    sent = session.scalars(select(Invitation).where(Invitation.employer_id == employer.id,
                                                    Invitation.role == "sponsor_admin")
                           .order_by(Invitation.created_at.desc())).all()
    if not sent or any(i.accepted_at is not None for i in sent):
        raise Conflict("The sponsor admin has accepted the invitation already; there is nothing to resend.")
    identity.void_invitations(session, [i.id for i in sent])
    invitation = invite_sponsor_admin(session, vault, employer, sent[0].email, actor.user_id)
    record_audit(session, actor, "sponsor_invitation.resent", "invitation", invitation.id,
                 {"email": invitation.email}, employer_id=employer.id)
    return invitation
