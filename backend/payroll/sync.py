"""Outbound payroll sync: each approved change reaches the employer's payroll provider through its adapter.

The outbox (backend/outbox.py) decides when and in what order; an adapter only knows how to hand one deferral
change to one kind of provider and to say whether the provider acknowledged it. Deliveries run outside any
transaction, many at once: what they read of the database (the employer's connection) they read in short
transactions of their own."""
import http.client
import json
import logging
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from types import MappingProxyType
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session
from standardwebhooks.webhooks import Webhook

from backend.enrollment.payroll_messages import TOPIC  # noqa: F401 - the topic this module delivers (wiring)
from backend.outbox import Delivery, Message, OutboxMessage, mark_dead, record_deliveries
from backend.payroll.connections import connection_credentials
from backend.payroll.models import ProviderConnection, ProviderEvent
from backend.payroll.outbound import OutboundPolicy, failure_reason, status_failure
from backend.payroll.providers import FinchAdapter, GustoAdapter, refused_for_good
from backend.plans.pii import PiiVault

TIMEOUT_SECONDS = 10.0
log = logging.getLogger(__name__)


def change_document(message) -> dict:
    """The documented JSON of a deferral change, as every push adapter sends it (docs: README, "Payroll sync")."""
    return {"type": "deferral_change", "id": message.id, "employer_id": message.employer_id, **message.payload}


@dataclass(frozen=True)
class Connection:
    """An employer's active payroll connection as a delivery sees it: a read-only snapshot, secrets opened."""

    id: str
    employer_id: str
    provider: str
    endpoint_url: str | None
    config: Mapping
    credentials: Mapping  # Plumb's signing secret and the provider's own credentials (access token, ...)
    signer: Webhook | None


class ActiveConnections:
    """Each employer's active connection, read in a short transaction of its own and kept for `max_age` seconds:
    at thousands of messages a second, a read and a decryption per message would cost more than the delivery.
    A connection replaced less than `max_age` ago may still carry a delivery or two to the old receiver: refused
    there when it no longer holds the connection (then retried like any failure), but acknowledged if the old
    receiver still answers, so changing provider is best done between pay runs."""

    def __init__(self, db, vault: PiiVault, max_age: float = 1.0):
        self.db, self.vault, self.max_age = db, vault, max_age
        self._kept: dict[str, tuple[float, Connection]] = {}
        self._lock = threading.Lock()

    def for_employer(self, employer_id: str | None) -> Connection | None:
        kept = self._kept.get(employer_id)
        if kept is not None and time.monotonic() - kept[0] < self.max_age:
            return kept[1]
        with self.db.transaction() as session:
            row = session.scalar(select(ProviderConnection).where(
                ProviderConnection.employer_id == employer_id, ProviderConnection.active.is_(True))
                .order_by(ProviderConnection.created_at.desc()).limit(1))
            if row is None:
                return None  # not kept: a connection made a moment from now is used at once
            credentials = connection_credentials(self.vault, row)
            connection = Connection(row.id, row.employer_id, row.provider, row.endpoint_url,
                                    MappingProxyType(dict(row.config or {})), MappingProxyType(credentials),
                                    Webhook(credentials["signing_secret"]) if credentials.get("signing_secret")
                                    else None)
        with self._lock:
            self._kept[employer_id] = (time.monotonic(), connection)
        return connection


class KeptAlive:
    """POSTs over a few kept-alive HTTP/1.1 connections per origin, shared by the dispatcher's threads. Each request
    leaves in one write on a socket without Nagle's delay and its answer is read by http.client's parser: at
    thousands of webhooks a second, a richer client's per-request work would be most of what the worker spends.
    Redirects are answers like any other, never followed. Only URLs the outbound policy allows are posted to, and
    a new connection goes to an address the policy checked (backend/payroll/outbound.py); TLS checks the
    certificate against the host name."""

    def __init__(self, policy: OutboundPolicy):
        self.policy = policy
        self._idle: dict[tuple, list[socket.socket]] = {}
        self._lock = threading.Lock()
        self._tls = None

    def post(self, url: str, body: bytes, headers: dict, timeout: float) -> tuple[int, bytes]:
        origin = self.policy.check_url(url)
        parts = urlsplit(url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host = parts.netloc.rsplit("@", 1)[-1]
        if any(ch <= " " for ch in path + host):
            raise ValueError(f"not a URL a request line can carry: {url!r}")
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        request = (f"POST {path} HTTP/1.1\r\nHost: {host}\r\n{head}Content-Length: {len(body)}\r\n\r\n"
                   .encode("latin-1") + body)
        for first_try in (True, False):
            connection, reused = self._take(origin, timeout)
            try:
                connection.settimeout(timeout)
                connection.sendall(request)
                response = http.client.HTTPResponse(connection, method="POST")
                response.begin()
                answer = response.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                connection.close()
                if reused and first_try:
                    continue  # the receiver closed an idle connection: once more on a fresh one (it de-duplicates)
                raise
            except BaseException:
                connection.close()
                raise
            if response.will_close:
                connection.close()
            else:
                with self._lock:
                    self._idle.setdefault(origin, []).append(connection)
            return response.status, answer
        raise AssertionError("unreachable")

    def _take(self, origin: tuple, timeout: float) -> tuple[socket.socket, bool]:
        with self._lock:
            idle = self._idle.get(origin)
            if idle:
                return idle.pop(), True
        scheme, host, port = origin
        connection = self.policy.connect(host, port, timeout)
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if scheme == "https":
            if self._tls is None:
                self._tls = ssl.create_default_context()
            try:
                connection = self._tls.wrap_socket(connection, server_hostname=host)
            except BaseException:
                connection.close()
                raise
        return connection, False


class PlumbWebhookAdapter:
    """Plumb's own webhook: POST the change, signed per the Standard Webhooks specification; a 2xx acknowledges."""

    def __init__(self, policy: OutboundPolicy, timeout: float = TIMEOUT_SECONDS):
        self.timeout = timeout
        self.http = KeptAlive(policy)  # one per process: keep-alive connections to the provider, not one per message

    def deliver(self, connection: Connection, message: Message) -> Delivery:
        if not connection.endpoint_url:
            return Delivery(False, "the connection has no endpoint URL", permanent=True)
        body = json.dumps(change_document(message))
        now = datetime.now(timezone.utc)
        headers = {"webhook-id": message.id, "webhook-timestamp": str(int(now.timestamp())),
                   "webhook-signature": connection.signer.sign(message.id, now, body),
                   "content-type": "application/json"}
        try:
            status, answer = self.http.post(connection.endpoint_url, body.encode(), headers, self.timeout)
        except (OSError, http.client.HTTPException, ValueError) as error:
            return Delivery(False, failure_reason(error))
        if 200 <= status < 300:
            return Delivery(True, result={"status": status})
        # The answer's body stays unread by anyone: it may be an internal service's, and last_error is shown to
        # the sponsor and the participant.
        return Delivery(False, status_failure(status), permanent=refused_for_good(status))


class PullFeedAdapter:
    """Providers that poll GET /v1/payroll/deferral-changes: the message waits for their acknowledgement."""

    def deliver(self, connection: Connection, message: Message) -> Delivery:
        return Delivery(False, parked=True)


def payroll_adapters(db, policy: OutboundPolicy) -> dict:
    """One adapter per kind of provider, each keeping its own pooled connections: built once by the wiring. Every
    one calls out only where `policy` allows."""
    return {"plumb_webhook": PlumbWebhookAdapter(policy), "pull": PullFeedAdapter(),
            "finch": FinchAdapter(db, policy=policy), "gusto": GustoAdapter(policy=policy)}


def deliver_deferral_change(message: Message, *, connections: ActiveConnections, adapters: Mapping) -> Delivery:
    """Hand a deferral change to the employer's payroll through the adapter of its active connection."""
    connection = connections.for_employer(message.employer_id)
    if connection is None:
        return Delivery(False, "the employer has no active payroll connection yet")
    adapter = adapters.get(connection.provider)
    if adapter is None:
        return Delivery(False, f"no adapter for provider {connection.provider!r}")
    try:
        return adapter.deliver(connection, message)
    except Exception as error:
        # An answer the adapter did not expect (a body that is not the JSON it needs, say): the error's text may
        # quote that answer, so the sponsor and the participant see only its kind, and the log no more.
        log.warning("delivering %s through %s failed: %s", message.id, connection.provider, type(error).__name__)
        return Delivery(False, f"the payroll adapter failed ({type(error).__name__})")


def receive_provider_event(session: Session, connection: ProviderConnection, event_id: str, event: dict) -> tuple[bool, str]:
    """Act on a verified provider webhook once: (first time?, what was done). A provider that applies changes
    asynchronously confirms or fails them here by Plumb's message id."""
    if session.scalar(select(ProviderEvent.id).where(ProviderEvent.connection_id == connection.id,
                                                     ProviderEvent.event_id == event_id)):
        return False, "duplicate: already received"
    kind = str(event.get("type", ""))
    data = event.get("data") if isinstance(event.get("data"), dict) else {}
    outcome = "recorded"
    message = session.scalar(select(OutboxMessage).where(OutboxMessage.id == str(data.get("message_id", "")),
                                                         OutboxMessage.employer_id == connection.employer_id))
    if message is not None and kind == "deferral_change.applied" and record_deliveries(
            session, [(message, {"via": "provider_event", "event_id": event_id})]):
        outcome = f"confirmed {message.id}"
    elif message is not None and kind == "deferral_change.failed" and message.status != "delivered":
        mark_dead(session, message, str(data.get("reason", "the provider could not apply it")))
        outcome = f"failed {message.id}"
    session.add(ProviderEvent(connection_id=connection.id, event_id=event_id, type=kind[:100], payload=event,
                              outcome=outcome))
    return True, outcome

