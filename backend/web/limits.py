"""Per-client rate limits (Flask-Limiter) on the doors strangers knock at: login, token refresh, sign-up and
invitation accept. They sit beside the per-account throttles (five failed logins per email, five sign-up attempts
per invite code), which stop guessing one account's secret from many clients; these stop one client from trying
many accounts (review L-3: 30 emails sprayed, 60 invite codes tried, none refused).

A known account must not be lockable by a stranger. The per-account login throttle locks an email after
`login_max_failures` failures from anyone, so one client may make at most `login_max_failures - 1` attempts at one
email in the throttle's window (counted atomically before the password is checked, so parallel guesses get no
more; a successful login clears its client's count): the client is cut off (429) before the account would lock,
and the owner, from another client, still logs in. (A stranger with many addresses can still lock an account;
counting the account's failures per client in the identity service would close that too.)

The client is the remote address, which is the real client's only when `proxy_hops` says how many reverse proxies
stand in front (backend/web/security.py). Counts live in `Config.rate_limit_storage_uri`: `memory://` is per
process, so several gunicorn workers each count alone; point them all at one store (redis://…) to share counts."""
import math
import time

from flask import Flask, g, request
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address
from limits import parse

from backend.config import Config
from backend.identity.service import normalize_email
from backend.web import problems

# Endpoint → what one client may do there. Moving windows: a burst at a window's edge gets no second allowance.
PER_CLIENT = {
    "auth.Login": "20 per minute; 200 per hour",
    "auth.Refresh": "60 per minute",
    "auth.AcceptInvitation": "10 per minute; 50 per hour",
    "mobile.SignUp": "10 per minute; 50 per hour",
}
LOGIN_ENDPOINT = "auth.Login"


def install_rate_limits(app: Flask, config: Config) -> Limiter:
    """A limiter of this app's own (its own counts), attached to the endpoints above; 429 answers are problem
    details with Retry-After."""
    limiter = Limiter(get_remote_address, app=app, storage_uri=config.rate_limit_storage_uri,
                      strategy="moving-window", enabled=config.rate_limits_enabled, headers_enabled=False,
                      key_prefix="plumb")
    for endpoint, limit in PER_CLIENT.items():
        app.view_functions[endpoint] = limiter.limit(limit, scope=endpoint)(app.view_functions[endpoint])
    _limit_attempts_per_account_and_client(app, limiter, config)

    @app.errorhandler(RateLimitExceeded)
    def too_many_requests(_error: RateLimitExceeded):
        current = limiter.current_limit
        # The window's own reset instant (RequestLimit.reset_at rounds it up a second more).
        return _too_many(current.window.reset_time if current else time.time() + 60)

    return limiter


def _limit_attempts_per_account_and_client(app: Flask, limiter: Limiter, config: Config) -> None:
    attempts = parse(f"{max(config.login_max_failures - 1, 1)} per {config.login_window_seconds} seconds")
    scope = "login-attempts-per-account-and-client"

    @app.before_request
    def count_login_attempt():
        if not limiter.enabled or request.endpoint != LOGIN_ENDPOINT or request.method != "POST":
            return None
        g.login_limit_key = _client_and_email()
        if limiter.limiter.hit(attempts, scope, g.login_limit_key):
            return None
        return _too_many(limiter.limiter.get_window_stats(attempts, scope, g.login_limit_key).reset_time)

    @app.after_request
    def forget_attempts_after_success(response):
        # The owner logging in from a client they share with nobody has nothing to fear from their own typos.
        if "login_limit_key" in g and response.status_code == 200:
            limiter.limiter.clear(attempts, scope, g.pop("login_limit_key"))
        return response


def _too_many(reset_at: float):
    wait = max(1, math.ceil(reset_at - time.time()))
    return problems.problem(429, "Too Many Requests", "Too many requests from this client; try again later.",
                            "too-many-requests", headers={"Retry-After": str(wait)})


def _client_and_email() -> str:
    body = request.get_json(silent=True)
    email = body.get("email") if isinstance(body, dict) else None
    return f"{get_remote_address()}|{normalize_email(email) if isinstance(email, str) else ''}"
