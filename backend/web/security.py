"""Security headers on every answer (one after_request), the proxy hops whose forwarded headers are trusted, and
the development server's request handler (no version banner; its own 414/431 answers as problem details).

The API answers only JSON, so its content security policy allows nothing at all; /docs gets a policy that lets
Swagger UI run its scripts and styles served from this origin (backend/web/docs.py) and nothing from elsewhere, and
the phone app (/app/, backend/web/phone_app.py) one that lets its own built scripts, styles, manifest and service
worker load from this origin and call the API here, with no inline script or style and nothing from elsewhere."""
import json

from flask import Flask, request
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.serving import WSGIRequestHandler

from backend.web.logs import ENVIRON_KEY, log_access, new_request_id
from backend.web.problems import PROBLEM_BASE

API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# Swagger UI sets inline style attributes on the elements it renders and shows SVG icons as data: URIs.
DOCS_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
               "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
DOCS_PREFIX = "/docs"
# Vite's build has no inline script or style; Preact sets styles through the CSSOM, which style-src does not govern.
APP_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
              "connect-src 'self'; manifest-src 'self'; worker-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
              "form-action 'none'")
# With push on, Firebase's web SDK registers the device with these two Google services (nothing else is fetched:
# the SDK itself is part of the app's build).
APP_POLICY_WITH_PUSH = APP_POLICY.replace(
    "connect-src 'self'",
    "connect-src 'self' https://firebaseinstallations.googleapis.com https://fcmregistrations.googleapis.com")
APP_PREFIX = "/app"
# Answers that hand out tokens, whether or not the request itself was authenticated.
TOKEN_PATHS = frozenset({"/v1/auth/login", "/v1/auth/refresh", "/v1/auth/invitations/accept", "/mobile/v1/signup"})
HSTS = "max-age=31536000; includeSubDomains"


def trust_proxies(app: Flask, hops: int) -> None:
    """Behind `hops` reverse proxies, take the client's address and scheme from their X-Forwarded-For/-Proto
    headers (so HSTS, the per-client limits and the audit trail see the real client). With no proxy (0, the
    default) those headers are the client's own words and are ignored."""
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def install_security_headers(app: Flask) -> None:
    app_policy = APP_POLICY_WITH_PUSH if app.extensions["plumb"].config.firebase_web_config else APP_POLICY

    @app.after_request
    def add_security_headers(response):
        headers = response.headers
        headers["X-Content-Type-Options"] = "nosniff"
        headers["X-Frame-Options"] = "DENY"
        headers["Referrer-Policy"] = "no-referrer"
        is_docs = request.path == DOCS_PREFIX or request.path.startswith(DOCS_PREFIX + "/")
        is_app = request.path == APP_PREFIX or request.path.startswith(APP_PREFIX + "/")
        headers["Content-Security-Policy"] = DOCS_POLICY if is_docs else app_policy if is_app else API_POLICY
        if request.is_secure:
            headers["Strict-Transport-Security"] = HSTS
        # A bearer token, a provider's signature or a token answer: what comes back is someone's own data or a
        # credential, and no cache (browser, proxy) may keep it.
        if ("Authorization" in request.headers or "webhook-signature" in request.headers
                or request.path in TOKEN_PATHS or request.path.startswith("/v1/signing/")):
            headers["Cache-Control"] = "no-store"
        return response


def problem_bytes(status: int, title: str, detail: str) -> tuple[bytes, str]:
    """A problem document for an answer the server gives before the app sees the request (the request line or
    headers too large to read), with a request id of its own: (body, request id)."""
    rid = new_request_id()
    body = {"type": PROBLEM_BASE + title.lower().replace(" ", "-"), "title": title, "status": status,
            "detail": detail, "errors": [], "request_id": rid}
    return json.dumps(body).encode(), rid


class PlumbRequestHandler(WSGIRequestHandler):
    """The development server's handler (`make demo`): no `Server: Werkzeug/… Python/…`
    banner, the JSON access line without the query string, and problem details for what it refuses itself."""

    server_version = "Plumb"
    sys_version = ""

    def version_string(self) -> str:
        return self.server_version

    def log_request(self, code="-", size="-"):
        environ = getattr(self, "environ", None) or {}
        path = (getattr(self, "path", "") or "").split("?", 1)[0]
        status = int(code) if str(getattr(code, "value", code)).isdigit() else 0
        log_access(getattr(self, "command", "") or "-", path, status, environ.get(ENVIRON_KEY), None,
                   self.client_address[0] if self.client_address else None)

    def send_error(self, code, message=None, explain=None):
        # Werkzeug's server refuses an over-long request line (414) or header (431) before any WSGI call, with an
        # HTML page; the API answers problem details everywhere.
        titles = {414: "URI Too Long", 431: "Request Header Fields Too Large"}
        if code not in titles and code < 500:
            titles[code] = self.responses.get(code, ("Error",))[0]
        if code not in titles:
            return super().send_error(code, message, explain)
        body, rid = problem_bytes(code, titles[code], message or titles[code])
        # For the access line: not the previous request's id on this connection, nor an unread request line's path.
        self.environ = {ENVIRON_KEY: rid}
        if code == 414:
            self.path = ""
        self.close_connection = True
        self.send_response(code, titles[code])
        self.send_header("Content-Type", "application/problem+json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Request-Id", rid)
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and code >= 200 and code not in (204, 304):
            self.wfile.write(body)
