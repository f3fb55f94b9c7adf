"""Signing links: the sponsor admin signs the plan's adoption agreement "in the moment", without making an account
first, the way e-signature services work. A single-use link goes to the sponsor admin's email (when the plan is set
up, and again whenever the advisor or sponsor asks); opening it proves control of that address, and that is how the
signer is identified on the signature ("signing link sent to <email>"). The signature itself is made by the one
signing function (documents.service.sign), so it records and causes exactly what a signed-in signature does.

The token is 32 random bytes, url-safe; only its SHA-256 is stored, and the link goes out sealed with the PII vault
on the outbox's `invitation` topic (as invitations do), so no table holds it in clear. A link works once, for
`SigningLinkSettings.days` days, and only while its document is the current, unsigned version; a newer link for the
document voids it. Every way a token can fail answers the same NotFound, so a caller learns nothing about which.

The electronic signature is valid as an electronic record with the signer's consent (E-SIGN Act, 15 U.S.C. 7001(a),
(c)); attribution to the signer rests on the security procedure used (UETA section 9(a)): here, control of the
email address the link was sent to."""
import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.audit import Actor, record_audit
from backend.db import utcnow
from backend.documents import service, templates
from backend.documents.models import DocumentSignature, PlanDocument, SigningLink
from backend.errors import Conflict, NotFound
from backend.events import PlanSetUp
from backend.identity import policy
from backend.identity.models import Invitation, User
from backend.identity.service import Principal
from backend.outbox import enqueue
from backend.plans.models import Employer, Plan
from backend.plans.pii import PiiVault

# The outbox topic invitations ride on (backend/plans/invitations.py::TOPIC): delivered by email, its secret opened
# only at delivery (notifications/invitations.py renders the "signing_link" kind).
TOPIC = "invitation"
KIND = "signing_link"
TOKEN_BYTES = 32
APP_PATH = "/app/sign/"
# One answer for a wrong, used, expired or void token: which one it is would tell a guesser too much.
NO_SUCH_LINK = ("This signing link does not work: it may be mistyped, used already, expired, or replaced by a newer "
                "one. Ask your advisor for a new link.")


@dataclass(frozen=True)
class SigningLinkSettings:
    """How long a link works, and the public address of this server the link in the email starts with."""

    days: int = 7
    base_url: str = "http://localhost:5000"


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def mask_email(email: str) -> str:
    """Enough of the address for its owner to recognize it, not enough to harvest it: p***@example.com."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def issue(session: Session, vault: PiiVault, settings: SigningLinkSettings, document: PlanDocument, email: str,
          created_by: str | None) -> SigningLink:
    """A new link to sign `document`, sent to `email` through the outbox in the caller's transaction; the document's
    earlier links stop working."""
    now = utcnow()
    session.execute(update(SigningLink).where(SigningLink.document_id == document.id, SigningLink.used_at.is_(None),
                                              SigningLink.voided_at.is_(None)).values(voided_at=now))
    token = secrets.token_urlsafe(TOKEN_BYTES)
    link = SigningLink(document_id=document.id, plan_id=document.plan_id, employer_id=document.employer_id,
                       token_hash=token_digest(token), email=email, created_by=created_by, created_at=now,
                       expires_at=now + timedelta(days=settings.days))
    session.add(link)
    session.flush()
    plan, employer = session.get(Plan, document.plan_id), session.get(Employer, document.employer_id)
    # One outbox line per employer: a newer link is delivered after the one it replaced.
    enqueue(session, TOPIC, f"signing/{document.employer_id}", {
        "kind": KIND, "to": {"email": email}, "secret_sealed": vault.seal(token).decode(),
        "link_base": settings.base_url.rstrip("/") + APP_PATH, "employer_name": employer.name,
        "plan_name": plan.name, "document_title": templates.W["en"][document.kind], "version": document.version,
        "sha256": document.sha256, "expires_at": link.expires_at.isoformat()},
        employer_id=document.employer_id, subject_id=link.id)
    return link


def _sponsor_address(session: Session, employer_id: str) -> str | None:
    """The sponsor admin's email: the address the advisor named for them (their latest invitation)."""
    return session.scalar(select(Invitation.email).where(Invitation.employer_id == employer_id,
                                                         Invitation.role == policy.SPONSOR_ADMIN)
                          .order_by(Invitation.created_at.desc()).limit(1))


def send_on_setup(session: Session, event: PlanSetUp, *, vault: PiiVault, settings: SigningLinkSettings) -> None:
    """The new plan's adoption agreement, drawn up just before, goes to the sponsor admin to sign (subscribed to
    PlanSetUp after the documents are drawn up)."""
    agreement = service.current_agreement(session, event.plan_id)
    email = _sponsor_address(session, event.employer_id)
    if agreement is not None and email:
        issue(session, vault, settings, agreement, email, None)


def send_on_request(session: Session, vault: PiiVault, settings: SigningLinkSettings, actor: Actor,
                    principal: Principal, document_id: str) -> SigningLink:
    """The advisor or the sponsor asked: a new link to the sponsor admin (the asking admin themselves), the old
    ones void. Only the current, unsigned adoption agreement has one."""
    policy.SEND_SIGNING_LINKS.check(principal)
    document = service.document_for(session, principal, document_id)
    if document.kind not in service.SIGNABLE:
        raise Conflict(f"A {document.kind.replace('_', ' ')} is not signed; send a link to the adoption agreement.")
    if document.status != "current":
        raise Conflict("This version is superseded; send a link to the current one.")
    if service.signature_of(session, document.id) is not None:
        raise Conflict("This document is signed already; there is nothing left to sign.")
    email = (session.scalar(select(User.email).where(User.id == principal.user_id))
             if principal.role == policy.SPONSOR_ADMIN else _sponsor_address(session, document.employer_id))
    if not email:
        raise Conflict("The employer has no sponsor admin's email to send the link to.")
    link = issue(session, vault, settings, document, email, principal.user_id)
    record_audit(session, actor, "document.signing_link_sent", "document", document.id,
                 employer_id=document.employer_id, changes={"link_id": link.id, "sent_to": email,
                                                            "expires_at": link.expires_at.isoformat()})
    return link


def _signable_document(session: Session, link: SigningLink) -> PlanDocument:
    """The link's document while it is the current, unsigned version (a superseded or signed one voids its links),
    else NotFound."""
    document = session.get(PlanDocument, link.document_id)
    if document.status != "current" or service.signature_of(session, document.id) is not None:
        raise NotFound(NO_SUCH_LINK)
    return document


def _valid(session: Session, link: SigningLink | None) -> PlanDocument:
    """The link's document when the link may still be used, else NotFound (the same answer for every reason)."""
    if link is None or link.used_at is not None or link.voided_at is not None or link.expires_at <= utcnow():
        raise NotFound(NO_SUCH_LINK)
    return _signable_document(session, link)


def open_link(session: Session, token: str) -> tuple[SigningLink, PlanDocument]:
    """The link and its document, for reading before signing; NotFound for a link that cannot be used."""
    link = session.scalar(select(SigningLink).where(SigningLink.token_hash == token_digest(token)))
    return link, _valid(session, link)


def describe(session: Session, link: SigningLink, document: PlanDocument) -> dict:
    """What the signer sees before signing: which document, of which plan and employer, addressed to whom."""
    plan, employer = session.get(Plan, document.plan_id), session.get(Employer, document.employer_id)
    return {"title": templates.W["en"][document.kind], "kind": document.kind, "plan": plan.name,
            "employer": employer.name, "version": document.version, "sha256": document.sha256,
            "effective_on": document.effective_on, "changes": document.changes,
            "addressed_to": mask_email(link.email), "expires_at": link.expires_at}


def sign_through(session: Session, token: str, *, ip: str | None, user_agent: str | None, typed_name: str,
                 title: str, consent: bool, at: datetime, today: date) -> DocumentSignature:
    """Sign the link's document: the link is claimed by a conditional update first, so of two uses at once one
    signs and the other finds it used; then the one signing function records the signature (and puts the plan
    live), identifying the signer by the address the link was sent to. A refused signature (a blank name) rolls
    the claim back with everything else."""
    claimed = session.scalar(update(SigningLink).where(
        SigningLink.token_hash == token_digest(token), SigningLink.used_at.is_(None),
        SigningLink.voided_at.is_(None), SigningLink.expires_at > utcnow())
        .values(used_at=at).returning(SigningLink.id))
    if claimed is None:
        raise NotFound(NO_SUCH_LINK)
    link = session.get(SigningLink, claimed)
    session.refresh(link)
    document = _signable_document(session, link)
    signer = Principal(user_id=None, role=policy.SPONSOR_ADMIN, employer_id=document.employer_id, employee_id=None)
    actor = Actor(user_id=None, role="signing_link", ip=ip, user_agent=user_agent)
    return service.sign(session, actor, signer, document, typed_name=typed_name, title=title, consent=consent, at=at,
                        today=today, identified_by=f"signing link sent to {link.email}")
