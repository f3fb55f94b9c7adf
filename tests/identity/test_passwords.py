"""The password rule (security review L-8; NIST SP 800-63B §5.1.1.2): at least 12 characters and not easy to
guess by zxcvbn's estimate (score 3 or more, counting words from the user's own email), every problem listed."""
from backend.identity.service import password_problems
from tests import scenario
from tests.support.problems import assert_problem


def test_ten_repeated_letters_are_too_short_and_too_easy_to_guess():
    assert [message for _, message in password_problems("aaaaaaaaaa")] == [
        "must be at least 12 characters", 'is too easy to guess (repeats like "aaa" are easy to guess)']


def test_twelve_characters_of_a_common_password_are_still_refused():
    assert [field for field, _ in password_problems("password1234")] == ["password"]


def test_a_password_made_of_the_users_own_email_is_refused():
    # An unusual name is a strong password to a stranger, and a weak one once the email gives it away.
    assert password_problems("Qwzhelmbrandt2026") == []
    assert password_problems("Qwzhelmbrandt2026", user_inputs=("qwzhelmbrandt@acme.demo",)) != []


def test_a_long_passphrase_is_accepted():
    assert password_problems("cobalt-lantern-meadow-7") == []


def test_a_weak_password_at_sign_up_is_a_422_listing_every_problem_and_creates_no_user(app, client):
    world = scenario.World(app, client)
    employee = world.employees["E2"]
    response = client.post("/mobile/v1/signup", json={
        "invite_code": scenario.invite_code(app, employee), "date_of_birth": "2006-03-10", "ssn_last4": "4321",
        "email": "e2@phone.example.com", "password": "aaaaaaaaaa"})
    body = assert_problem(response, 422, "validation")
    assert [e["field"] for e in body["errors"]] == ["password", "password"]
    refused = client.post("/v1/auth/login", json={"email": "e2@phone.example.com", "password": "aaaaaaaaaa"})
    assert refused.status_code == 401


def test_a_password_longer_than_the_estimator_reads_is_scored_by_its_start_not_a_500():
    """zxcvbn refuses more than 72 characters (found by the Schemathesis run on invitation accept)."""
    long_and_strong = "cobalt-lantern-meadow-7 " * 8
    assert password_problems(long_and_strong) == []
    assert password_problems("a" * 200) != []
