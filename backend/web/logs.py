"""Logs as JSON lines, each carrying the request id of the request it was written in; request ids themselves
(taken from a sane incoming `X-Request-Id` or made here); and the access line both servers write.

`configure_logging` is the one place logging is set up (the `plumb` command calls it). Paths are logged without
their query string: a client that puts a token in `?access_token=` must not have it written to the log."""
import json
import logging
import re
import secrets
import sys
from datetime import datetime, timezone

from flask import Flask, g, has_request_context, request

REQUEST_ID_HEADER = "X-Request-Id"
# Where the request id rides in the WSGI environ, so the server's access line (written after the app answered,
# outside its request context) carries it too.
ENVIRON_KEY = "plumb.request_id"
# An incoming id is kept only when it is short and plain: it goes into every log line and answer as it is.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@-]{1,128}")
ACCESS_LOGGER = "plumb.access"
# The attributes every LogRecord has; anything else on a record was passed in `extra=` and is written out.
_RECORD_ATTRIBUTES = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


# Paths whose last segment is a credential (a signing link's token): logged with it replaced.
_TOKEN_IN_PATH = re.compile(r"^(/v1/signing/|/app/sign/)[^/]+")


def loggable_path(path: str) -> str:
    """The path as logs may carry it: a signing link's token replaced by "…"."""
    return _TOKEN_IN_PATH.sub(r"\1…", path)


def new_request_id() -> str:
    return "req_" + secrets.token_hex(10)


def request_id() -> str | None:
    """The current request's id (made now if nothing gave it one yet), or None outside a request."""
    if not has_request_context():
        return None
    if "request_id" not in g:
        g.request_id = new_request_id()
        request.environ[ENVIRON_KEY] = g.request_id
    return g.request_id


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and for a record written during a request its
    request_id, method and path (never the query string); fields given in `extra=` are added as they are."""

    def format(self, record: logging.LogRecord) -> str:
        line = {"time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
                "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        if has_request_context():
            line.update(request_id=request_id(), method=request.method, path=loggable_path(request.path))
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure_logging(level: int = logging.INFO, stream=None) -> None:
    """JSON lines on stderr from every logger (the root's one handler; idempotent, so calling it twice does not
    write each line twice)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "plumb", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.plumb = True
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(level)
    # Werkzeug's own request lines carry the query string; the servers write the access line below instead.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)


def log_access(method: str, path: str, status: int, request_id: str | None, duration_ms: float | None,
               remote: str | None) -> None:
    """The access line for one answered request, written by whichever server answered it (gunicorn or the
    development server): `path` is the path alone, without its query string or a token in it."""
    path = loggable_path(path)
    logging.getLogger(ACCESS_LOGGER).info(
        "%s %s %s", method, path, status,
        extra={"request_id": request_id, "method": method, "path": path, "status": status,
               "duration_ms": None if duration_ms is None else round(duration_ms, 1), "remote": remote})


def install_request_ids(app: Flask) -> None:
    """Every request gets an id (the caller's `X-Request-Id` when sane, a new one otherwise), answered in
    `X-Request-Id` and in problem details, and written with every log line of the request."""
    @app.before_request
    def assign_request_id():
        given = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = given if _SANE_REQUEST_ID.fullmatch(given) else new_request_id()
        request.environ[ENVIRON_KEY] = g.request_id

    @app.after_request
    def answer_request_id(response):
        response.headers[REQUEST_ID_HEADER] = request_id()
        return response
