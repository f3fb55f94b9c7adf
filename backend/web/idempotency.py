"""`Idempotency-Key` on creating POSTs: a replay returns the first response; the same key with another body is
refused. The stored response commits in the same transaction as the change it describes. Views use it through
`Blueprint.idempotent` (backend/web/smorest.py), which also documents it."""
import hashlib

from flask import Response, make_response, request
from sqlalchemy import select

from backend.errors import DomainError
from backend.web import context
from backend.web.models import IdempotencyRecord

_KEPT_HEADERS = ("Content-Type", "ETag", "Location")


class IdempotencyKeyReused(DomainError):
    status, title, type_slug = 422, "Idempotency key reused", "idempotency-key-reused"


def _owner() -> str:
    # Keys are scoped to the caller; unauthenticated creators (sign-up) are scoped to the key alone.
    header = request.headers.get("Authorization", "")
    return context.principal().user_id if header else "anonymous"


def replay_or_run(view, args, kwargs):
    """The stored answer to this caller's earlier request with the same key, or `view`'s answer (stored when it is
    a success)."""
    key = request.headers.get("Idempotency-Key")
    if not key:
        return view(*args, **kwargs)
    if len(key) > 255:
        raise IdempotencyKeyReused("The Idempotency-Key header is longer than 255 characters.",
                                   [("Idempotency-Key", "must be at most 255 characters")])
    digest = hashlib.sha256(request.method.encode() + request.path.encode() + b"\0" + request.get_data()).hexdigest()
    session = context.session()
    owner = _owner()
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
        session.add(IdempotencyRecord(owner=owner, key=key, request_hash=digest, status=response.status_code,
                                      body=response.get_data(as_text=True),
                                      headers={h: response.headers[h] for h in _KEPT_HEADERS if h in response.headers}))
    return response
