"""Stored plan documents (each version's PDF bytes and their SHA-256), the sponsor's electronic signatures and the
signing links that let the sponsor sign without an account."""
from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, UTCDateTime, new_id, utcnow


class PlanDocument(Base):
    """One version of one document in one language. Its bytes are a function of `provisions` and
    `template_version` alone, so `sha256` can be checked by drawing it up again; a newer version supersedes it."""

    __tablename__ = "plan_documents"
    __table_args__ = (UniqueConstraint("plan_id", "kind", "language", "version",
                                       name="uq_plan_documents_plan_kind_language_version"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("doc"))
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id"), index=True)
    employer_id: Mapped[str] = mapped_column(ForeignKey("employers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(5))
    version: Mapped[int] = mapped_column(Integer)
    template_version: Mapped[str] = mapped_column(String(16))
    provisions: Mapped[dict] = mapped_column(JSON)
    provisions_digest: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), default="current")  # current | superseded
    effective_on: Mapped[date] = mapped_column(Date)
    # The provisions this version changed from the one it supersedes (an amendment); empty for the first.
    changes: Mapped[list] = mapped_column(JSON, default=list)
    # A safe-harbor notice's plan year (the year it begins in) and the window it must be given in.
    plan_year: Mapped[int | None] = mapped_column(Integer)
    notice_opens_on: Mapped[date | None] = mapped_column(Date)
    notice_deadline: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class DocumentSignature(Base):
    """The sponsor's electronic signature of one document version: who typed what, their consent to electronic
    records, when, from where, bound to the SHA-256 of the bytes they were shown. One per document."""

    __tablename__ = "document_signatures"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("sig"))
    document_id: Mapped[str] = mapped_column(ForeignKey("plan_documents.id"), unique=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id"), index=True)
    # The signer's account; None when they signed through a signing link, before having one.
    signer_user_id: Mapped[str | None] = mapped_column(String(32))
    # How the signer was identified when they had no session: "signing link sent to <email>".
    identified_by: Mapped[str | None] = mapped_column(String(400))
    typed_name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(200))
    consent_to_electronic_records: Mapped[bool] = mapped_column(Boolean)
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ip_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(500))
    document_sha256: Mapped[str] = mapped_column(String(64))
    # The signed copy (the document and its signature page) as downloaded, and its own hash.
    signed_sha256: Mapped[str] = mapped_column(String(64))
    signed_content: Mapped[bytes] = mapped_column(LargeBinary)


class SigningLink(Base):
    """A single-use link to sign one document version, sent to the sponsor admin's email: following it proves
    control of that address, which is what identifies the signer. Only the SHA-256 of its token is stored."""

    __tablename__ = "signing_links"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("sgl"))
    document_id: Mapped[str] = mapped_column(ForeignKey("plan_documents.id"), index=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id"), index=True)
    employer_id: Mapped[str] = mapped_column(ForeignKey("employers.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(320))
    created_by: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set when a newer link for the document replaced it.
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
