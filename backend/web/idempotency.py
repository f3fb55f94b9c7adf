"""`Idempotency-Key` on creating POSTs: a replay returns the first response; the same key with another body is
refused. The stored response commits in the same transaction as the change it describes. Views use it through
`Blueprint.idempotent` (backend/web/smorest.py), which also documents it.

An answer that carries a secret shown once (a signing secret, an invitation token, access and refresh tokens) is
never kept: the store would become a second, plaintext copy of it, readable by anyone who can read the database,
and a replay would hand out again what was meant to be shown once (or a refresh token already spent, whose reuse
ends the session). Such a request's key keeps a 409 problem instead, which says so and names what was created.
Encrypting the stored body was the other choice; it still replays a secret (and a spent refresh token), so no.
Requests without a caller (no Authorization) are not replayed by key at all: a key alone scopes nothing."""
import hashlib
import json

from flask import Response, make_response, request
from sqlalchemy import select

from backend.errors import DomainError
from backend.web import context, problems
from backend.web.models import IdempotencyRecord

_KEPT_HEADERS = ("Content-Type", "ETag", "Location")


class IdempotencyKeyReused(DomainError):
    status, title, type_slug = 422, "Idempotency key reused", "idempotency-key-reused"


def _owner() -> str | None:
    """Keys are scoped to the caller; a request without one (sign-up) has no scope to keep a key in."""
    header = request.headers.get("Authorization", "")
    return context.principal().user_id if header else None


def replay_or_run(view, args, kwargs, shown_once: str | None = None, created=None):
    """The stored answer to this caller's earlier request with the same key, or `view`'s answer (stored when it is
    a success). `shown_once` names the secret a success carries: the answer is then not stored, and the key keeps
    a 409 that says so and, through `created(answer)`, names what the first request created."""
    key = request.headers.get("Idempotency-Key")
    if not key:
        return view(*args, **kwargs)
    if len(key) > 255:
        raise IdempotencyKeyReused("The Idempotency-Key header is longer than 255 characters.",
                                   [("Idempotency-Key", "must be at most 255 characters")])
    owner = _owner()
    if owner is None:
        return view(*args, **kwargs)
    digest = hashlib.sha256(request.method.encode() + request.path.encode() + b"\0" + request.get_data()).hexdigest()
    session = context.session()
    stored = session.scalar(select(IdempotencyRecord).where(IdempotencyRecord.owner == owner,
                                                            IdempotencyRecord.key == key))
    if stored is not None:
        if stored.request_hash != digest:
            raise IdempotencyKeyReused("This Idempotency-Key was already used with a different request.",
                                       [("Idempotency-Key", "was used before with another path or body")])
        replay = Response(stored.body, status=stored.status, headers=stored.headers)
        replay.headers["Idempotent-Replayed"] = "true"
        return replay
    response = view(*args, **kwargs)
    if not isinstance(response, Response):
        response = make_response(response)
    if response.status_code < 400:
        kept = response if shown_once is None else _shown_once_refusal(response, shown_once, created)
        session.add(IdempotencyRecord(owner=owner, key=key, request_hash=digest, status=kept.status_code,
                                      body=kept.get_data(as_text=True),
                                      headers={h: kept.headers[h] for h in _KEPT_HEADERS if h in kept.headers}))
    return response


def _shown_once_refusal(response: Response, shown_once: str, created) -> Response:
    """What a replay answers instead of an answer that carried a secret: a 409 naming what was created."""
    where = ""
    if created is not None:
        try:
            where = f" It created {created(json.loads(response.get_data()))}."
        except (ValueError, KeyError, TypeError):
            where = ""
    return problems.problem(
        409, "Conflict", f"This request was already done with this Idempotency-Key; its answer carried {shown_once}, "
        f"which is shown once and was not kept, so it is not answered again.{where}", "secret-shown-once",
        [("Idempotency-Key", f"was used for a request whose answer carried {shown_once}, shown once")])
