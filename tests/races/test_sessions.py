"""Logins and refreshes sent at once: the login throttle counts every guess (at most the configured number of
passwords are checked per window), and a refresh token is spent once (the second spender is reuse)."""
from sqlalchemy import func, select

from backend.identity.models import LoginAttempt
from tests import scenario
from tests.support.served import all_at_once, race_trials

GUESSES = 40


def test_parallel_wrong_guesses_check_at_most_the_allowed_number_of_passwords(app, served, plumb):
    limit = plumb.config.login_max_failures
    for trial in range(race_trials()):
        email = f"victim{trial}@example.test"
        answers = all_at_once(GUESSES, lambda i: served.client.post(
            "/v1/auth/login", json={"email": email, "password": f"guess-{i}-xxxx-xxxx"}))
        statuses = [a.status_code for a in answers]
        # Each 401 is one password checked; the rest were refused before any check.
        assert statuses.count(401) == limit and statuses.count(429) == GUESSES - limit, (trial, sorted(statuses))
        assert all(int(a.headers["Retry-After"]) >= 1 for a in answers if a.status_code == 429)
        with plumb.db.transaction() as session:
            recorded = session.scalar(select(func.count()).select_from(LoginAttempt)
                                      .where(LoginAttempt.email == email))
        assert recorded == limit, trial


def test_the_right_password_among_parallel_guesses_is_throttled_like_the_rest(app, client, served, plumb):
    scenario.create_advisor(app, "target@example.com")
    answers = all_at_once(GUESSES, lambda i: served.client.post("/v1/auth/login", json={
        "email": "target@example.com", "password": scenario.ADVISOR_PASSWORD if i == 0 else f"guess-{i}-xxxx-xxxx"}))
    statuses = [a.status_code for a in answers]
    assert set(statuses) <= {200, 401, 429} and statuses.count(200) <= 1, sorted(statuses)
    # A success starts the count again: at most the allowed number of failures before the right password and as
    # many after it (counted without relying on any order of the attempts, which parallel requests do not have).
    limit = plumb.config.login_max_failures
    assert statuses.count(401) <= limit * (1 + statuses.count(200)), sorted(statuses)
    with plumb.db.transaction() as session:
        recorded = session.scalar(select(func.count()).select_from(LoginAttempt)
                                  .where(LoginAttempt.email == "target@example.com"))
    assert recorded == statuses.count(401) + statuses.count(200)


def test_a_refresh_token_presented_twice_at_once_is_spent_once_and_the_second_is_reuse(app, client, served):
    scenario.create_advisor(app)
    for trial in range(race_trials()):
        pair = client.post("/v1/auth/login", json={"email": "advisor@example.com",
                                                   "password": scenario.ADVISOR_PASSWORD}).json
        answers = all_at_once(2, lambda _i: served.client.post(
            "/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}))
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [200, 401], (trial, statuses)
        winner = next(a for a in answers if a.status_code == 200).json()
        # Reuse ends the whole session: the pair the winner got stops working too.
        again = client.post("/v1/auth/refresh", json={"refresh_token": winner["refresh_token"]})
        assert again.status_code == 401, trial
        me = client.get("/v1/auth/me", headers=scenario.bearer(winner["access_token"]))
        assert me.status_code == 401, trial
