"""The app factory: the wiring's object graph, flask-smorest Api, blueprints, error handlers, request transactions,
request ids, security headers, per-client rate limits, health checks, the packaged API docs and the phone app's
built files."""
import json
import logging
import re

from flask import Flask, g, request
from sqlalchemy.exc import IntegrityError, OperationalError
from werkzeug.exceptions import HTTPException

from backend.accounts.api import blp as accounts_blp
from backend.billing.api import blp as billing_blp
from backend.clock import Clock
from backend.compliance.api import blp as compliance_blp
from backend.config import Config
from backend.documents.api import blp as documents_blp
from backend.documents.api import mobile_blp as mobile_documents_blp
from backend.enrollment.api import blp as enrollment_blp
from backend.errors import DomainError
from backend.identity.api import blp as identity_blp
from backend.oversight.book_api import blp as book_blp
from backend.oversight.people_api import blp as people_blp
from backend.payroll.api import blp as payroll_blp
from backend.plans.api import blp as plans_blp
from backend.web import app_config, docs, health, phone_app, problems
from backend.web.limits import install_rate_limits
from backend.web.logs import install_request_ids
from backend.web.security import install_security_headers, trust_proxies
from backend.web.smorest import PlumbApi
from backend.wiring import bootstrap
from mobile_api.api import blp as mobile_blp
from notifications.api import blp as notifications_blp

log = logging.getLogger(__name__)


def create_app(config: Config | None = None, clock: Clock | None = None) -> Flask:
    config = config or Config.from_env()
    app = Flask(__name__)
    app.config.update(
        API_TITLE="Plumb",
        API_VERSION="v1",
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        # /docs is served by backend/web/docs.py from the installed flask-swagger-ui, not by flask-smorest.
        API_SPEC_OPTIONS={
            "info": {"description": "Plumb: one platform for a 401(k) plan's recordkeeping, payroll sync, "
                                    "enrollment and compliance. Errors are RFC 9457 problem details."},
            "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
            "security": [{"bearerAuth": []}],
        },
        TESTING=config.testing,
        MAX_CONTENT_LENGTH=20 * 1024 * 1024,
    )
    app.extensions["plumb"] = bootstrap(config, clock)
    # First, so every later hook, error and log line of the request has its id.
    install_request_ids(app)
    trust_proxies(app, config.proxy_hops)

    api = PlumbApi(app)
    # flask-smorest's own pagination schema is unused here (cursor pages are plain schemas) but still documented.
    api.spec.components.schemas.get("PaginationMetadata", {}).setdefault(
        "description", "Unused: lists here page by cursor (`limit`, `cursor` → `next_cursor`).")
    _register_blueprints(api)
    app.register_blueprint(health.blp)
    app.register_blueprint(docs.blp)
    app.register_blueprint(phone_app.blp)
    install_rate_limits(app, config)
    install_security_headers(app)
    _register_error_handlers(app)
    _refuse_nul_characters(app)
    _register_request_transaction(app)
    return app


def _register_blueprints(api: PlumbApi) -> None:
    for blueprint in (identity_blp, plans_blp, enrollment_blp, accounts_blp, payroll_blp, compliance_blp, mobile_blp,
                      notifications_blp, documents_blp, mobile_documents_blp, billing_blp, people_blp, book_blp,
                      app_config.blp):
        api.register_blueprint(blueprint)


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        g.keep_changes = error.keep_changes
        return problems.from_domain_error(error)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        return problems.from_http_exception(error)

    @app.errorhandler(IntegrityError)
    def constraint_refused(error: IntegrityError):
        # A unique (or foreign) key refused a row while the view was running: a duplicate sent at the same time
        # got there first. The request's transaction is rolled back (the answer is >= 400) and the caller retries.
        log.info("a constraint refused the request's change: %s", constraint_name(error))
        return _conflict_at_the_same_time()

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        if isinstance(error, RecursionError):  # JSON nested thousands deep: the parser gives up
            return problems.problem(422, "Validation failed", "The body is nested too deeply to read.", "validation",
                                    [("body", "is nested too deeply")])
        return problems.from_unexpected(error)


def _refuse_nul_characters(app: Flask) -> None:
    """No id, parameter or text field ever contains a NUL character, and PostgreSQL cannot store one: refuse
    them at the door rather than fail deep inside. Likewise a JSON string holding a lone surrogate (`"\\ud800"`),
    which is no text at all: no database, log or UTF-8 encoder can take it. Every body is read whatever its
    declared type (signed pay runs and acknowledgements parse the raw body as JSON even when sent as text/plain),
    except multipart uploads, whose files are read by their own parsers."""
    @app.before_request
    def refuse():
        if "\x00" in request.path:
            return problems.problem(404, "Not Found", "No such resource.", "not-found")
        bad = [("query", f"{name} contains a NUL character") for name, value in request.args.items(multi=True)
               if "\x00" in name or "\x00" in value]
        body = b"" if request.mimetype == "multipart/form-data" else request.get_data()
        if b"\x00" in body or b"\\u0000" in body:
            bad.append(("body", "contains a NUL character"))
        if _ESCAPED_SURROGATE.search(body) and _holds_a_lone_surrogate(body):
            bad.append(("body", "contains a lone surrogate (\\ud800 to \\udfff), which is not text"))
        if bad:
            return problems.problem(422, "Validation failed", "NUL characters and lone surrogates are not allowed; "
                                    "nothing was stored.", "validation", bad)


_ESCAPED_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _holds_a_lone_surrogate(body: bytes) -> bool:
    """Whether the JSON body has a string (or key) that is not valid Unicode. Only called when the raw bytes show a
    surrogate escape, which a valid pair (an emoji written as two escapes) also does."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return False  # not JSON: whoever parses it refuses it as unreadable
    pending = [document]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
        elif isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return True
    return False


def _register_request_transaction(app: Flask) -> None:
    @app.after_request
    def commit_or_roll_back(response):
        session = g.pop("db_session", None)
        if session is None:
            return response
        try:
            if response.status_code < 400 or g.get("keep_changes"):
                session.commit()
            else:
                session.rollback()
        except IntegrityError as error:
            session.rollback()
            log.info("commit refused by a constraint: %s", constraint_name(error))
            response = _conflict_at_the_same_time()
        except OperationalError:
            session.rollback()
            log.exception("commit failed")
            response = problems.problem(503, "Service unavailable", "The database is busy; nothing was stored. "
                                        "Retry shortly.", "unavailable", headers={"Retry-After": "1"})
        finally:
            session.close()
        return response

    @app.teardown_request
    def close_session(_exc):
        session = g.pop("db_session", None)
        if session is not None:
            session.rollback()
            session.close()


def _conflict_at_the_same_time():
    return problems.problem(409, "Conflict", "This request conflicts with a change made at the same time; nothing "
                            "was stored. Retry it.", "conflict")


def constraint_name(error: IntegrityError) -> str:
    """The name of the constraint that refused a row, and never the row: PostgreSQL's message repeats the
    offending key's values (an email, say), which must not reach a log."""
    diag = getattr(error.orig, "diag", None)
    name = getattr(diag, "constraint_name", None)
    if name:
        return name
    # SQLite names the table and columns ("UNIQUE constraint failed: users.email"), never values.
    return str(error.orig).splitlines()[0][:200]
