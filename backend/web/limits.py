"""Per-client rate limits (Flask-Limiter) on the doors strangers knock at: login, token refresh, sign-up and
invitation accept. They sit beside the per-account throttles (five failed logins per email, five sign-up attempts
per invite code), which stop guessing one account's secret from many clients; these stop one client from trying
many accounts (review L-3: 30 emails sprayed, 60 invite codes tried, none refused).

A known account must not be lockable by a stranger. The per-account login throttle locks an email after
`login_max_failures` failures from anyone, so one client may fail at most `login_max_failures - 1` times against one
email in the throttle's window: the client is cut off (429) one failure before the account would lock, and the owner,
from another client, still logs in. (A stranger with many addresses can still lock an account; counting the
account's failures per client in the identity service would close that too.)

The client is the remote address, which is the real client's only when `proxy_hops` says how many reverse proxies
stand in front (backend/web/security.py). Counts live in `Config.rate_limit_storage_uri`: `memory://` is per
process, so several gunicorn workers each count alone; point them all at one store (redis://…) to share counts."""
import math
import time

from flask import Flask, request
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address

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
        view = limiter.limit(limit, scope=endpoint)(app.view_functions[endpoint])
        if endpoint == LOGIN_ENDPOINT:
            failures = f"{max(config.login_max_failures - 1, 1)} per {config.login_window_seconds} seconds"
            view = limiter.limit(failures, key_func=_client_and_email, scope="login-failures-per-account",
                                 deduct_when=lambda response: response.status_code == 401)(view)
        app.view_functions[endpoint] = view

    @app.errorhandler(RateLimitExceeded)
    def too_many_requests(_error: RateLimitExceeded):
        current = limiter.current_limit
        wait = max(1, math.ceil(current.reset_at - time.time())) if current else 60
        return problems.problem(429, "Too Many Requests", "Too many requests from this client; try again later.",
                                "too-many-requests", headers={"Retry-After": str(wait)})

    return limiter


def _client_and_email() -> str:
    body = request.get_json(silent=True)
    email = body.get("email") if isinstance(body, dict) else None
    return f"{get_remote_address()}|{normalize_email(email) if isinstance(email, str) else ''}"
