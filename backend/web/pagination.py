"""Cursor pagination for growing lists: `?limit=&cursor=` → `{"data": [...], "next_cursor": ...}`.

The cursor is the opaque, url-safe encoding of the last row's sort key; pages stay stable while rows are added."""
import base64
import json
from datetime import date, datetime

from marshmallow import fields, validate
from sqlalchemy import literal, tuple_

from backend.errors import ValidationFailed
from backend.web.schema import Schema


class PageArgs(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500),
                           metadata={"description": "How many items to return (1-500)."})
    cursor = fields.String(load_default=None, metadata={"description": "The `next_cursor` of the previous page."})


def encode_cursor(key) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None):
    if not cursor:
        return None
    try:
        return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError:
        raise ValidationFailed([("cursor", "is not a cursor this API issued")]) from None


def page_schema(item_schema, name: str):
    """A `{"data": [...], "next_cursor"}` schema around `item_schema`."""
    schema = Schema.from_dict({
        "data": fields.List(fields.Nested(item_schema), metadata={"description": "This page's items."}),
        "next_cursor": fields.String(allow_none=True, metadata={"description": "Pass as `cursor` for the next page; null at the end."}),
    }, name=name)
    schema.Meta.description = "One page of a list; follow next_cursor for the rest."
    return schema


def paginate(session, query, key_columns, limit: int, cursor: str | None, key_of, descending: bool = False):
    """Rows of `query` ordered by `key_columns` (ascending, or newest first), after `cursor`; returns
    (rows, next_cursor). Cursor values go back through the columns' own types (dates, instants)."""
    after = decode_cursor(cursor)
    if after is not None:
        if not isinstance(after, list) or len(after) != len(key_columns):
            raise ValidationFailed([("cursor", "is not a cursor this API issued")])
        try:
            values = [literal(_typed(column, value), column.type) for column, value in zip(key_columns, after)]
        except (TypeError, ValueError, OverflowError):
            raise ValidationFailed([("cursor", "is not a cursor this API issued")]) from None
        bound = tuple_(*values)
        query = query.where(tuple_(*key_columns) < bound if descending else tuple_(*key_columns) > bound)
    order = [c.desc() for c in key_columns] if descending else list(key_columns)
    rows = session.scalars(query.order_by(*order).limit(limit + 1)).all()
    next_cursor = encode_cursor(key_of(rows[limit - 1])) if len(rows) > limit else None
    return rows[:limit], next_cursor


def paginate_computed(items: list, key, key_type: type, limit: int, cursor: str | None):
    """One page of a list computed rather than queried (sorted newest first by `key(item)`, a `key_type` value),
    with the same opaque, type-checked cursors as `paginate`; returns (items, next_cursor)."""
    after = decode_cursor(cursor)
    if after is not None:
        try:
            bound = _as_type(key_type, after)
        except (TypeError, ValueError, OverflowError):
            raise ValidationFailed([("cursor", "is not a cursor this API issued")]) from None
        items = [item for item in items if key(item) < bound]
    page = items[:limit]
    more = len(items) > limit
    return page, encode_cursor(_as_json(key(page[-1]))) if more else None


def _as_json(value):
    return value.isoformat() if isinstance(value, (date, datetime)) else value


def _typed(column, value):
    """A cursor value (JSON) as the Python value its column expects."""
    return _as_type(column.type.python_type, value)


def _as_type(python_type: type, value):
    if python_type in (datetime, date, str):
        if not isinstance(value, str) or "\x00" in value or len(value) > 200:
            raise ValueError("not a string this API issued")
        return datetime.fromisoformat(value) if python_type is datetime else (
            date.fromisoformat(value) if python_type is date else value)
    if python_type is int:
        if not isinstance(value, int) or isinstance(value, bool) or not -2**63 <= value < 2**63:
            raise ValueError("not an integer this API issued")
        return value
    raise ValueError("unexpected cursor column")
