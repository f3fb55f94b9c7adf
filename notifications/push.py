"""Push notifications to phones: Firebase Cloud Messaging through the firebase-admin SDK, or, without credentials, a
sender that only logs that a push would go.

A sender takes `PushMessage`s and answers one `PushOutcome` per message, in order: delivered; token_gone (FCM says
the registration token is dead: the caller removes the device); retry_later (FCM is busy or down: the caller tries
again, no sooner than FCM's Retry-After when it gave one); refused (anything else: trying again will not help).
Nothing here stores anything: the feed entry and the outbox message are the caller's.

Lock screens are public and logs are read by operators: a push's title and body are never logged, only its kind
and deep link (the `kind` and `link` keys of its data payload).
"""
import email.utils
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from types import MappingProxyType
from typing import Protocol

import firebase_admin
import requests
from firebase_admin import credentials, exceptions, messaging
from urllib3.util.retry import Retry

from backend.config import Config

log = logging.getLogger(__name__)

# The data payload keys every push is expected to carry: what it is about and the app screen it opens.
DATA_KIND = "kind"
DATA_LINK = "link"
# FCM's limit for one send_each call.
BATCH_SIZE = 500
FCM_ORIGIN = "https://fcm.googleapis.com"
# Retries inside one send: only a dropped connection or read, once. The SDK's own default also retries 500 and 503
# up to four times with backoff, honouring Retry-After, which would hold an outbox worker for minutes on a busy
# FCM; those come back as retry_later instead and the outbox schedules the next try.
RETRIES = Retry(connect=1, read=1, status=0, other=0, raise_on_status=False, allowed_methods=None)

DELIVERED = "delivered"
TOKEN_GONE = "token_gone"
RETRY_LATER = "retry_later"
REFUSED = "refused"


@dataclass(frozen=True)
class PushMessage:
    """One notification to one device. `data` travels to the app untouched (FCM allows only strings there)."""

    token: str
    title: str
    body: str
    data: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self):
        if not isinstance(self.token, str) or not self.token:
            raise ValueError("a push needs a device token")
        if not isinstance(self.title, str) or not isinstance(self.body, str):
            raise ValueError("a push's title and body are text")
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in self.data.items()):
            raise ValueError("a push's data payload maps text to text (FCM refuses anything else)")
        object.__setattr__(self, "data", MappingProxyType(dict(self.data)))


@dataclass(frozen=True)
class PushOutcome:
    """What became of one push."""

    token: str
    status: str  # DELIVERED, TOKEN_GONE, RETRY_LATER or REFUSED
    message_id: str | None = None  # FCM's name for a delivered message
    detail: str | None = None  # FCM's error code and message (never the push's text)
    retry_after: timedelta | None = None  # for RETRY_LATER, when FCM said how long to wait

    @property
    def delivered(self) -> bool:
        return self.status == DELIVERED


class PushSender(Protocol):
    def send(self, messages: Sequence[PushMessage]) -> list[PushOutcome]: ...

    def describe(self) -> str: ...


def retry_after_of(value: str | None, now: datetime) -> timedelta | None:
    """An HTTP Retry-After header (RFC 9110 §10.2.3: seconds, or an HTTP date) as a wait from `now`."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return timedelta(seconds=int(value))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(when - now, timedelta(0))


def _is_about_the_token(error: exceptions.FirebaseError) -> bool:
    """INVALID_ARGUMENT is FCM's answer both to a malformed token and to a malformed message; only the first means
    the device is gone. FCM names the offending field in a google.rpc.BadRequest detail; older answers only say it
    in the message."""
    response = error.http_response
    try:
        details = response.json().get("error", {}).get("details", []) if response is not None else []
    except ValueError:
        details = []
    fields = {violation.get("field") for detail in details if isinstance(detail, dict)
              for violation in detail.get("fieldViolations", []) if isinstance(violation, dict)}
    if fields:
        return fields <= {"message.token"}
    return "registration token" in str(error).lower()


def outcome_of(token: str, response: messaging.SendResponse, now: datetime) -> PushOutcome:
    """One FCM answer (https://firebase.google.com/docs/cloud-messaging/send/admin-sdk, error codes) as an outcome."""
    if response.success:
        return PushOutcome(token, DELIVERED, message_id=response.message_id)
    error = response.exception
    detail = f"{error.code}: {error}"[:500] if isinstance(error, exceptions.FirebaseError) else repr(error)[:500]
    if isinstance(error, messaging.UnregisteredError):
        return PushOutcome(token, TOKEN_GONE, detail=detail)
    if isinstance(error, exceptions.InvalidArgumentError) and _is_about_the_token(error):
        return PushOutcome(token, TOKEN_GONE, detail=detail)
    # QUOTA_EXCEEDED (429, a ResourceExhaustedError), UNAVAILABLE (503), INTERNAL (500), and a connection or
    # timeout on the way (the SDK reports those as UNAVAILABLE, DEADLINE_EXCEEDED or UNKNOWN).
    if isinstance(error, (exceptions.ResourceExhaustedError, exceptions.UnavailableError, exceptions.InternalError,
                          exceptions.DeadlineExceededError)) or (
            isinstance(error, exceptions.UnknownError) and error.http_response is None):
        headers = error.http_response.headers if error.http_response is not None else {}
        return PushOutcome(token, RETRY_LATER, detail=detail,
                           retry_after=retry_after_of(headers.get("Retry-After"), now))
    return PushOutcome(token, REFUSED, detail=detail)


class FcmSender:
    """Sends through firebase-admin's `messaging.send_each`, up to 500 messages a call, on a firebase app of its own
    (so it never meets another part of the process's default app)."""

    def __init__(self, credential: credentials.Base, project_id: str = "", *, app_name: str = "plumb-push",
                 transport: requests.adapters.HTTPAdapter | None = None):
        options = {"projectId": project_id} if project_id else {}
        self.app = firebase_admin.initialize_app(credential, options, name=app_name)
        self.project_id = self.app.project_id
        # The SDK offers no setting for its HTTP retries or its transport: they live on the session of its
        # messaging service, which is replaced here under the same URL prefix the SDK mounts its own adapter on.
        session = messaging._get_messaging_service(self.app)._client.session
        session.mount(FCM_ORIGIN, transport or requests.adapters.HTTPAdapter(
            pool_connections=BATCH_SIZE, pool_maxsize=BATCH_SIZE, max_retries=RETRIES))
        # The environment's proxy and CA bundle for FCM, read once here: requests would otherwise read the whole
        # environment again on every request, a tenth of a millisecond a push, a second for a 10,000-person pay run.
        # (Nor is a .netrc entry for fcm.googleapis.com ever to replace the OAuth2 token.)
        session.proxies.update(requests.utils.get_environ_proxies(FCM_ORIGIN))
        bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        if bundle:
            session.verify = bundle
        session.trust_env = False

    @classmethod
    def from_service_account(cls, path: str, project_id: str = "", **kwargs) -> "FcmSender":
        return cls(credentials.Certificate(path), project_id, **kwargs)

    def describe(self) -> str:
        return f"push through FCM, project {self.project_id}"

    def send(self, messages: Sequence[PushMessage]) -> list[PushOutcome]:
        outcomes = []
        for start in range(0, len(messages), BATCH_SIZE):
            batch = messages[start:start + BATCH_SIZE]
            log.debug("push: batch of %d to FCM", len(batch))
            result = messaging.send_each([self._fcm_message(m) for m in batch], app=self.app)
            now = datetime.now(timezone.utc)
            outcomes += [outcome_of(m.token, r, now) for m, r in zip(batch, result.responses)]
        counts = {}
        for outcome in outcomes:
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
        log.info("push: %d sent through FCM: %s", len(outcomes), counts)
        return outcomes

    @staticmethod
    def _fcm_message(message: PushMessage) -> messaging.Message:
        fcm = messaging.Message(notification=messaging.Notification(title=message.title, body=message.body),
                                data=dict(message.data))
        # A registration token from the apps' getToken(), which FCM's v1 API takes as `message.token`. The SDK 7.7
        # deprecates the token argument in favour of installation ids (`fid`), which are not what the apps register;
        # setting the attribute sends the same field without the warning (warnings filters are not thread-safe).
        fcm.token = message.token
        return fcm

    def close(self) -> None:
        firebase_admin.delete_app(self.app)


class LoggingPushSender:
    """Without FCM credentials (development, the demo): logs that each push would go, by kind and deep link only,
    and answers delivered."""

    def describe(self) -> str:
        return "push not sent: no FCM credentials (PLUMB_FCM_CREDENTIALS), pushes are only logged"

    def send(self, messages: Sequence[PushMessage]) -> list[PushOutcome]:
        for message in messages:
            log.info("push would go: kind=%s link=%s", message.data.get(DATA_KIND), message.data.get(DATA_LINK))
        return [PushOutcome(m.token, DELIVERED) for m in messages]

    def close(self) -> None:
        pass


def push_sender(config: Config) -> FcmSender | LoggingPushSender:
    """The sender the settings ask for: FCM with a service-account file, else the logging sender."""
    if config.fcm_credentials_file:
        return FcmSender.from_service_account(config.fcm_credentials_file, config.fcm_project_id)
    return LoggingPushSender()


def describe_push_sender(sender: PushSender) -> str:
    """One line for the server to say at start which push sender is in use."""
    return sender.describe()
