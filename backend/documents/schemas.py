"""The plan documents' request and response shapes."""
from marshmallow import fields, validate

from backend.documents.templates import LANGUAGES
from backend.web.schema import Schema

# Also checked by the service (documents.service.sign); checked here too so a form with a blank title and no consent
# hears of both at once rather than one per try.
CONSENT_REQUIRED = "must be true: the document is signed as an electronic record (E-SIGN Act, 15 U.S.C. 7001(c))"


class SignatureOut(Schema):
    """An electronic signature bound to the SHA-256 of the document signed."""

    id = fields.String()
    typed_name = fields.String()
    title = fields.String()
    consent_to_electronic_records = fields.Boolean()
    signed_at = fields.DateTime()
    ip_address = fields.String(allow_none=True)
    user_agent = fields.String(allow_none=True)
    document_sha256 = fields.String(metadata={"description": "The SHA-256 of the document as drawn up and shown"})
    signed_sha256 = fields.String(metadata={"description": "The SHA-256 of the signed copy (with the signature page)"})
    signer_user_id = fields.String(allow_none=True, metadata={"description": "None when signed through a signing "
                                                                              "link, before the signer had an account"})
    identified_by = fields.String(allow_none=True, metadata={
        "description": "How a signer without a session was identified: 'signing link sent to <email>'"})


class AmendmentOut(Schema):
    """What this version changed from the one it supersedes, and from when."""

    effective_on = fields.Date()
    changes = fields.List(fields.String(), metadata={"description": "The provisions changed, e.g. match_tiers"})


class DocumentOut(Schema):
    """One version of a plan document in one language."""

    id = fields.String()
    plan_id = fields.String()
    kind = fields.String(metadata={"description": "adoption_agreement, summary_plan_description or "
                                                  "safe_harbor_notice"})
    language = fields.String()
    version = fields.Integer()
    status = fields.String(metadata={"description": "current or superseded"})
    template_version = fields.String()
    sha256 = fields.String(metadata={"description": "SHA-256 of the document's PDF as drawn up (before signing)"})
    effective_on = fields.Date()
    amendment = fields.Nested(AmendmentOut, allow_none=True)
    plan_year = fields.Integer(allow_none=True)
    notice_opens_on = fields.Date(allow_none=True, metadata={"description": "A notice: the earliest day to give it"})
    notice_deadline = fields.Date(allow_none=True, metadata={"description": "A notice: the last day to give it"})
    signable = fields.Boolean()
    signature = fields.Nested(SignatureOut, allow_none=True)
    created_at = fields.DateTime()
    superseded_at = fields.DateTime(allow_none=True)
    pdf_url = fields.String()


class SignIn(Schema):
    """The sponsor admin's electronic signature."""

    typed_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    consent_to_electronic_records = fields.Boolean(
        required=True, validate=validate.Equal(True, error=CONSENT_REQUIRED),
        metadata={"description": "Must be true: the signer agrees to sign and keep this record electronically"})


class NoticeIn(Schema):
    """The plan year (the calendar year it begins in) whose safe-harbor notice to draw up."""

    plan_year = fields.Integer(required=True, validate=validate.Range(min=1975, max=9998))


class SummaryArgs(Schema):
    """Which language to read the summary in (the participant's notification language when left out)."""

    language = fields.String(validate=validate.OneOf(LANGUAGES))


class SigningLinkSentOut(Schema):
    """A signing link sent: to whom (masked) and until when it works; the link itself goes only to that address."""

    document_id = fields.String()
    sent_to = fields.String(metadata={"description": "The sponsor admin's email, masked (p***@example.com)"})
    expires_at = fields.DateTime()


class SigningLinkOut(Schema):
    """What a signing link's holder reads before signing."""

    title = fields.String(metadata={"description": "The document's title, e.g. Adoption Agreement"})
    kind = fields.String()
    plan = fields.String(metadata={"description": "The plan's name"})
    employer = fields.String(metadata={"description": "The employer's name"})
    version = fields.Integer()
    sha256 = fields.String(metadata={"description": "SHA-256 of the document's PDF, the bytes signed"})
    effective_on = fields.Date()
    changes = fields.List(fields.String(), metadata={"description": "An amendment's changed provisions"})
    addressed_to = fields.String(metadata={"description": "The email the link was sent to, masked"})
    expires_at = fields.DateTime()
