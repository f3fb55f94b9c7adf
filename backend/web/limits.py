"""Per-client rate limits (Flask-Limiter) on the doors strangers knock at: login, token refresh, sign-up and
invitation accept. They sit beside the per-account throttles (five failed logins per email, five sign-up attempts
per invite code), which stop guessing one account's secret from many clients; these stop one client from trying
many accounts (review L-3: 30 emails sprayed, 60 invite codes tried, none refused).

A known account cannot be locked by a stranger: the per-account throttle counts an account's failures per client
(backend/identity/service.py::check_login_throttle), so a stranger's guesses lock out only the stranger, and the
owner, from their own address, still logs in.

The client is the remote address, which is the real client's only when `proxy_hops` says how many reverse proxies
stand in front (backend/web/security.py). Counts live in `Config.rate_limit_storage_uri`: `memory://` is per
process, so several gunicorn workers each count alone; point them all at one store (redis://…) to share counts."""
import math
import time

from flask import Flask
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address

from backend.config import Config
from backend.web import problems

# Endpoint → what one client may do there. Moving windows: a burst at a window's edge gets no second allowance.
PER_CLIENT = {
    "auth.Login": "20 per minute; 200 per hour",
    "auth.Refresh": "60 per minute",
    "auth.AcceptInvitation": "10 per minute; 50 per hour",
    "mobile.SignUp": "10 per minute; 50 per hour",
    # A signing link is a credential in the path: guessing one is refused like guessing a password.
    "documents.SigningLinkResource": "20 per minute; 200 per hour",
    "documents.SigningLinkPdf": "20 per minute; 200 per hour",
}


def install_rate_limits(app: Flask, config: Config) -> Limiter:
    """A limiter of this app's own (its own counts), attached to the endpoints above; 429 answers are problem
    details with Retry-After."""
    limiter = Limiter(get_remote_address, app=app, storage_uri=config.rate_limit_storage_uri,
                      strategy="moving-window", enabled=config.rate_limits_enabled, headers_enabled=False,
                      key_prefix="plumb")
    for endpoint, limit in PER_CLIENT.items():
        app.view_functions[endpoint] = limiter.limit(limit, scope=endpoint)(app.view_functions[endpoint])

    @app.errorhandler(RateLimitExceeded)
    def too_many_requests(_error: RateLimitExceeded):
        current = limiter.current_limit
        # The window's own reset instant (RequestLimit.reset_at rounds it up a second more).
        return _too_many(current.window.reset_time if current else time.time() + 60)

    return limiter


def _too_many(reset_at: float):
    wait = max(1, math.ceil(reset_at - time.time()))
    return problems.problem(429, "Too Many Requests", "Too many requests from this client; try again later.",
                            "too-many-requests", headers={"Retry-After": str(wait)})

