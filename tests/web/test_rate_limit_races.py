"""The per-client limit holds under parallel requests: forty logins fired at once from one client get at most
the limit's worth of answers, and the rest 429, on a real threaded server."""
from backend.web.limits import PER_CLIENT
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
