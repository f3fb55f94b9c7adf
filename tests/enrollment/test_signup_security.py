"""Sign-up cannot be taken over by staff (security review H-3, M-3, L-3, M-9): the invite code reaches the employee
only (a message to the census email or phone), no staff view or answer carries anything the sign-up proof uses,
staff can resend but never read, a wrongly claimed account can be unlinked, and tries sent together are counted."""
import logging
import stat

import pytest
from sqlalchemy import select

from backend.outbox import OutboxMessage
from backend.plans.models import Employee
from notifications.files import messages_dir
from tests import scenario
from tests.support.problems import assert_problem
from tests.support.served import all_at_once, race_trials

E1_BORN, E1_SSN4 = "1985-07-19", "6789"
E2_BORN, E2_SSN4 = "2006-03-10", "4321"


@pytest.fixture
def world(app, client):
    return scenario.World(app, client)


def signup_body(code: str, born: str = E2_BORN, ssn4: str = E2_SSN4, email: str = "e2@phone.example.com") -> dict:
    return {"invite_code": code, "date_of_birth": born, "ssn_last4": ssn4, "email": email,
            "password": scenario.PARTICIPANT_PASSWORD}


def audit(client, world) -> list[dict]:
    response = client.get(f"/v1/employers/{world.employer_id}/audit-events?limit=500", headers=world.sponsor)
    assert response.status_code == 200, response.json
    return response.json["data"]


def staff_user_id(client, headers) -> str:
    return client.get("/v1/auth/me", headers=headers).json["id"]


# ---- the review's takeover ----------------------------------------------------------------------------------------

def test_no_staff_view_or_answer_carries_the_code_the_full_date_of_birth_or_the_ssn_digits(app, client, world):
    code = scenario.invite_code(app, world.employees["E2"])
    e2 = world.employees["E2"]
    for staff in (world.sponsor, world.advisor):
        answers = [client.get(f"/v1/employers/{world.employer_id}/employees?limit=500", headers=staff),
                   client.get(f"/v1/employees/{e2['id']}", headers=staff),
                   client.get(f"/v1/employers/{world.employer_id}/audit-events?limit=500", headers=staff)]
        for answer in answers:
            assert answer.status_code == 200, answer.json
            text = answer.get_data(as_text=True)
            assert code not in text and E2_BORN not in text and E1_BORN not in text
            assert "invite_code" not in text and "date_of_birth" not in text and "ssn_last4" not in text
        assert answers[1].json["birth_year"] == 2006 and answers[1].json["invitation"] == "sent"
    # The census upload's answer and the plan-setup answer carry no code or token either.
    upload = scenario.upload_csv(client, world.sponsor, world.employer_id,
                                 [scenario.census_row("E3", "1970-01-31", "2010-09-01", "555-12-3434")])
    assert upload.status_code == 200 and set(upload.json["employees"][0]) == {"id", "external_id"}
    assert code not in upload.get_data(as_text=True)
    assert set(world.setup["sponsor_invitation"]) == {"email", "expires_at"}


def test_staff_who_know_the_date_of_birth_and_ssn_cannot_sign_up_without_the_code(app, client, world):
    e2 = world.employees["E2"]
    no_code = client.post("/mobile/v1/signup", json={k: v for k, v in signup_body("").items() if k != "invite_code"})
    assert_problem(no_code, 422, "validation")
    # Codes look like the ones employees get, but staff can only guess them.
    guessed = client.post("/mobile/v1/signup", json=signup_body("ABCDEFGHJK", email="attacker@attacker.example"))
    assert_problem(guessed, 404)
    # The employee's own code, from their own mailbox, works.
    mine = client.post("/mobile/v1/signup", json=signup_body(scenario.invite_code(app, e2)))
    assert mine.status_code == 201, mine.json


def test_the_code_is_stored_only_as_a_digest_and_the_outbox_holds_it_sealed(app, client, world, plumb):
    code = scenario.invite_code(app, world.employees["E2"])
    with plumb.db.transaction() as session:
        stored = session.scalar(select(Employee.invite_code_hash).where(Employee.id == world.employees["E2"]["id"]))
        payloads = [str(m.payload) for m in session.scalars(select(OutboxMessage))]
    assert stored and code not in stored
    assert payloads and not any(code in payload for payload in payloads)


def test_the_invitation_is_a_private_file_under_the_instance_directory_and_no_log_line_carries_it(app, client,
                                                                                                 caplog):
    caplog.set_level(logging.DEBUG)
    world = scenario.World(app, client)
    code = scenario.invite_code(app, world.employees["E2"])
    # (the sponsor's signing link is a message of its own, beside the invitation)
    token_message = [m for m in scenario.messages_to(app, "sponsor@example.com") if "Invitation token:" in m][-1]
    token = scenario.sponsor_token(app, "sponsor@example.com")
    folder = messages_dir(app.extensions["plumb"].config.instance_dir)
    files = [path for path in folder.glob("*.txt") if code in path.read_text()]
    assert len(files) == 1 and "To: e2@example.com" in files[0].read_text()
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600 and stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert "Invitation token:" in token_message
    assert code not in caplog.text and token not in caplog.text


# ---- resend, reissue, unlink --------------------------------------------------------------------------------------

def test_resending_an_invitation_voids_the_old_code_and_is_audited_with_the_staff_user(app, client, world):
    e2 = world.employees["E2"]
    old = scenario.invite_code(app, e2)
    resent = client.post(f"/v1/employees/{e2['id']}/invitation", headers=world.sponsor)
    assert resent.status_code == 202, resent.json
    assert resent.json == {"employee_id": e2["id"], "sent_to": ["email"]}
    new = scenario.invite_code(app, e2)
    assert new != old
    assert_problem(client.post("/mobile/v1/signup", json=signup_body(old)), 404)
    assert client.post("/mobile/v1/signup", json=signup_body(new)).status_code == 201
    event = [a for a in audit(client, world) if a["action"] == "employee.invitation_resent"][-1]
    assert (event["subject_id"], event["actor_user_id"]) == (e2["id"], staff_user_id(client, world.sponsor))
    signed_up = [a for a in audit(client, world) if a["action"] == "participant.signed_up"][-1]
    assert signed_up["subject_id"] == e2["id"] and signed_up["changes"]["user_id"] == signed_up["actor_user_id"]


def test_a_code_locked_by_wrong_guesses_is_reissued_by_a_resend(app, client, world):
    e2 = world.employees["E2"]
    code = scenario.invite_code(app, e2)
    for _ in range(5):
        assert client.post("/mobile/v1/signup", json=signup_body(code, born="2006-03-11")).status_code == 401
    assert_problem(client.post("/mobile/v1/signup", json=signup_body(code)), 429)
    assert client.get(f"/v1/employees/{e2['id']}", headers=world.sponsor).json["invitation"] == "locked"
    assert client.post(f"/v1/employees/{e2['id']}/invitation", headers=world.advisor).status_code == 202
    assert client.get(f"/v1/employees/{e2['id']}", headers=world.sponsor).json["invitation"] == "sent"
    assert client.post("/mobile/v1/signup", json=signup_body(scenario.invite_code(app, e2))).status_code == 201


def test_no_invitation_is_resent_to_someone_signed_up(client, world):
    answer = client.post(f"/v1/employees/{world.employee['id']}/invitation", headers=world.sponsor)
    assert_problem(answer, 409)


def test_the_sponsor_unlinks_a_wrongly_claimed_account_and_the_employee_signs_up_again(app, client, world):
    e1, wrong = world.employee, world.participant
    assert_problem(client.post(f"/v1/employees/{e1['id']}/account/unlink", json={"reason": "not her"},
                               headers=world.advisor), 403)
    unlinked = client.post(f"/v1/employees/{e1['id']}/account/unlink", json={"reason": "claimed by someone else"},
                           headers=world.sponsor)
    assert unlinked.status_code == 200, unlinked.json
    assert unlinked.json["new_code_sent_to"] == ["email"]
    # The wrong person's sessions end and the account no longer logs in.
    assert client.get("/mobile/v1/me", headers=wrong).status_code == 401
    assert client.post("/v1/auth/login", json={"email": "e1@phone.example.com",
                                               "password": scenario.PARTICIPANT_PASSWORD}).status_code == 401
    event = [a for a in audit(client, world) if a["action"] == "participant.unlinked"][-1]
    assert (event["subject_id"], event["actor_user_id"]) == (e1["id"], staff_user_id(client, world.sponsor))
    assert event["changes"]["reason"] == "claimed by someone else"
    # The employee is told at the census contact, and signs up again with the new code.
    assert any("was not created by you" in text for text in scenario.messages_to(app, "e1@example.com"))
    again = client.post("/mobile/v1/signup", json=signup_body(scenario.invite_code(app, e1), E1_BORN, E1_SSN4,
                                                              "e1.real@phone.example.com"))
    assert again.status_code == 201, again.json
    assert client.get("/mobile/v1/me", headers=scenario.bearer(again.json["access_token"])).json[
        "employee_id"] == e1["id"]
    assert_problem(client.post(f"/v1/employees/{world.employees['E2']['id']}/account/unlink",
                               json={"reason": "nobody signed up"}, headers=world.sponsor), 404)


def test_a_census_change_of_email_voids_the_pending_code_and_tells_the_old_address(app, client, world):
    e2 = world.employees["E2"]
    old = scenario.invite_code(app, e2)
    row = scenario.census_row("E2", E2_BORN, "2026-06-01", "987-65-4321", pay="31000.00")
    moved = scenario.upload_csv(client, world.sponsor, world.employer_id, [{**row, "email": "e2.new@example.com"}])
    assert moved.status_code == 200, moved.json
    assert_problem(client.post("/mobile/v1/signup", json=signup_body(old)), 404)
    assert "no longer works" in scenario.messages_to(app, "e2@example.com")[-1]
    new = scenario.invite_code(app, {**e2, "email": "e2.new@example.com"})
    assert new != old
    event = [a for a in audit(client, world) if a["action"] == "employee.invitation_voided"][-1]
    assert event["subject_id"] == e2["id"] and event["changes"]["reason"] == "contact_changed"
    assert client.post("/mobile/v1/signup", json=signup_body(new)).status_code == 201


def test_a_signed_up_employees_code_answers_like_an_unknown_one_whatever_the_identity(app, client, world):
    spent = scenario.invite_code(app, world.employee)
    for born in (E1_BORN, "1900-01-01"):
        answer = client.post("/mobile/v1/signup", json=signup_body(spent, born, E1_SSN4, "someone@phone.example.com"))
        assert_problem(answer, 404)
        assert "exists" not in answer.json["detail"]


# ---- the sponsor admin's invitation -------------------------------------------------------------------------------

def test_the_advisor_resends_the_sponsor_invitation_without_seeing_its_token(app, client):
    advisor = scenario.advisor(app, client)
    setup = scenario.setup_plan(client, advisor, sponsor_email="boss@example.com")
    old = scenario.sponsor_token(app, "boss@example.com")
    assert old not in str(setup)
    resent = client.post(f"/v1/employers/{setup['employer']['id']}/sponsor-invitation", headers=advisor)
    assert resent.status_code == 202, resent.json
    assert set(resent.json) == {"email", "expires_at"} and resent.json["email"] == "boss@example.com"
    new = scenario.sponsor_token(app, "boss@example.com")
    assert new != old and new not in resent.get_data(as_text=True)
    assert_problem(client.post("/v1/auth/invitations/accept",
                               json={"token": old, "password": scenario.SPONSOR_PASSWORD}), 404)
    accepted = client.post("/v1/auth/invitations/accept", json={"token": new, "password": scenario.SPONSOR_PASSWORD})
    assert accepted.status_code == 201, accepted.json
    assert_problem(client.post(f"/v1/employers/{setup['employer']['id']}/sponsor-invitation", headers=advisor), 409)


# ---- races ----------------------------------------------------------------------------------------------------------

def test_wrong_guesses_sent_together_are_checked_at_most_the_allowed_number_of_times(app, client, served, world):
    e2 = world.employees["E2"]
    limit = app.extensions["plumb"].config.signup_max_attempts
    for _ in range(race_trials()):
        assert client.post(f"/v1/employees/{e2['id']}/invitation", headers=world.sponsor).status_code == 202
        code = scenario.invite_code(app, e2)
        answers = all_at_once(30, lambda i: served.client.post("/mobile/v1/signup", json={
            **signup_body(code, ssn4=f"{i:04d}"), "email": f"g{i}@x.test"}).status_code)
        assert set(answers) <= {401, 429}, answers
        assert 1 <= answers.count(401) <= limit, answers


def test_one_invitation_accepted_by_several_at_once_makes_one_account(app, client, served):
    advisor = scenario.advisor(app, client)
    for trial in range(race_trials()):
        email = f"boss{trial}@example.com"
        scenario.setup_plan(client, advisor, sponsor_email=email)
        token = scenario.sponsor_token(app, email)
        answers = all_at_once(6, lambda i: served.client.post("/v1/auth/invitations/accept", json={
            "token": token, "password": f"{scenario.SPONSOR_PASSWORD}-{i}"}).status_code)
        # The others find the invitation used (not a clash on the new user's address, nor a 500).
        assert sorted(answers) == [201] + [404] * 5, answers
