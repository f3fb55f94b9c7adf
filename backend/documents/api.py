"""Plan documents over HTTP: staff read every version and its PDF (/v1), the sponsor admin signs (signed in, or
through a signing link with no account: /v1/signing/<token>), the safe-harbor notice is drawn up per plan year;
participants download their plan's current summary (/mobile/v1)."""
from flask import Response, request
from flask.views import MethodView

from backend.documents import service, signing_links
from backend.documents.schemas import (DocumentOut, NoticeIn, SignatureOut, SignIn, SigningLinkOut, SigningLinkSentOut,
                                       SummaryArgs)
from backend.documents.views import document_view
from backend.db import utcnow
from backend.enrollment import service as enrollment
from backend.identity import policy
from backend.plans import service as plans
from backend.web import context
from backend.web.smorest import Blueprint
from notifications.preferences import reach_of

blp = Blueprint("documents", __name__, url_prefix="/v1", description="Plan documents: read, sign, notices.")
mobile_blp = Blueprint("mobile_documents", __name__, url_prefix="/mobile/v1",
                       description="The participant's plan summary.")


# The signing link's endpoints take no bearer token (the link is the credential) and are limited per client.
PUBLIC = {"security": []}
CLIENT_LIMITED = "Too many requests from this client: wait as Retry-After says."


def _link_settings() -> signing_links.SigningLinkSettings:
    config = context.config()
    return signing_links.SigningLinkSettings(config.signing_link_days, config.public_base_url)


def _pdf(content: bytes, name: str) -> Response:
    return Response(content, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _views(session, documents) -> list[dict]:
    signatures = service.signatures_of(session, [d.id for d in documents])
    return [document_view(d, signatures.get(d.id)) for d in documents]


@blp.route("/plans/<plan_id>/documents")
class PlanDocuments(MethodView):
    @blp.requires(policy.VIEW_EMPLOYERS)
    @blp.response(200, DocumentOut(many=True))
    def get(self, plan_id):
        """Every version of the plan's documents (adoption agreement, summaries in each language, safe-harbor
        notices), current and superseded, with each one's SHA-256 and signature."""
        session = context.session()
        return _views(session, service.documents_of(session, context.principal(), plan_id))


@blp.route("/documents/<document_id>")
class DocumentResource(MethodView):
    @blp.requires(policy.VIEW_EMPLOYERS)
    @blp.response(200, DocumentOut)
    def get(self, document_id):
        """One document version, with its signature when signed."""
        session = context.session()
        document = service.document_for(session, context.principal(), document_id)
        return document_view(document, service.signature_of(session, document.id))


@blp.route("/documents/<document_id>/pdf")
class DocumentPdf(MethodView):
    @blp.requires(policy.VIEW_EMPLOYERS)
    @blp.response(200, content_type="application/pdf",
                  description="The document's PDF; once signed, with its signature page showing the hash signed")
    def get(self, document_id):
        """The document as PDF. A signed document downloads with its signature page (who, title, when, from
        where, and the SHA-256 of the document they signed)."""
        session = context.session()
        document = service.document_for(session, context.principal(), document_id)
        return _pdf(service.download(session, document),
                    f"{document.kind}-v{document.version}-{document.language}.pdf")


@blp.route("/documents/<document_id>/signature")
class Signature(MethodView):
    @blp.requires(policy.SIGN_DOCUMENTS)
    @blp.answers(409, "The document is signed already, or a newer version superseded it.")
    @blp.arguments(SignIn)
    @blp.response(201, SignatureOut)
    def post(self, body, document_id):
        """Sign the current adoption agreement electronically: typed name and title, consent to electronic
        records; the time, IP address and user agent are recorded and bound to the document's SHA-256. A signed
        document never changes; the plan's first signature puts it live (its first pay run may then post)."""
        session = context.session()
        document = service.document_for(session, context.principal(), document_id)
        return service.sign(session, context.actor(), context.principal(), document, typed_name=body["typed_name"],
                            title=body["title"], consent=body["consent_to_electronic_records"], at=utcnow(),
                            today=context.today())


@blp.route("/documents/<document_id>/signing-link")
class SigningLinkSend(MethodView):
    @blp.requires(policy.SEND_SIGNING_LINKS)
    @blp.answers(409, "The document is not the current, unsigned adoption agreement, or there is nobody to send to.")
    @blp.response(201, SigningLinkSentOut)
    def post(self, document_id):
        """Send the sponsor admin a new link to sign this adoption agreement without an account (to the asking
        admin themselves when a sponsor admin asks); the document's earlier links stop working. The link goes only
        to that email: the answer says where (masked) and until when."""
        session, settings = context.session(), _link_settings()
        link = signing_links.send_on_request(session, context.vault(), settings, context.actor(),
                                             context.principal(), document_id)
        return {"document_id": link.document_id, "sent_to": signing_links.mask_email(link.email),
                "expires_at": link.expires_at}


@blp.route("/signing/<token>")
class SigningLinkResource(MethodView):
    @blp.doc(**PUBLIC)
    @blp.answers(404, signing_links.NO_SUCH_LINK)
    @blp.answers(429, CLIENT_LIMITED)
    @blp.response(200, SigningLinkOut)
    def get(self, token):
        """What a signing link is for: the document's title, plan, employer, version, SHA-256 and effective date,
        and the (masked) email it was sent to. No bearer token: the link is the credential."""
        session = context.session()
        link, document = signing_links.open_link(session, token)
        return signing_links.describe(session, link, document)

    @blp.doc(**PUBLIC)
    @blp.answers(404, signing_links.NO_SUCH_LINK)
    @blp.answers(429, CLIENT_LIMITED)
    @blp.arguments(SignIn)
    @blp.response(201, SignatureOut)
    def post(self, body, token):
        """Sign through the link: typed name and title, consent to electronic records; recorded as a signed-in
        signature is (time, IP address, user agent, bound to the document's SHA-256), with the signer identified
        as the holder of the email the link was sent to. The link works once."""
        return signing_links.sign_through(context.session(), token, ip=context.client_ip(),
                                          user_agent=request.headers.get("User-Agent"),
                                          typed_name=body["typed_name"], title=body["title"],
                                          consent=body["consent_to_electronic_records"], at=utcnow(),
                                          today=context.today())


@blp.route("/signing/<token>/pdf")
class SigningLinkPdf(MethodView):
    @blp.doc(**PUBLIC)
    @blp.answers(404, signing_links.NO_SUCH_LINK)
    @blp.answers(429, CLIENT_LIMITED)
    @blp.response(200, content_type="application/pdf", description="The document to sign, as drawn up")
    def get(self, token):
        """The PDF the link asks to sign (its SHA-256 is the one the signature is bound to)."""
        _link, document = signing_links.open_link(context.session(), token)
        return _pdf(document.content, f"{document.kind}-v{document.version}-{document.language}.pdf")


@blp.route("/plans/<plan_id>/safe-harbor-notices")
class SafeHarborNotices(MethodView):
    @blp.requires(policy.MANAGE_EMPLOYERS)
    @blp.arguments(NoticeIn)
    @blp.response(201, DocumentOut(many=True))
    def post(self, body, plan_id):
        """Draw up a safe-harbor match plan's annual notice for a plan year, in English and Spanish, with the
        window it must be given in (30 to 90 days before the plan year begins, Treas. Reg. 1.401(k)-3(d)(3)). The
        same rules answer the stored notice again."""
        session = context.session()
        return _views(session, service.safe_harbor_notices(session, context.principal(), plan_id, body["plan_year"]))


@mobile_blp.route("/plan-summary.pdf")
class PlanSummary(MethodView):
    @mobile_blp.requires(policy.PARTICIPATE)
    @mobile_blp.arguments(SummaryArgs, location="query")
    @mobile_blp.response(200, content_type="application/pdf", description="The plan's current summary plan description")
    def get(self, args):
        """Your plan's current summary plan description, in your language (the one your notifications use,
        unless you ask for another)."""
        session, principal = context.session(), context.principal()
        employee = enrollment.participant_employee(session, principal)
        plan = plans.current_plan(session, employee.employer_id)
        language = args.get("language") or reach_of(session, [principal.user_id])[principal.user_id].language
        document = service.current_summary(session, plan.id, language)
        return _pdf(document.content, f"plan-summary-v{document.version}-{document.language}.pdf")
