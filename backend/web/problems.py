"""RFC 9457 problem details: the one error shape of the API, for domain errors, request validation and HTTP errors.
Each carries the request's id (`request_id`, also in the `X-Request-Id` header), so a user can quote it and the
logs of that request can be found."""
import logging

from flask import Response, json
from werkzeug.exceptions import HTTPException

from backend.errors import DomainError, problems_found
from backend.web.logs import request_id

log = logging.getLogger(__name__)
PROBLEM_BASE = "https://plumb.dev/problems/"
_LOCATIONS = {"json", "query", "form", "files", "headers", "view_args", "path", "json_or_form"}


def problem(status: int, title: str, detail: str, type_slug: str, errors=(), headers=None) -> Response:
    body = {"type": PROBLEM_BASE + type_slug, "title": title, "status": status, "detail": detail,
            "errors": [{"field": field, "message": message} for field, message in errors]}
    if (current := request_id()) is not None:
        body["request_id"] = current
    response = Response(json.dumps(body), status=status, mimetype="application/problem+json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def flatten_messages(messages, prefix: str = "") -> list[tuple[str, str]]:
    """marshmallow's nested messages → [(dotted.field[0].path, message)], every problem listed."""
    out: list[tuple[str, str]] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            if isinstance(key, int):
                path = f"{prefix}[{key}]"
            elif not prefix and key in _LOCATIONS:
                path = ""
            elif key == "_schema":
                path = prefix
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            out.extend(flatten_messages(value, path))
    elif isinstance(messages, (list, tuple)):
        if all(isinstance(m, str) for m in messages):
            out.extend((prefix or "body", m) for m in messages)
        else:
            for m in messages:
                out.extend(flatten_messages(m, prefix))
    else:
        out.append((prefix or "body", str(messages)))
    return out


def from_domain_error(error: DomainError) -> Response:
    return problem(error.status, error.title, error.detail, error.type_slug, error.errors, error.headers)


def from_http_exception(error: HTTPException) -> Response:
    data = getattr(error, "data", None) or {}
    messages = data.get("messages")
    status = error.code or 500
    if messages:
        errors = flatten_messages(messages)
        if status in (400, 422):
            status = 422
        return problem(status, "Validation failed", problems_found(len(errors)), "validation", errors,
                       data.get("headers"))
    detail = data.get("message") or error.description or error.name
    slug = (error.name or "error").lower().replace(" ", "-")
    return problem(status, error.name, detail, slug, headers=data.get("headers"))


def from_unexpected(error: Exception) -> Response:
    log.exception("unhandled error")
    return problem(500, "Internal error", "Something went wrong on our side; it has been logged.", "internal")
