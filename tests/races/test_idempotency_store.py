"""The idempotency store never holds a secret or a token: answers that carry one (a signing secret, an invitation
token, access and refresh tokens) are not kept, and a repeat with the same key is a 409 that says so."""
from sqlalchemy import select

from backend.web.models import IdempotencyRecord
from tests import scenario
from tests.support.problems import assert_problem


def _stored_text(plumb) -> str:
    with plumb.db.transaction() as session:
        return "\n".join(f"{r.owner} {r.key} {r.status} {r.headers} {r.body}"
                         for r in session.scalars(select(IdempotencyRecord)))


def test_no_secret_or_token_is_kept_for_replays_of_connection_setup_signup_or_login(app, client, plumb):
    advisor = scenario.advisor(app, client)
    setup = client.post("/v1/plans/setup", json=scenario.plan_request(),
                        headers={**advisor, "Idempotency-Key": "setup-1"})
    assert setup.status_code == 201, setup.json
    invitation_token = scenario.sponsor_token(app, "sponsor@example.com")
    sponsor_answer = client.post("/v1/auth/invitations/accept", headers={"Idempotency-Key": "accept-1"},
                                 json={"token": invitation_token, "password": scenario.SPONSOR_PASSWORD})
    assert sponsor_answer.status_code == 201, sponsor_answer.json
    sponsor = scenario.bearer(sponsor_answer.json["access_token"])
    employer_id = setup.json["employer"]["id"]
    connection = client.post(f"/v1/employers/{employer_id}/payroll-connections", json={"provider": "pull"},
                             headers={**sponsor, "Idempotency-Key": "connect-1"})
    assert connection.status_code == 201, connection.json
    assert connection.json["secret"].startswith("whsec_")
    rows = [scenario.census_row("E1", "1985-07-19", "2024-03-15", "123-45-6789")]
    assert scenario.upload_csv(client, sponsor, employer_id, rows).status_code == 200
    employee = scenario.employees_by_external_id(client, sponsor, employer_id)["E1"]
    signup_body = {"invite_code": scenario.invite_code(app, employee), "date_of_birth": "1985-07-19", "ssn_last4": "6789",
                   "email": "e1@phone.example.com", "password": scenario.PARTICIPANT_PASSWORD}
    signup = client.post("/mobile/v1/signup", json=signup_body, headers={"Idempotency-Key": "signup-1"})
    assert signup.status_code == 201, signup.json
    login = client.post("/v1/auth/login", headers={"Idempotency-Key": "login-1"},
                        json={"email": "e1@phone.example.com", "password": scenario.PARTICIPANT_PASSWORD})
    assert login.status_code == 200, login.json
    refreshed = client.post("/v1/auth/refresh", json={"refresh_token": login.json["refresh_token"]},
                            headers={"Idempotency-Key": "refresh-1"})
    assert refreshed.status_code == 200

    # Repeats: the secret-bearing answers are not replayed; sign-up is not replayed by key at all.
    again = client.post(f"/v1/employers/{employer_id}/payroll-connections", json={"provider": "pull"},
                        headers={**sponsor, "Idempotency-Key": "connect-1"})
    body = assert_problem(again, 409, "secret-shown-once")
    assert connection.json["id"] in body["detail"] and again.headers["Idempotent-Replayed"] == "true"
    signup_again = client.post("/mobile/v1/signup", json=signup_body, headers={"Idempotency-Key": "signup-1"})
    assert signup_again.status_code != 201 and "Idempotent-Replayed" not in signup_again.headers

    secrets = [connection.json["secret"], invitation_token, sponsor_answer.json["access_token"],
               sponsor_answer.json["refresh_token"], signup.json["access_token"], signup.json["refresh_token"],
               login.json["access_token"], login.json["refresh_token"], refreshed.json["access_token"],
               refreshed.json["refresh_token"]]
    stored = _stored_text(plumb)
    assert "setup-1" in stored and "connect-1" in stored  # the keys are kept, so repeats are recognised
    for secret in secrets:
        assert secret not in stored
    for marker in ("whsec_", "access_token", "refresh_token", '"token"', "anonymous"):
        assert marker not in stored, marker
