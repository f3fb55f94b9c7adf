"""Per-request state: the database session, the authenticated caller, the actor for the audit trail, the clock."""
from flask import current_app, g, request
from sqlalchemy.orm import Session

from backend.config import Config
from backend.audit import Actor
from backend.errors import Unauthenticated
from backend.identity.service import Principal, authenticate_access_token
from backend.plans.pii import PiiVault
from backend.wiring import Plumb


def plumb() -> Plumb:
    return current_app.extensions["plumb"]


def config() -> Config:
    return plumb().config


def vault() -> PiiVault:
    """The PII vault the wiring built: opens and seals SSNs, dates of birth and provider credentials."""
    return plumb().vault


def session() -> Session:
    """The request's session. The app commits it when the response is a success and rolls it back otherwise, so a
    view never commits and a failed request leaves stored state unchanged."""
    if "db_session" not in g:
        g.db_session = plumb().db.session()
    return g.db_session


def today():
    return plumb().clock.today()


def client_ip() -> str | None:
    return request.remote_addr


def principal() -> Principal:
    if "principal" not in g:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("Send an access token: 'Authorization: Bearer <token>'.")
        g.principal, g.session_id = authenticate_access_token(session(), config(), token.strip())
    return g.principal


def session_id() -> str:
    principal()
    return g.session_id


def actor() -> Actor:
    p = g.get("principal")
    return Actor(user_id=p.user_id if p else None, role=p.role if p else "anonymous", ip=client_ip(),
                 user_agent=request.headers.get("User-Agent"))

