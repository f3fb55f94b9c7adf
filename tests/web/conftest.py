"""An app with the per-client rate limits on (the shared app fixture has them off, so other tests are not limited)."""
import pytest
from cryptography.fernet import Fernet

from backend.app import create_app
from backend.clock import Clock
from backend.config import Config
from tests.conftest import TODAY


def build_app(database_url: str, tmp_path, **settings):
    settings = {"rate_limits_enabled": False, **settings}
    config = Config(database_url=database_url, jwt_secret="test-secret-" + "x" * 32,
                    pii_key=Fernet.generate_key().decode(), password_time_cost=1, password_memory_kib=8192,
                    allow_loopback_http=True, instance_dir=str(tmp_path), testing=True, **settings)
    return create_app(config, clock=Clock(fixed_today=TODAY))


@pytest.fixture
def limited_app(database_url, tmp_path):
    application = build_app(database_url, tmp_path, rate_limits_enabled=True)
    yield application
    application.extensions["plumb"].db.engine.dispose()
