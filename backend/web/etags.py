"""ETag / If-Match for updates that can race (an approval against a newer election, say)."""
from flask import request

from backend.errors import PreconditionFailed, PreconditionRequired


def if_match_header(required: bool = True) -> str | None:
    value = request.headers.get("If-Match")
    if value is None:
        if required:
            raise PreconditionRequired("Send the ETag you last read in an If-Match header.",
                                       [("If-Match", "is required")])
        return None
    return value.strip().removeprefix("W/").strip('"')


def check_if_match(current_etag: str, sent: str | None) -> None:
    if sent is not None and sent != current_etag and sent != "*":
        raise PreconditionFailed("This record changed since you read it; reload it and try again.",
                                 [("If-Match", f"does not match the current ETag {current_etag}")])


def etag_response(view: dict, status: int = 200):
    """A view answered with its `etag` also in the ETag header, for the next If-Match."""
    return view, status, {"ETag": f'"{view["etag"]}"'}
