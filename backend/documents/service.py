"""The plan's documents: drawn up when the plan is set up, restated (an amendment listing the changed provisions)
when its rules change, signed by the sponsor admin, and the gate a plan's first pay run passes."""
import hashlib
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.audit import Actor, record_audit
from backend.db import utcnow
from backend.documents import templates
from backend.documents.models import DocumentSignature, PlanDocument
from backend.documents.provisions import changed_provisions, digest_of, provisions_of
from backend.documents.render import render_document
from backend.errors import Conflict, NotFound, ValidationFailed
from backend.events import DocumentSigned, PlanRulesChanged, PlanSetUp, PlanWentLive, publish
from backend.identity import policy
from backend.identity.service import Principal
from backend.plans import service as plans
from backend.plans.models import Plan

ADOPTION_AGREEMENT, SUMMARY, NOTICE = "adoption_agreement", "summary_plan_description", "safe_harbor_notice"
# The adoption agreement is the legal instrument the sponsor signs, in English; the summary is written for
# employees, in each language they read.
SET = ((ADOPTION_AGREEMENT, ("en",)), (SUMMARY, templates.LANGUAGES))
SIGNABLE = (ADOPTION_AGREEMENT,)
# Designs whose safe harbor rests on a match owe the annual notice; SECURE Act 2019 section 103 removed it for the
# nonelective designs (IRC 401(k)(12)(A), 401(k)(13)(E)).
NOTICE_DESIGNS = ("basic_match", "enhanced_match", "qaca_match")
# The notice is timely when given 30 to 90 days before the plan year begins (Treas. Reg. 1.401(k)-3(d)(3)(ii)).
NOTICE_EARLIEST_DAYS, NOTICE_LATEST_DAYS = 90, 30


def _draw_up(plan: Plan, kind: str, language: str, provisions: dict, version: int, effective_on: date,
             changes: list[str], **notice) -> PlanDocument:
    amendment = {"effective_on": effective_on.isoformat(), "changes": changes} if changes else None
    notice_dates = ({"start": notice["start"], "end": notice["end"], "deadline": notice["notice_deadline"],
                     "opens": notice["notice_opens_on"]} if kind == NOTICE else None)
    content = render_document(kind, language, provisions, version=version, amendment=amendment, notice=notice_dates)
    return PlanDocument(plan_id=plan.id, employer_id=plan.employer_id, kind=kind, language=language, version=version,
                        template_version=templates.TEMPLATE_VERSION, provisions=provisions,
                        provisions_digest=digest_of(provisions), sha256=hashlib.sha256(content).hexdigest(),
                        content=content, status="current", effective_on=effective_on, changes=changes,
                        plan_year=notice.get("plan_year"), notice_opens_on=notice.get("notice_opens_on"),
                        notice_deadline=notice.get("notice_deadline"))


def reproduce(document: PlanDocument) -> bytes:
    """The document's bytes drawn up again from what it records it was made from (equal to `content` as long as
    the template version has not changed)."""
    notice = {"start": date(document.plan_year, *_year_start(document.provisions)).isoformat(),
              "end": _year_end(date(document.plan_year, *_year_start(document.provisions))).isoformat(),
              "deadline": document.notice_deadline.isoformat(),
              "opens": document.notice_opens_on.isoformat()} if document.kind == NOTICE else None
    amendment = ({"effective_on": document.effective_on.isoformat(), "changes": document.changes}
                 if document.changes else None)
    return render_document(document.kind, document.language, document.provisions, version=document.version,
                           template_version=document.template_version, amendment=amendment, notice=notice)


def draw_up_plan_documents(session: Session, event: PlanSetUp) -> None:
    """The new plan's adoption agreement and summaries, version 1 (subscribed to PlanSetUp)."""
    plan = session.get(Plan, event.plan_id)
    provisions = provisions_of(plan, plan.employer)
    session.add_all([_draw_up(plan, kind, language, provisions, 1, plan.effective_date, [])
                     for kind, languages in SET for language in languages])
    session.flush()


def restate_plan_documents(session: Session, event: PlanRulesChanged) -> None:
    """A new version of each current document whose provisions changed, listing the changes and their effective
    date; the old version is marked superseded (subscribed to PlanRulesChanged)."""
    plan = session.get(Plan, event.plan_id)
    provisions = provisions_of(plan, plan.employer)
    now = utcnow()
    current = session.scalars(select(PlanDocument).where(PlanDocument.plan_id == plan.id,
                                                         PlanDocument.kind.in_([k for k, _ in SET]),
                                                         PlanDocument.status == "current")).all()
    for old in current:
        changes = changed_provisions(old.provisions, provisions)
        if not changes:
            continue
        old.status, old.superseded_at = "superseded", now
        session.flush()
        session.add(_draw_up(plan, old.kind, old.language, provisions, old.version + 1, event.effective_on, changes))
    session.flush()


def documents_of(session: Session, principal: Principal, plan_id: str) -> list[PlanDocument]:
    """Every version of the plan's documents, newest first within each kind and language."""
    plan = plans.plan_for(session, principal, plan_id)
    return list(session.scalars(select(PlanDocument).where(PlanDocument.plan_id == plan.id).order_by(
        PlanDocument.kind, PlanDocument.language, PlanDocument.plan_year, PlanDocument.version.desc())))


def document_for(session: Session, principal: Principal, document_id: str) -> PlanDocument:
    """The document if the caller may see its plan; otherwise NotFound (another tenant's id reveals nothing)."""
    document = session.get(PlanDocument, document_id)
    if document is None:
        raise NotFound("No such document.")
    plans.plan_for(session, principal, document.plan_id)
    return document


def signature_of(session: Session, document_id: str) -> DocumentSignature | None:
    return session.scalar(select(DocumentSignature).where(DocumentSignature.document_id == document_id))


def signatures_of(session: Session, document_ids: list[str]) -> dict[str, DocumentSignature]:
    if not document_ids:
        return {}
    rows = session.scalars(select(DocumentSignature).where(DocumentSignature.document_id.in_(document_ids)))
    return {row.document_id: row for row in rows}


def download(session: Session, document: PlanDocument) -> bytes:
    """What the reader downloads: a signed document with its signature page, else the document as drawn up."""
    signature = signature_of(session, document.id)
    return signature.signed_content if signature else document.content


def sign(session: Session, actor: Actor, principal: Principal, document: PlanDocument, *, typed_name: str,
         title: str, consent: bool, at: datetime, today: date, identified_by: str | None = None) -> DocumentSignature:
    """The sponsor admin signs the current version: their typed name and title, their consent to electronic
    records, the time, IP address and user agent, bound to the document's SHA-256. A document is signed once;
    the plan's first signed adoption agreement puts the plan live (PlanWentLive). `identified_by` says how a
    signer without a session was identified (a signing link: backend/documents/signing_links.py)."""
    policy.SIGN_DOCUMENTS.check(principal)
    problems = []
    if not typed_name.strip():
        problems.append(("typed_name", "must not be blank"))
    if not title.strip():
        problems.append(("title", "must not be blank"))
    if consent is not True:
        problems.append(("consent_to_electronic_records", "must be true: the document is signed as an electronic "
                                                          "record (E-SIGN Act, 15 U.S.C. 7001(c))"))
    if document.kind not in SIGNABLE:
        problems.append(("document", f"a {document.kind.replace('_', ' ')} is not signed; the adoption agreement is"))
    if problems:
        raise ValidationFailed(problems)
    if signature_of(session, document.id) is not None:
        raise Conflict("This document is signed already; a signed document cannot change.")
    if document.status != "current":
        raise Conflict("This version is superseded; sign the current one.")
    went_live = not session.scalar(select(func.count()).select_from(DocumentSignature).join(
        PlanDocument, PlanDocument.id == DocumentSignature.document_id).where(
        DocumentSignature.plan_id == document.plan_id, PlanDocument.kind == ADOPTION_AGREEMENT))
    agent = (actor.user_agent or "")[:500] or None
    shown = {"name": typed_name.strip(), "title": title.strip(), "at": at.strftime("%Y-%m-%d %H:%M:%S UTC"),
             "ip": actor.ip or "-", "agent": agent or "-", "sha256": document.sha256}
    signed = render_document(document.kind, document.language, document.provisions, version=document.version,
                             template_version=document.template_version,
                             amendment={"effective_on": document.effective_on.isoformat(), "changes": document.changes}
                             if document.changes else None, signature=shown)
    signature = DocumentSignature(document_id=document.id, plan_id=document.plan_id, signer_user_id=principal.user_id,
                                  identified_by=identified_by,
                                  typed_name=shown["name"], title=shown["title"], consent_to_electronic_records=True,
                                  signed_at=at, ip_address=actor.ip, user_agent=agent, document_sha256=document.sha256,
                                  signed_sha256=hashlib.sha256(signed).hexdigest(), signed_content=signed)
    session.add(signature)
    session.flush()
    record_audit(session, actor, "document.signed", "document", document.id, employer_id=document.employer_id,
                 changes={"kind": document.kind, "version": document.version, "sha256": document.sha256,
                          "typed_name": shown["name"], "title": shown["title"],
                          **({"identified_by": identified_by} if identified_by else {})})
    if went_live:
        publish(session, PlanWentLive(plan_id=document.plan_id, employer_id=document.employer_id, on=today))
    publish(session, DocumentSigned(plan_id=document.plan_id, employer_id=document.employer_id,
                                    document_id=document.id, kind=document.kind, on=today))
    return signature


def current_agreement(session: Session, plan_id: str) -> PlanDocument | None:
    return session.scalar(select(PlanDocument).where(PlanDocument.plan_id == plan_id,
                                                     PlanDocument.kind == ADOPTION_AGREEMENT,
                                                     PlanDocument.status == "current"))


def unsigned_agreement_problem(session: Session, plan_id: str) -> str | None:
    """Why the plan may not take its first pay run yet (its current adoption agreement is unsigned), or None."""
    agreement = current_agreement(session, plan_id)
    if agreement is None or signature_of(session, agreement.id) is None:
        which = f" ({agreement.id}, version {agreement.version})" if agreement else ""
        return (f"the plan's adoption agreement{which} is not signed yet: the sponsor admin signs it before the plan's "
                "first pay run")
    return None


def current_summary(session: Session, plan_id: str, language: str) -> PlanDocument:
    """The plan's current summary plan description in `language` (English when there is none in it)."""
    rows = {d.language: d for d in session.scalars(select(PlanDocument).where(
        PlanDocument.plan_id == plan_id, PlanDocument.kind == SUMMARY, PlanDocument.status == "current"))}
    document = rows.get(language) or rows.get("en")
    if document is None:
        raise NotFound("This plan has no summary plan description yet.")
    return document


def _year_start(provisions: dict) -> tuple[int, int]:
    month, day = (int(part) for part in provisions["plan_year_start"].split("-"))
    return month, day


def _year_end(start: date) -> date:
    return start.replace(year=start.year + 1) - timedelta(days=1)


def notice_window(plan_year_start: date) -> tuple[date, date]:
    """When a plan year's safe-harbor notice may first be given and the day it is due: 90 and 30 days before the
    plan year begins (Treas. Reg. 1.401(k)-3(d)(3)(ii)). Worked example: for a plan year beginning 2027-01-01,
    from 2026-10-03 to 2026-12-02."""
    return (plan_year_start - timedelta(days=NOTICE_EARLIEST_DAYS),
            plan_year_start - timedelta(days=NOTICE_LATEST_DAYS))


def safe_harbor_notices(session: Session, principal: Principal, plan_id: str, plan_year: int) -> list[PlanDocument]:
    """The plan year's safe-harbor notice in each language, drawn up from the plan's current rules (the same rules
    answer the stored notice again; changed rules, a new version superseding it)."""
    plan = plans.plan_for(session, principal, plan_id)
    policy.MANAGE_EMPLOYERS.check(principal)
    problems = []
    if plan.safe_harbor not in NOTICE_DESIGNS:
        problems.append(("plan", "no annual safe-harbor notice is owed: the plan is not a safe-harbor match plan "
                                 "(IRC 401(k)(12)(A); the nonelective designs need none since the SECURE Act)"))
    start = None
    try:
        start = date(plan_year, plan.plan_year_start_month, plan.plan_year_start_day)
    except (ValueError, OverflowError):
        problems.append(("plan_year", "is not a year a plan year can begin in"))
    if start is not None and _year_end(start) < plan.effective_date:
        problems.append(("plan_year", f"ends before the plan's effective date ({plan.effective_date.isoformat()})"))
    if problems:
        raise ValidationFailed(problems)
    opens, deadline = notice_window(start)
    provisions = provisions_of(plan, plan.employer)
    digest = digest_of(provisions)
    answer = []
    for language in templates.LANGUAGES:
        latest = session.scalar(select(PlanDocument).where(
            PlanDocument.plan_id == plan.id, PlanDocument.kind == NOTICE, PlanDocument.language == language,
            PlanDocument.plan_year == plan_year).order_by(PlanDocument.version.desc()).limit(1))
        if latest is not None and latest.provisions_digest == digest:
            answer.append(latest)
            continue
        version = (session.scalar(select(func.max(PlanDocument.version)).where(
            PlanDocument.plan_id == plan.id, PlanDocument.kind == NOTICE, PlanDocument.language == language)) or 0) + 1
        if latest is not None:
            latest.status, latest.superseded_at = "superseded", utcnow()
        document = _draw_up(plan, NOTICE, language, provisions, version, start,
                            changed_provisions(latest.provisions, provisions) if latest else [],
                            plan_year=plan_year, start=start.isoformat(), end=_year_end(start).isoformat(),
                            notice_opens_on=opens, notice_deadline=deadline)
        session.add(document)
        answer.append(document)
    session.flush()
    return answer


def agreement_signed(session: Session, plan_id: str) -> bool:
    """Whether the plan's current adoption agreement is signed (a restated one is not, until the sponsor signs it)."""
    agreement = current_agreement(session, plan_id)
    return agreement is not None and signature_of(session, agreement.id) is not None
