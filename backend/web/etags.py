"""ETag / If-Match for updates that can race (an approval against a newer election, say). Views ask for If-Match
through `Blueprint.if_match` (backend/web/smorest.py), which reads it here and documents it."""
from flask import g, request

from backend.errors import PreconditionRequired


def read_if_match() -> str:
    """The ETag the client sent in If-Match (quotes and a weak prefix dropped); 428 when there is none."""
    value = request.headers.get("If-Match")
    if value is None:
        raise PreconditionRequired("Send the ETag you last read in an If-Match header.",
                                   [("If-Match", "is required")])
    return value.strip().removeprefix("W/").strip('"')


def if_match_header() -> str:
    """The ETag `Blueprint.if_match` read for this view. A view that reads If-Match without that decorator would
    leave it out of the document, so it is a programming error."""
    if "if_match" not in g:
        raise RuntimeError("Decorate the view with blp.if_match: it reads If-Match and documents it.")
    return g.if_match


def etag_response(view: dict, status: int = 200):
    """A view answered with its `etag` also in the ETag header, for the next If-Match."""
    return view, status, {"ETag": f'"{view["etag"]}"'}
