"""Per-client rate limits (review L-3) on login, refresh, sign-up and invitation accept, beside the per-account
throttles: one client cannot spray many accounts, and a stranger cannot lock a known account."""
import pytest

from backend.web.limits import PER_CLIENT
from tests.scenario import ADVISOR_PASSWORD, create_advisor
from tests.support.problems import assert_problem

STRANGER = {"REMOTE_ADDR": "198.51.100.66"}
OWNER = {"REMOTE_ADDR": "203.0.113.7"}


def test_thirty_logins_to_thirty_emails_from_one_client_are_cut_off(limited_app):
    client = limited_app.test_client()
    answers = [client.post("/v1/auth/login", json={"email": f"user{i}@example.com", "password": "wrong-password!"},
                           environ_base=STRANGER) for i in range(30)]
    statuses = [a.status_code for a in answers]
    # The per-client limit (20 a minute) refuses the rest; no email failed more than once, so no account did.
    assert statuses == [401] * 20 + [429] * 10, statuses
    body = assert_problem(answers[-1], 429, "too-many-requests")
    assert 1 <= int(answers[-1].headers["Retry-After"]) <= 60 and body["request_id"]
    # Another client is not affected.
    other = client.post("/v1/auth/login", json={"email": "user0@example.com", "password": "wrong-password!"},
                        environ_base=OWNER)
    assert other.status_code == 401


def test_a_stranger_cannot_lock_a_known_account(limited_app):
    create_advisor(limited_app)
    client = limited_app.test_client()
    guess = {"email": "Advisor@Example.com", "password": "wrong-password!"}
    statuses = [client.post("/v1/auth/login", json=guess, environ_base=STRANGER).status_code for _ in range(8)]
    # Five failures from one client, then that client is refused for this account: the account's failures are
    # counted per client, so the owner, from elsewhere, still gets in.
    assert statuses == [401] * 5 + [429] * 3, statuses
    owner = client.post("/v1/auth/login", json={"email": "advisor@example.com", "password": ADVISOR_PASSWORD},
                        environ_base=OWNER)
    assert owner.status_code == 200, owner.json
    # The stranger may still try other accounts (the spray limit is the other one).
    assert client.post("/v1/auth/login", json={"email": "someone@example.com", "password": "wrong-password!"},
                       environ_base=STRANGER).status_code == 401


def test_a_good_login_does_not_count_against_the_account_limit(limited_app):
    create_advisor(limited_app)
    client = limited_app.test_client()
    good = {"email": "advisor@example.com", "password": ADVISOR_PASSWORD}
    assert [client.post("/v1/auth/login", json=good, environ_base=OWNER).status_code for _ in range(6)] == [200] * 6


@pytest.mark.parametrize("path, endpoint", [("/v1/auth/refresh", "auth.Refresh"),
                                            ("/v1/auth/invitations/accept", "auth.AcceptInvitation"),
                                            ("/mobile/v1/signup", "mobile.SignUp")])
def test_refresh_sign_up_and_invitation_accept_are_limited_per_client(limited_app, path, endpoint):
    client = limited_app.test_client()
    per_minute = int(PER_CLIENT[endpoint].split(" ")[0])
    statuses = [client.post(path, json={}, environ_base=STRANGER).status_code for _ in range(per_minute + 2)]
    assert 429 not in statuses[:per_minute] and statuses[per_minute:] == [429, 429], statuses
    assert_problem(client.post(path, json={}, environ_base=STRANGER), 429, "too-many-requests")
    assert client.post(path, json={}, environ_base=OWNER).status_code != 429


def test_the_limited_operations_document_their_429(client):
    spec = client.get("/openapi.json").json
    for path in ("/v1/auth/login", "/v1/auth/refresh", "/v1/auth/invitations/accept", "/mobile/v1/signup"):
        assert "Retry-After" in spec["paths"][path]["post"]["responses"]["429"]["headers"], path


def test_limits_are_off_when_the_setting_says_so(client):
    statuses = {client.post("/v1/auth/invitations/accept", json={}).status_code for _ in range(15)}
    assert 429 not in statuses
