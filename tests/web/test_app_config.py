"""/v1/app-config tells the phone app, before anyone logs in, whether push is on: the Firebase web configuration
from PLUMB_FIREBASE_WEB_CONFIG, or null (the app then uses the notification feed only)."""
import json

import pytest

from backend.config import Config, firebase_web_config
from backend.web.security import APP_POLICY
from tests.web.conftest import build_app

FIREBASE = {"apiKey": "AIza-demo", "authDomain": "plumb-demo.firebaseapp.com", "projectId": "plumb-demo",
            "messagingSenderId": "1234567890", "appId": "1:1234567890:web:abc", "vapidKey": "BPublicKey"}


def test_without_a_firebase_configuration_the_app_is_told_push_is_off_and_needs_no_token(client):
    response = client.get("/v1/app-config")
    assert response.status_code == 200
    assert response.json == {"firebase": None}
    assert "googleapis" not in client.get("/app/").headers["Content-Security-Policy"]


@pytest.fixture
def push_app(database_url, tmp_path):
    application = build_app(database_url, tmp_path, firebase_web_config=FIREBASE)
    yield application
    application.extensions["plumb"].db.engine.dispose()


def test_with_one_the_app_gets_it_and_may_reach_firebases_registration_services(push_app):
    client = push_app.test_client()
    assert client.get("/v1/app-config").json == {"firebase": FIREBASE}
    policy = client.get("/app/").headers["Content-Security-Policy"]
    assert policy != APP_POLICY
    assert "connect-src 'self' https://firebaseinstallations.googleapis.com https://fcmregistrations.googleapis.com" \
        in policy


def test_the_setting_is_read_from_the_environment_as_json(monkeypatch, tmp_path):
    monkeypatch.setenv("PLUMB_INSTANCE_DIR", str(tmp_path))
    monkeypatch.setenv("PLUMB_FIREBASE_WEB_CONFIG", json.dumps(FIREBASE))
    assert Config.from_env().firebase_web_config == FIREBASE
    monkeypatch.delenv("PLUMB_FIREBASE_WEB_CONFIG")
    assert Config.from_env().firebase_web_config is None


@pytest.mark.parametrize("raw, complaint", [
    ("{not json", "is not JSON"),
    ('["apiKey"]', "must be a JSON object"),
    (json.dumps({**FIREBASE, "vapidKey": ""}), "missing ['vapidKey']"),
    (json.dumps({**FIREBASE, "apikey": "x"}), "unknown ['apikey']"),
])
def test_a_malformed_setting_stops_the_server_naming_what_is_wrong(raw, complaint):
    with pytest.raises(ValueError, match="PLUMB_FIREBASE_WEB_CONFIG") as raised:
        firebase_web_config(raw)
    assert complaint in str(raised.value)
