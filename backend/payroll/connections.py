"""Payroll connections: how one employer's payroll talks to Plumb. Signing secrets and the provider's own
credentials are stored sealed by the PII vault and opened only for one delivery or verification."""
import json
import secrets
from base64 import b64encode

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.audit import Actor, record_audit
from backend.errors import ValidationFailed
from backend.identity import policy
from backend.identity.service import Principal
from backend.payroll.models import ProviderConnection
from backend.payroll.outbound import AddressNotAllowed, OutboundPolicy
from backend.plans.models import Employer
from backend.plans.pii import PiiVault

# Keys of a connection's config that are credentials: stored encrypted, never returned.
CREDENTIAL_KEYS = ("access_token", "webhook_secret")


def create_connection(session: Session, vault: PiiVault, actor: Actor, employer: Employer, provider: str,
                      endpoint_url: str | None = None, config: dict | None = None, *, principal: Principal,
                      outbound: OutboundPolicy) -> tuple[ProviderConnection, str]:
    """A connection and its signing secret (Standard Webhooks `whsec_` form), returned once, stored encrypted.
    A new connection replaces the employer's previous one: changes go to one payroll at a time. Its endpoint must
    be one the outbound policy allows (an https URL to a public address); every call checks it again."""
    policy.CONNECT_PAYROLL.check(principal)
    if provider in ("plumb_webhook", "finch", "gusto") and not endpoint_url:
        raise ValidationFailed([("endpoint_url", f"is required for {provider} connections")])
    if endpoint_url:
        try:
            outbound.check_destination(endpoint_url)
        except AddressNotAllowed as refusal:
            raise ValidationFailed([("endpoint_url", refusal.reason)]) from None
    for old in session.scalars(select(ProviderConnection).where(ProviderConnection.employer_id == employer.id,
                                                                ProviderConnection.active.is_(True))):
        old.active = False
    secret = "whsec_" + b64encode(secrets.token_bytes(32)).decode()
    config = dict(config or {})
    credentials = {key: config.pop(key) for key in CREDENTIAL_KEYS if key in config}
    connection = ProviderConnection(employer_id=employer.id, provider=provider, secret_enc=vault.seal(secret),
                                    endpoint_url=endpoint_url, config=config,
                                    credentials_enc=vault.seal(json.dumps(credentials)) if credentials else None)
    session.add(connection)
    session.flush()
    record_audit(session, actor, "payroll_connection.created", "provider_connection", connection.id,
                 {"provider": provider}, employer_id=employer.id)
    return connection, secret


def connection_secret(vault: PiiVault, connection: ProviderConnection) -> str:
    return vault.open(connection.secret_enc)


def connection_credentials(vault: PiiVault, connection: ProviderConnection) -> dict:
    """Plumb's signing secret and the provider's own credentials, opened for one delivery or verification."""
    opened = json.loads(vault.open(connection.credentials_enc)) if connection.credentials_enc else {}
    return {"signing_secret": vault.open(connection.secret_enc), **opened}
