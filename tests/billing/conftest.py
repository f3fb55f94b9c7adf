"""The billing tests' Stripe: localstripe started as a process on a free loopback port, and the app's own
stripe-python client pointed at it through its base-address setting; webhooks signed with a test secret exactly as
Stripe signs them."""
import hashlib
import hmac
import json
import time

import pytest
from cryptography.fernet import Fernet

from backend.app import create_app
from backend.clock import Clock
from backend.config import Config
from tests.conftest import TODAY
from tests.support.local_servers import LocalStripe
from tests.support.receivers import free_port

API_KEY = "sk_test_plumb"
WEBHOOK_SECRET = "whsec_plumb_test_secret"


@pytest.fixture(scope="module")
def localstripe(tmp_path_factory):
    server = LocalStripe(tmp_path_factory.mktemp("localstripe"), free_port()).start()
    yield server
    server.stop()


@pytest.fixture
def app(database_url, tmp_path, localstripe):
    """The usual test app (tests/conftest.py), billing through localstripe."""
    config = Config(database_url=database_url, jwt_secret="test-secret-" + "x" * 32,
                    pii_key=Fernet.generate_key().decode(), password_time_cost=1, password_memory_kib=8192,
                    allow_loopback_http=True, rate_limits_enabled=False, instance_dir=str(tmp_path), testing=True,
                    stripe_api_key=API_KEY, stripe_webhook_secret=WEBHOOK_SECRET, stripe_api_base=localstripe.base_url,
                    billing_base_fee_cents=5000, billing_participant_cents=400, billing_grace_days=14)
    application = create_app(config, clock=Clock(fixed_today=TODAY))
    yield application
    application.extensions["plumb"].db.engine.dispose()


def stripe_signature(body: bytes, secret: str = WEBHOOK_SECRET, at: int | None = None) -> str:
    """The Stripe-Signature header Stripe sends: `t=<unix>,v1=<hex HMAC-SHA256 of "t.body">`."""
    at = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={at},v1={digest}"


def stripe_event(event_id: str, type_: str, obj: dict) -> bytes:
    """A Stripe event's body as Stripe sends it."""
    return json.dumps({"id": event_id, "object": "event", "type": type_, "api_version": "2024-06-20",
                       "created": int(time.time()), "livemode": False, "data": {"object": obj}}).encode()


@pytest.fixture
def plumb_without_billing(database_url, tmp_path):
    """The app with no Stripe settings at all (the embedded default), a client and the usual cast."""
    from tests import scenario

    config = Config(database_url=database_url, jwt_secret="test-secret-" + "x" * 32,
                    pii_key=Fernet.generate_key().decode(), password_time_cost=1, password_memory_kib=8192,
                    allow_loopback_http=True, rate_limits_enabled=False, instance_dir=str(tmp_path), testing=True)
    application = create_app(config, clock=Clock(fixed_today=TODAY))
    client = application.test_client()
    yield application, client, scenario.World(application, client, requires_approval=False)
    application.extensions["plumb"].db.engine.dispose()
