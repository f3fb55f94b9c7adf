"""Outbound payroll sync: each approved change reaches the employer's payroll provider through its adapter.

The outbox (backend/events.py) decides when and in what order; an adapter only knows how to hand one deferral
change to one kind of provider and to say whether the provider acknowledged it."""
import json
from datetime import datetime, timezone

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session
from standardwebhooks.webhooks import Webhook


from backend.outbox import Delivery, OutboxMessage
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

    def deliver(self, connection: ProviderConnection, credentials: dict, message: OutboxMessage) -> Delivery:
        if not connection.endpoint_url:
            return Delivery(False, "the connection has no endpoint URL", permanent=True)
        body = json.dumps(change_document(message))
        now = datetime.now(timezone.utc)
        headers = {"webhook-id": message.id, "webhook-timestamp": str(int(now.timestamp())),
                   "webhook-signature": Webhook(credentials["signing_secret"]).sign(message.id, now, body),
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

    def deliver(self, connection: ProviderConnection, credentials: dict, message: OutboxMessage) -> Delivery:
        return Delivery(False, parked=True)


ADAPTERS = {"plumb_webhook": PlumbWebhookAdapter(), "pull": PullFeedAdapter()}


def deliver_deferral_change(session: Session, message: OutboxMessage, vault: PiiVault) -> Delivery:
    """Hand a deferral change to the employer's payroll through the adapter of its active connection."""
    connection = session.scalar(select(ProviderConnection).where(
        ProviderConnection.employer_id == message.employer_id, ProviderConnection.active.is_(True))
        .order_by(ProviderConnection.created_at.desc()).limit(1))
    if connection is None:
        return Delivery(False, "the employer has no active payroll connection yet")
    adapter = ADAPTERS.get(connection.provider)
    if adapter is None:
        return Delivery(False, f"no adapter for provider {connection.provider!r}")
    from backend.payroll.service import connection_credentials

    return adapter.deliver(connection, connection_credentials(vault, connection), message)


def receive_provider_event(session: Session, connection: ProviderConnection, event_id: str, event: dict) -> tuple[bool, str]:
    """Act on a verified provider webhook once: (first time?, what was done). A provider that applies changes
    asynchronously confirms or fails them here by Plumb's message id."""
    from backend.outbox import acknowledge_pulled, mark_dead
    from backend.payroll.models import ProviderEvent

    if session.scalar(select(ProviderEvent.id).where(ProviderEvent.connection_id == connection.id,
                                                     ProviderEvent.event_id == event_id)):
        return False, "duplicate: already received"
    kind = str(event.get("type", ""))
    data = event.get("data") if isinstance(event.get("data"), dict) else {}
    outcome = "recorded"
    message = session.scalar(select(OutboxMessage).where(OutboxMessage.id == str(data.get("message_id", "")),
                                                         OutboxMessage.employer_id == connection.employer_id))
    if message is not None and kind == "deferral_change.applied" and message.status in ("pending", "awaiting_pull"):
        acknowledge_pulled(session, message, {"via": "provider_event", "event_id": event_id})
        outcome = f"confirmed {message.id}"
    elif message is not None and kind == "deferral_change.failed" and message.status != "delivered":
        mark_dead(session, message, str(data.get("reason", "the provider could not apply it")))
        outcome = f"failed {message.id}"
    session.add(ProviderEvent(connection_id=connection.id, event_id=event_id, type=kind[:100], payload=event,
                              outcome=outcome))
    return True, outcome


from backend.payroll.providers import FinchAdapter, GustoAdapter  # noqa: E402
ADAPTERS.update(finch=FinchAdapter(), gusto=GustoAdapter())
