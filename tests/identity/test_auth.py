"""Authentication through HTTP (and the `plumb user create` CLI): passwords, throttling, JWT access tokens, rotating
refresh tokens with reuse detection, logout, and sponsor-admin invitations."""
import time

import jwt
import pytest

from tests import scenario
from tests.support import run_cli
from tests.support.problems import assert_problem

EMAIL = "advisor@example.com"
PASSWORD = scenario.ADVISOR_PASSWORD


def cli_create(app, email=EMAIL, password=PASSWORD, role="advisor"):
    return run_cli(app, args=["user", "create", "--email", email, "--password", password,
                                              "--role", role])


def login(client, email=EMAIL, password=PASSWORD):
    return client.post("/v1/auth/login", json={"email": email, "password": password})


def me(client, access_token):
    return client.get("/v1/auth/me", headers=scenario.bearer(access_token))


def refresh(client, refresh_token):
    return client.post("/v1/auth/refresh", json={"refresh_token": refresh_token})


@pytest.fixture
def user(app):
    result = cli_create(app)
    assert result.exit_code == 0, result.output
    return EMAIL


# ---- plumb user create ---------------------------------------------------------------------------------------------

def test_cli_creates_a_user_who_can_log_in(app, client):
    result = cli_create(app, email="  Advisor@Example.COM ")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("created advisor advisor@example.com (usr_")

    response = login(client, "advisor@example.com")
    assert response.status_code == 200, response.json
    assert response.json["user"]["email"] == "advisor@example.com"
    assert response.json["user"]["role"] == "advisor"
    assert response.json["user"]["id"] in result.output


def test_cli_refuses_a_duplicate_email(app, client, user):
    result = cli_create(app, email="ADVISOR@example.com", password="another-password-9", role="platform_admin")
    assert result.exit_code != 0
    assert "A user with this email already exists." in result.output
    assert "email: is already registered" in result.output
    # The first user is untouched: the old password works, the new one does not, the role is unchanged.
    assert login(client).json["user"]["role"] == "advisor"
    assert login(client, password="another-password-9").status_code == 401


def test_cli_refuses_a_short_password(app, client):
    result = cli_create(app, email="short@example.com", password="123456789")
    assert result.exit_code != 0
    assert "password: must be at least 12 characters" in result.output
    assert_problem(login(client, "short@example.com", "123456789"), 401, "unauthenticated")


# ---- login -----------------------------------------------------------------------------------------------------------

def test_login_returns_tokens_and_the_user(app, client, user):
    response = login(client)
    assert response.status_code == 200, response.json
    body = response.json
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in", "user"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert body["access_token"] and body["refresh_token"] and body["access_token"] != body["refresh_token"]
    assert body["user"]["email"] == EMAIL and body["user"]["role"] == "advisor"
    assert body["user"]["id"].startswith("usr_")
    assert body["user"]["employer_id"] is None and body["user"]["employee_id"] is None
    assert "password" not in body["user"] and "password_hash" not in body["user"]
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["sub"] == body["user"]["id"] and claims["typ"] == "access"
    assert claims["exp"] - claims["iat"] == 900


def test_wrong_password_is_a_401_problem(app, client, user):
    response = login(client, password="not-the-password")
    body = assert_problem(response, 401, "unauthenticated", "The email or password is wrong.")
    assert "access_token" not in body
    # An unknown email gets the very same answer, so it does not reveal which addresses exist.
    unknown = assert_problem(login(client, "nobody@example.com"), 401, "unauthenticated")
    assert unknown["detail"] == body["detail"]


def test_login_is_throttled_after_five_failures(app, client, plumb, user):
    other = "other@example.com"
    assert cli_create(app, email=other, role="platform_admin").exit_code == 0
    assert plumb.config.login_max_failures == 5
    for _ in range(5):
        assert login(client, password="wrong-password!").status_code == 401

    # The sixth attempt is refused even with the right password.
    response = login(client)
    assert_problem(response, 429, "too-many-attempts")
    assert "access_token" not in response.json
    retry_after = int(response.headers["Retry-After"])
    assert plumb.config.login_window_seconds - 60 <= retry_after <= plumb.config.login_window_seconds + 1
    # Still refused, with the right and the wrong password alike.
    assert login(client).status_code == 429
    assert login(client, password="wrong-password!").status_code == 429

    # Another account is not affected.
    response = login(client, other)
    assert response.status_code == 200, response.json
    assert response.json["user"]["email"] == other


def test_a_strangers_failures_lock_out_the_stranger_not_the_owner(app, client, plumb, user):
    """Failures are counted per account and client (security review L-3: any known account could be locked)."""
    stranger, owner = {"REMOTE_ADDR": "198.51.100.66"}, {"REMOTE_ADDR": "203.0.113.7"}
    guess = {"email": EMAIL, "password": "wrong-password!"}
    statuses = [client.post("/v1/auth/login", json=guess, environ_base=stranger).status_code for _ in range(7)]
    assert statuses == [401] * 5 + [429] * 2
    mine = client.post("/v1/auth/login", json={**guess, "password": PASSWORD}, environ_base=owner)
    assert mine.status_code == 200, mine.json


def test_guessing_spread_over_many_clients_locks_the_account_at_its_ceiling(app, client, plumb, user):
    ceiling = plumb.config.login_max_failures_all_clients
    guess = {"email": EMAIL, "password": "wrong-password!"}
    for i in range(ceiling):
        client_address = {"REMOTE_ADDR": f"198.51.{i // 250}.{i % 250 + 1}"}
        assert client.post("/v1/auth/login", json=guess, environ_base=client_address).status_code == 401
    owner = client.post("/v1/auth/login", json={**guess, "password": PASSWORD},
                        environ_base={"REMOTE_ADDR": "203.0.113.7"})
    assert_problem(owner, 429, "too-many-attempts")


def test_four_failures_do_not_lock_the_account(app, client, user):
    for _ in range(4):
        assert login(client, password="wrong-password!").status_code == 401
    assert login(client).status_code == 200


# ---- refresh tokens ---------------------------------------------------------------------------------------------------

def test_refresh_rotates_the_pair_and_the_old_token_then_fails(app, client, user):
    first = login(client).json
    response = refresh(client, first["refresh_token"])
    assert response.status_code == 200, response.json
    second = response.json
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert second["user"]["id"] == first["user"]["id"]
    assert me(client, second["access_token"]).json["email"] == EMAIL

    assert_problem(refresh(client, first["refresh_token"]), 401, "unauthenticated")


def test_reusing_a_spent_refresh_token_revokes_the_family(app, client, user):
    first = login(client).json
    other_session = login(client).json  # a second login is another family and must survive
    second = refresh(client, first["refresh_token"]).json
    third = refresh(client, second["refresh_token"]).json
    assert me(client, third["access_token"]).status_code == 200

    # Someone replays the first (spent) refresh token: the whole session ends.
    assert_problem(refresh(client, first["refresh_token"]), 401, "unauthenticated")
    assert_problem(refresh(client, third["refresh_token"]), 401, "unauthenticated")
    for access in (first["access_token"], second["access_token"], third["access_token"]):
        assert_problem(me(client, access), 401, "unauthenticated")

    assert me(client, other_session["access_token"]).status_code == 200
    assert refresh(client, other_session["refresh_token"]).status_code == 200


def test_unknown_refresh_token_is_rejected(app, client, user):
    assert_problem(refresh(client, "x" * 43), 401, "unauthenticated", "The refresh token is not valid.")


# ---- logout ----------------------------------------------------------------------------------------------------------

def test_logout_ends_the_session(app, client, user):
    tokens = login(client).json
    other_session = login(client).json
    assert me(client, tokens["access_token"]).status_code == 200

    response = client.post("/v1/auth/logout", headers=scenario.bearer(tokens["access_token"]))
    assert response.status_code == 204
    assert_problem(me(client, tokens["access_token"]), 401, "unauthenticated")
    assert_problem(refresh(client, tokens["refresh_token"]), 401, "unauthenticated")
    # Only that session ended.
    assert me(client, other_session["access_token"]).status_code == 200


def test_logout_needs_a_token(app, client):
    assert_problem(client.post("/v1/auth/logout"), 401, "unauthenticated")


# ---- access tokens ---------------------------------------------------------------------------------------------------

def _forge(plumb, access_token, secret=None, **changes):
    """The claims of a real access token, changed and signed again (by default with the app's own secret)."""
    claims = jwt.decode(access_token, options={"verify_signature": False})
    claims.update(changes)
    return jwt.encode(claims, secret or plumb.config.jwt_secret, algorithm="HS256")


def test_expired_access_token_is_rejected(app, client, plumb, user):
    access = login(client).json["access_token"]
    now = int(time.time())
    # Control: the same claims re-signed with the app's secret and a future expiry are accepted...
    assert me(client, _forge(plumb, access, exp=now + 600)).status_code == 200
    # ...so the refusal below is about the expiry alone.
    expired = _forge(plumb, access, iat=now - 1200, exp=now - 300)
    assert_problem(me(client, expired), 401, "unauthenticated", "The access token has expired; refresh it.")


def test_access_token_with_no_lifetime_is_rejected(database_url, client, user):
    # An app whose tokens live 0 seconds (same database, same secret): tokens it issues are already expired.
    from backend.app import create_app
    from backend.clock import Clock
    from backend.config import Config
    from tests.conftest import TODAY

    base = client.application.extensions["plumb"].config
    config = Config(database_url=database_url, jwt_secret=base.jwt_secret, pii_key=base.pii_key,
                    access_token_seconds=-1, password_time_cost=1, password_memory_kib=8192, testing=True)
    short = create_app(config, clock=Clock(fixed_today=TODAY))
    try:
        short_client = short.test_client()
        response = login(short_client)
        assert response.status_code == 200, response.json
        assert_problem(me(short_client, response.json["access_token"]), 401, "unauthenticated")
    finally:
        short.extensions["plumb"].db.engine.dispose()


def test_token_signed_with_another_secret_is_rejected(app, client, plumb, user):
    access = login(client).json["access_token"]
    forged = _forge(plumb, access, secret="another-secret-" + "y" * 32, exp=int(time.time()) + 600)
    assert_problem(me(client, forged), 401, "unauthenticated", "The access token is not valid.")
    unsigned = jwt.encode(jwt.decode(access, options={"verify_signature": False}), key=None, algorithm="none")
    assert_problem(me(client, unsigned), 401, "unauthenticated")
    assert_problem(me(client, "not.a.jwt"), 401, "unauthenticated")


def test_a_well_signed_token_naming_a_session_that_never_existed_is_refused(app, client, plumb, user):
    """Were the signing key to leak, a token minted for an invented session could not be ended by any logout: such
    a token is refused (security review, informational note on access tokens)."""
    access = login(client).json["access_token"]
    assert me(client, access).status_code == 200
    invented = _forge(plumb, access, sid="sess_invented", exp=int(time.time()) + 600)
    assert_problem(me(client, invented), 401, "unauthenticated", "This session has ended; log in again.")


def test_a_refresh_token_is_not_an_access_token(app, client, user):
    tokens = login(client).json
    assert_problem(me(client, tokens["refresh_token"]), 401, "unauthenticated")


# ---- /v1/auth/me -------------------------------------------------------------------------------------------------------

def test_me_returns_the_logged_in_user(app, client, user):
    tokens = login(client).json
    response = me(client, tokens["access_token"])
    assert response.status_code == 200, response.json
    assert response.json == tokens["user"]
    assert response.json == {"id": tokens["user"]["id"], "email": EMAIL, "role": "advisor",
                             "employer_id": None, "employee_id": None}


def test_me_without_a_bearer_token_is_401(app, client, user):
    assert_problem(client.get("/v1/auth/me"), 401, "unauthenticated")
    access = login(client).json["access_token"]
    assert_problem(client.get("/v1/auth/me", headers={"Authorization": f"Basic {access}"}), 401, "unauthenticated")


# ---- sponsor invitations -----------------------------------------------------------------------------------------------

def _invitation(app, client):
    advisor = scenario.advisor(app, client)
    setup = scenario.setup_plan(client, advisor, sponsor_email="Sponsor@Example.com")
    return setup


def test_sponsor_invitation_is_accepted_once(app, client):
    setup = _invitation(app, client)
    assert setup["sponsor_invitation"]["email"] == "sponsor@example.com"
    token = scenario.sponsor_token(app, "sponsor@example.com")

    response = client.post("/v1/auth/invitations/accept", json={"token": token, "password": scenario.SPONSOR_PASSWORD})
    assert response.status_code == 201, response.json
    user = response.json["user"]
    assert (user["email"], user["role"], user["employer_id"]) == ("sponsor@example.com", "sponsor_admin",
                                                                  setup["employer"]["id"])
    assert me(client, response.json["access_token"]).json["id"] == user["id"]
    # The sponsor admin can now log in, and sees their employer.
    sponsor = scenario.login(client, "sponsor@example.com", scenario.SPONSOR_PASSWORD)
    employers = client.get("/v1/employers", headers=sponsor).json
    assert [e["id"] for e in employers] == [setup["employer"]["id"]]

    again = client.post("/v1/auth/invitations/accept", json={"token": token, "password": "a-different-password"})
    assert_problem(again, 404, "not-found")
    assert login(client, "sponsor@example.com", "a-different-password").status_code == 401


def test_invitation_with_a_short_password_is_422_and_stays_usable(app, client):
    _invitation(app, client)
    token = scenario.sponsor_token(app, "sponsor@example.com")
    response = client.post("/v1/auth/invitations/accept", json={"token": token, "password": "short"})
    body = assert_problem(response, 422, "validation")
    assert [e["field"] for e in body["errors"]] == ["password", "password"]  # too short, too easy to guess
    assert "12 characters" in body["errors"][0]["message"]
    assert login(client, "sponsor@example.com", "short").status_code == 401

    response = client.post("/v1/auth/invitations/accept", json={"token": token, "password": scenario.SPONSOR_PASSWORD})
    assert response.status_code == 201, response.json


def test_unknown_invitation_token_is_404(app, client):
    response = client.post("/v1/auth/invitations/accept",
                           json={"token": "no-such-invitation-token", "password": scenario.SPONSOR_PASSWORD})
    assert_problem(response, 404, "not-found")
