"""Security headers on every answer (review L-4): nosniff, frame-deny, a strict content security policy, no
referrer, HSTS over https only, `Cache-Control: no-store` on authenticated and token answers."""
from backend.web.security import API_POLICY
from tests.scenario import ADVISOR_PASSWORD, create_advisor, login
from tests.web.conftest import build_app


def assert_hardened(response):
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Content-Security-Policy"] == API_POLICY


def test_every_answer_carries_the_security_headers_and_the_api_allows_no_content_at_all(client):
    answers = [client.get("/openapi.json"), client.get("/no-such-thing"), client.get("/v1/auth/me"),
               client.post("/v1/auth/login", json={}), client.get("/healthz")]
    assert [a.status_code for a in answers] == [200, 404, 401, 422, 200]
    for answer in answers:
        assert_hardened(answer)
    assert "frame-ancestors 'none'" in API_POLICY and API_POLICY.startswith("default-src 'none'")


def test_token_answers_and_answers_to_authenticated_requests_are_not_stored(app, client):
    create_advisor(app)
    token = client.post("/v1/auth/login", json={"email": "advisor@example.com", "password": ADVISOR_PASSWORD})
    assert token.status_code == 200 and token.headers["Cache-Control"] == "no-store"
    refreshed = client.post("/v1/auth/refresh", json={"refresh_token": token.json["refresh_token"]})
    assert refreshed.status_code == 200 and refreshed.headers["Cache-Control"] == "no-store"
    me = client.get("/v1/auth/me", headers=login(client, "advisor@example.com", ADVISOR_PASSWORD))
    assert me.status_code == 200 and me.headers["Cache-Control"] == "no-store"
    # A failed login is a token answer too (what comes back must not be kept either).
    assert client.post("/v1/auth/login", json={"email": "x@example.com", "password": "wrong-password"}) \
        .headers["Cache-Control"] == "no-store"
    assert "Cache-Control" not in client.get("/healthz").headers


def test_hsts_is_sent_over_https_only(client):
    assert "Strict-Transport-Security" not in client.get("/healthz").headers
    secure = client.get("/healthz", base_url="https://plumb.example")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_forwarded_https_counts_only_behind_a_trusted_proxy(database_url, tmp_path):
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    direct = build_app(database_url, tmp_path)
    assert "Strict-Transport-Security" not in direct.test_client().get("/healthz", headers=forwarded).headers
    proxied = build_app(database_url, tmp_path, proxy_hops=1)
    assert "Strict-Transport-Security" in proxied.test_client().get("/healthz", headers=forwarded).headers
    for app in (direct, proxied):
        app.extensions["plumb"].db.engine.dispose()

