"""Presenters: plan documents as response dicts, with their signature when signed."""
from backend.documents.models import DocumentSignature, PlanDocument
from backend.documents.service import SIGNABLE


def document_view(document: PlanDocument, signature: DocumentSignature | None) -> dict:
    return {"id": document.id, "plan_id": document.plan_id, "kind": document.kind, "language": document.language,
            "version": document.version, "status": document.status, "template_version": document.template_version,
            "sha256": document.sha256, "effective_on": document.effective_on,
            "amendment": {"effective_on": document.effective_on, "changes": document.changes}
            if document.changes else None,
            "plan_year": document.plan_year, "notice_opens_on": document.notice_opens_on,
            "notice_deadline": document.notice_deadline,
            "signable": document.kind in SIGNABLE and document.status == "current" and signature is None,
            "signature": signature, "created_at": document.created_at, "superseded_at": document.superseded_at,
            "pdf_url": f"/v1/documents/{document.id}/pdf"}
