"""Outbound payroll sync: each approved change reaches the employer's payroll provider through its adapter.

The outbox (backend/events.py) decides when and in what order; an adapter only knows how to hand one deferral
change to one kind of provider and to say whether the provider acknowledged it."""
import json
from datetime import datetime, timezone

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session
from standardwebhooks.webhooks import Webhook

from backend.events import Delivery, OutboxMessage, register_deliverer
from backend.payroll.models import ProviderConnection
from backend.plans.pii import PiiVault

TOPIC = "payroll.deferral_change"
TIMEOUT_SECONDS = 10.0


def change_document(message: OutboxMessage) -> dict:
    """The documented JSON of a deferral change, as every push adapter sends it (docs: README, "Payroll sync")."""
    return {"type": "deferral_change", "id": message.id, "employer_id": message.employer_id, **message.payload}


class PlumbWebhookAdapter:
    """Plumb's own webhook: POST the change, signed per the Standard Webhooks specification; a 2xx acknowledges."""

    def __init__(self):
        # One pooled client per process: keep-alive connections to the provider instead of one per message.
        self.client = httpx.Client(timeout=TIMEOUT_SECONDS)

    def deliver(self, connection: ProviderConnection, secret: str, message: OutboxMessage) -> Delivery:
        if not connection.endpoint_url:
            return Delivery(False, "the connection has no endpoint URL", permanent=True)
        body = json.dumps(change_document(message))
        now = datetime.now(timezone.utc)
        headers = {"webhook-id": message.id, "webhook-timestamp": str(int(now.timestamp())),
                   "webhook-signature": Webhook(secret).sign(message.id, now, body),
                   "content-type": "application/json"}
        try:
            response = self.client.post(connection.endpoint_url, content=body, headers=headers)
        except httpx.HTTPError as error:
            return Delivery(False, f"{type(error).__name__}: {error}")
        if 200 <= response.status_code < 300:
            return Delivery(True, result={"status": response.status_code})
        # A 4xx other than timeouts and rate limits means the receiver will never take this message as it is.
        permanent = 400 <= response.status_code < 500 and response.status_code not in (408, 409, 425, 429)
        return Delivery(False, f"HTTP {response.status_code}: {response.text[:300]}", permanent=permanent)


class PullFeedAdapter:
    """Providers that poll GET /v1/payroll/deferral-changes: the message waits for their acknowledgement."""

    def deliver(self, connection: ProviderConnection, secret: str, message: OutboxMessage) -> Delivery:
        return Delivery(False, parked=True)


ADAPTERS = {"plumb_webhook": PlumbWebhookAdapter(), "pull": PullFeedAdapter()}


@register_deliverer(TOPIC)
def deliver_deferral_change(session: Session, message: OutboxMessage, vault: PiiVault) -> Delivery:
    connection = session.scalar(select(ProviderConnection).where(
        ProviderConnection.employer_id == message.employer_id, ProviderConnection.active.is_(True))
        .order_by(ProviderConnection.created_at.desc()).limit(1))
    if connection is None:
        return Delivery(False, "the employer has no active payroll connection yet")
    adapter = ADAPTERS.get(connection.provider)
    if adapter is None:
        return Delivery(False, f"no adapter for provider {connection.provider!r}")
    return adapter.deliver(connection, vault.open(connection.secret_enc), message)
