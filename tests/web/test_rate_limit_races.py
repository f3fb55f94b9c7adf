"""The per-client limits hold under parallel requests on a real threaded server: forty logins fired at once from
one client get no more than the limit's worth of answers, and forty parallel guesses at one known account from one
client cannot lock it for its owner."""
from backend.web.limits import PER_CLIENT
from tests.scenario import ADVISOR_PASSWORD, create_advisor
from tests.support.served import Served, all_at_once, race_trials
from tests.web.conftest import build_app

PARALLEL = 40


def test_forty_parallel_logins_from_one_client_get_no_more_than_the_per_client_limit(database_url, tmp_path):
    per_minute = int(PER_CLIENT["auth.Login"].split(" ")[0])
    for trial in range(race_trials()):
        # A new app each trial: its limiter's counts start from nothing.
        app = build_app(database_url, tmp_path, rate_limits_enabled=True)
        served = Served(app)
        try:
            answers = all_at_once(PARALLEL, lambda i: served.client.post(
                "/v1/auth/login", json={"email": f"t{trial}-user{i}@example.com", "password": "wrong-password!"}))
        finally:
            served.stop()
            app.extensions["plumb"].db.engine.dispose()
        statuses = sorted(getattr(a, "status_code", repr(a)) for a in answers)
        assert statuses == [401] * per_minute + [429] * (PARALLEL - per_minute), (trial, statuses)


def test_forty_parallel_guesses_at_a_known_account_from_one_client_do_not_lock_it(database_url, tmp_path):
    for trial in range(race_trials()):
        app = build_app(database_url, tmp_path, rate_limits_enabled=True)
        email = f"owner{trial}@example.com"
        create_advisor(app, email)
        served = Served(app)
        try:
            answers = all_at_once(PARALLEL, lambda i: served.client.post(
                "/v1/auth/login", json={"email": email, "password": f"wrong-password-{i}"}))
            owner = app.test_client().post("/v1/auth/login", json={"email": email, "password": ADVISOR_PASSWORD},
                                           environ_base={"REMOTE_ADDR": "203.0.113.7"})
        finally:
            served.stop()
            app.extensions["plumb"].db.engine.dispose()
        statuses = sorted(getattr(a, "status_code", repr(a)) for a in answers)
        guesses = app.extensions["plumb"].config.login_max_failures
        assert statuses == [401] * guesses + [429] * (PARALLEL - guesses), (trial, statuses)
        assert owner.status_code == 200, (trial, owner.json)
