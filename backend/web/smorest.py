"""flask-smorest, Plumb's way: an Api that answers every HTTP error as problem details, and a Blueprint whose
decorators do their work (authenticate and authorize, replay idempotent requests, require If-Match) and write what
they do into the OpenAPI document in the same place, so the document cannot drift from the behaviour.

Each decorator leaves its part under `_apidoc["plumb"]` (as flask-smorest's own decorators leave theirs under
`_apidoc`); `Blueprint._prepare_plumb_doc` turns those parts into parameters, security and problem answers when
the document is built."""
import http
from copy import deepcopy
from functools import wraps

import flask_smorest
from flask import g

from backend.identity import policy
from backend.identity.policy import Ability
from backend.web import context, etags, idempotency, problems
from backend.web.schema import Problem, document_numbers

PROBLEM_JSON = "application/problem+json"
BEARER = [{"bearerAuth": []}]
WRITE_METHODS = frozenset({"post", "put", "patch", "delete"})
# What the headers payroll providers sign with mean (Standard Webhooks, Finch's own scheme, pull connections).
SIGNATURE_HEADERS = {
    "webhook-id": "Standard Webhooks: the message id (signed with the body).",
    "webhook-timestamp": "Standard Webhooks: when it was signed, in Unix seconds; more than five minutes off is "
                         "refused.",
    "webhook-signature": "Standard Webhooks: `v1,<base64 HMAC-SHA256 of id.timestamp.body>` with the connection's "
                         "secret.",
    "plumb-connection-id": "The pull connection the request is for.",
    "finch-event-id": "Finch connections: Finch's event id (Finch signs with its own scheme instead).",
    "finch-timestamp": "Finch connections: when Finch signed the event.",
    "finch-signature": "Finch connections: Finch's signature, verified with its SDK.",
}
STANDARD_WEBHOOK_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")

# Why each status is answered, in the words of the document; a decorator adds its own reasons.
UNAUTHENTICATED = ("No valid access token: send `Authorization: Bearer <token>`. Expired, forged and refresh tokens, "
                   "and tokens of an ended session, are refused alike.")
NOT_FOUND = ("Nothing has this id, or it belongs to an employer the caller may not see (ids of others reveal "
             "nothing).")
CONFLICT = ("This conflicts with the record's state or with a change made at the same time; nothing was stored. "
            "Reload and retry.")
INVALID = ("Validation failed: every problem is listed in `errors` (a NUL character in any parameter or body is "
           "one); nothing was stored.")
KEY_REUSED = ("`idempotency-key-reused`: this Idempotency-Key was used before with another request (path or body), "
              "or is longer than 255 characters.")
STALE = "`If-Match` is not the record's current ETag: it changed since it was read. Reload it and try again."
MISSING_IF_MATCH = "`If-Match` is missing: send the ETag you last read."
BAD_SIGNATURE = ("The signature is missing, wrong or stale (more than five minutes off), or names no active "
                 "connection; nothing was stored.")

RETRY_AFTER = {"description": "Seconds to wait before trying again.", "schema": {"type": "integer", "minimum": 1}}
IDEMPOTENT_REPLAYED = {"description": "`true` when this is the stored answer to an earlier request with the same "
                                      "Idempotency-Key (nothing was done again).",
                       "schema": {"type": "string", "enum": ["true"]}}
ETAG = {"description": "The record's current ETag: send it in `If-Match` to change the record.",
        "schema": {"type": "string"}}


class PlumbApi(flask_smorest.Api):
    """flask-smorest's Api with every HTTP error answered, and documented, as RFC 9457 problem details."""

    ERROR_SCHEMA = Problem

    def handle_http_exception(self, error):
        return problems.from_http_exception(error)

    def _init_spec(self, **kwargs):
        super()._init_spec(**kwargs)
        self.ma_plugin.converter.add_attribute_function(document_numbers)

    def _register_responses(self):
        # flask-smorest's own registration, with the content type our errors really have.
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if not 100 <= status < 200 and status not in (204, 304):
                response["content"] = {PROBLEM_JSON: {"schema": self.ERROR_SCHEMA}}
            self.spec.components.response(status.name, response, lazy=True)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, {
            "description": "Something failed on our side (500), or the database was busy (503, with Retry-After); "
                           "nothing was stored.",
            "content": {PROBLEM_JSON: {"schema": self.ERROR_SCHEMA}}}, lazy=True)


def _document(view, *, reasons: dict[int, str] | None = None, parameters=(), success_headers=None, security=None,
              stores_nothing: bool = False, first: bool = False):
    """`view` with its part of the document added under `_apidoc["plumb"]` (a copy: the wrapped function's own
    documentation is left as it was, as flask-smorest's decorators do). `first`: these reasons lead the answers'
    descriptions (the one every call can meet before more particular ones)."""
    view._apidoc = deepcopy(getattr(view, "_apidoc", {}))
    part = view._apidoc.setdefault("plumb", {})
    for status, why in (reasons or {}).items():
        whys = part.setdefault("problems", {}).setdefault(status, [])
        whys.insert(0 if first else len(whys), why)
    part.setdefault("parameters", []).extend(parameters)
    part.setdefault("success_headers", {}).update(success_headers or {})
    if security is not None:
        part["security"] = security
    if stores_nothing:
        part["stores_nothing"] = True
    return view


def _header(name: str, description: str, required: bool = True, **schema) -> dict:
    return {"in": "header", "name": name, "required": required, "description": description,
            "schema": {"type": "string", **schema}}


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint whose decorators document themselves; every api module uses this one.

    Besides what a decorator adds, every operation documents 422 (the app refuses NUL characters anywhere), every
    route with an id in its path 404, and every operation that writes 409 (a commit that meets a concurrent change,
    or a service's `Conflict`)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._prepare_doc_cbks.append(self._prepare_plumb_doc)

    def add_url_rule(self, rule, endpoint=None, view_func=None, provide_automatic_options=None, **options):
        super().add_url_rule(rule, endpoint, view_func, provide_automatic_options, **options)
        if "<" in rule:
            # flask-smorest has just stored this rule's operations under the (possibly renamed) last endpoint.
            for method, info in self._docs[self._endpoints[-1]].items():
                if method != "parameters":
                    info.setdefault("plumb", {}).setdefault("problems", {}).setdefault(404, []).insert(0, NOT_FOUND)

    # ---- the decorators ------------------------------------------------------------------------------------------

    @staticmethod
    def requires(ability: Ability):
        """Authenticate the caller (401) and require `ability` (403, with the ability's refusal) before the view
        runs. Which objects the caller may touch is the service's question (a 404 for others' objects)."""

        def decorator(view):
            @wraps(view)
            def wrapper(*args, **kwargs):
                ability.check(context.principal())
                return view(*args, **kwargs)

            answers = {401: UNAUTHENTICATED}
            if ability.roles != policy.SIGNED_IN.roles:  # an ability every role has is never refused
                answers[403] = (f"{ability.refusal} (Roles that may {ability.name}: "
                                f"{', '.join(sorted(ability.roles))}.)")
            return _document(wrapper, reasons=answers, security=BEARER, first=True)

        return decorator

    @staticmethod
    def idempotent(view=None, *, shown_once: str | None = None, created=None):
        """Honour an `Idempotency-Key` header: a replay answers the first (successful) answer again, marked
        `Idempotent-Replayed: true`; the same key with another request is refused (422). Used bare
        (`@blp.idempotent`) or with `shown_once`, naming the secret the answer carries (the answer is then never
        stored and a replay is a 409 saying so; `created(answer)` names what was created, for that 409)."""

        def decorator(view):
            @wraps(view)
            def wrapper(*args, **kwargs):
                return idempotency.replay_or_run(view, args, kwargs, shown_once, created)

            what = ("Sending the same request again with the same key answers the first answer again instead of "
                    "doing it twice; keys belong to the caller.")
            reasons = {422: KEY_REUSED}
            if shown_once:
                what = (f"Sending the same request again with the same key does not do it twice; as the answer "
                        f"carries {shown_once}, shown once, the repeat answers 409 `secret-shown-once` instead of "
                        f"the first answer; keys belong to the caller.")
                reasons[409] = (f"`secret-shown-once`: a repeat with the same Idempotency-Key; the first answer "
                                f"carried {shown_once}, which is not kept.")
            key = _header("Idempotency-Key", f"Any unique string (at most 255 characters). {what}",
                          required=False, maxLength=255)
            return _document(wrapper, reasons=reasons, parameters=[key],
                             success_headers={"Idempotent-Replayed": IDEMPOTENT_REPLAYED})

        return decorator(view) if view is not None else decorator

    @staticmethod
    def if_match(view):
        """Require `If-Match` (428 when missing) and keep its ETag for the view, which reads it with
        `etags.if_match_header()` and refuses a stale one (412). Put it below `arguments` so the body is checked
        first, as it always was."""

        @wraps(view)
        def wrapper(*args, **kwargs):
            g.if_match = etags.read_if_match()
            return view(*args, **kwargs)

        etag = _header("If-Match", "The ETag of the record as you read it (the `etag` field, or the ETag header).")
        return _document(wrapper, reasons={412: STALE, 428: MISSING_IF_MATCH}, parameters=[etag],
                         success_headers={"ETag": ETAG})

    @staticmethod
    def signed(*headers: str, optional: tuple[str, ...] = ()):
        """Document an endpoint a payroll provider calls: no bearer token, the signature `headers` it sends and
        401 when the signature is refused. The view verifies the signature itself, as it needs the connection the
        path or a header names before it knows the secret."""

        def decorator(view):
            parameters = [_header(h, SIGNATURE_HEADERS[h], required=h not in optional) for h in headers]
            return _document(view, reasons={401: BAD_SIGNATURE}, parameters=parameters, security=[])

        return decorator

    @staticmethod
    def answers(status: int, why: str):
        """Document an answer the view's service gives that no decorator stands for (a throttled login's 429,
        say). The authorization and robustness suites check that every answer they observe is documented."""
        return lambda view: _document(view, reasons={status: why})

    @staticmethod
    def stores_nothing(view):
        """Document a POST that only computes an answer and stores nothing, so no 409 is listed for it."""
        return _document(view, stores_nothing=True)

    # ---- the document --------------------------------------------------------------------------------------------

    @staticmethod
    def _prepare_plumb_doc(doc, doc_info, *, method, **kwargs):
        """flask-smorest calls this, after its own callbacks, for each operation as the document is built."""
        part = doc_info.get("plumb", {})
        answers = {status: list(whys) for status, whys in part.get("problems", {}).items()}
        answers.setdefault(422, []).insert(0, INVALID)
        if method in WRITE_METHODS and not part.get("stores_nothing"):
            answers.setdefault(409, []).append(CONFLICT)
        responses = doc.setdefault("responses", {})
        for status, response in list(responses.items()):
            if str(status).startswith("2") and isinstance(response, dict) and part.get("success_headers"):
                response.setdefault("headers", {}).update(part["success_headers"])
        for status, whys in answers.items():
            # Replaces flask-smorest's generic answer (a 422 from `arguments`) with one naming every reason.
            responses.pop(status, None)
            whys = list(dict.fromkeys(whys))
            responses[str(status)] = {"description": whys[0] if len(whys) == 1 else "\n".join(f"- {w}" for w in whys),
                                      "content": {PROBLEM_JSON: {"schema": Problem}}}
            if status == 429:
                responses[str(status)]["headers"] = {"Retry-After": RETRY_AFTER}
        doc["responses"] = dict(sorted(responses.items(), key=lambda item: str(item[0]).replace("default", "9")))
        doc.setdefault("parameters", []).extend(part.get("parameters", []))
        if "security" in part:
            doc["security"] = part["security"]
        return doc
