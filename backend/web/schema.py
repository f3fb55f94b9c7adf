"""The base of every API schema (its docstring becomes its description in the OpenAPI document) and the field types
every module shares: cents, exact decimals, percents."""
import marshmallow


class Schema(marshmallow.Schema):
    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # Runs before marshmallow's metaclass reads Meta, so apispec sees Meta.description.
        description = " ".join((cls.__doc__ or "").split())
        if description:
            cls.Meta = type("Meta", (getattr(cls, "Meta", object),), {"description": description})


class ProblemField(Schema):
    """One problem: the field it concerns (a dotted path, or a line of an uploaded file) and what is wrong."""

    field = marshmallow.fields.String()
    message = marshmallow.fields.String()


class Problem(Schema):
    """RFC 9457 problem details: the one shape of every error, with every problem listed in `errors`."""

    type = marshmallow.fields.String(metadata={"description": "A URI naming the kind of problem"})
    title = marshmallow.fields.String()
    status = marshmallow.fields.Integer()
    detail = marshmallow.fields.String()
    errors = marshmallow.fields.List(marshmallow.fields.Nested(ProblemField))
    request_id = marshmallow.fields.String(metadata={"description": "The request's id, as in `X-Request-Id`: "
                                                                    "quote it when reporting a problem"})


# Every cents field reads up to $1 billion; a narrower field says so with its own bounds.
MAX_CENTS = 10**11


def Cents(*, min: int = 0, max: int = MAX_CENTS, validate=(), **kw):  # noqa: N802, A002 - a field factory
    """An amount in integer cents: a JSON integer only. 20000.99 and "20000.99" are refused, never truncated, so a
    sender that mixes up dollars and cents is told (marshmallow's lax Integer turns 20000.99 into 20000)."""
    checks = [validate] if callable(validate) else list(validate)
    bounds = marshmallow.validate.Range(min=min, max=max, error=f"must be between {min} and {max} cents")
    return marshmallow.fields.Integer(strict=True, validate=[bounds] + checks,
                                      error_messages={"invalid": "must be a whole number of cents"}, **kw)


# A decimal Plumb reads has at most this many digits before the point: beyond it Decimal's arithmetic overflows
# (1e999999999 raised decimal.Overflow deep inside a validator), and no rate, unit count or price comes near it.
MAX_WHOLE_DIGITS = 15


def at_most_places(places: int):
    """A validator: a Decimal with no more than `places` decimal places (refused, never silently rounded). Reading
    only the exponent, so a number of any size is checked without arithmetic that could overflow."""

    def check(value):
        if not value.is_finite() or value.is_zero():
            return
        if value.adjusted() >= MAX_WHOLE_DIGITS:
            raise marshmallow.ValidationError(f"is too large (more than {MAX_WHOLE_DIGITS} digits)")
        _, digits, exponent = value.as_tuple()
        trailing_zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
        if exponent + trailing_zeros < -places:
            raise marshmallow.ValidationError(f"has more than {places} decimal places")

    return check


def Percent(validate=(), **kw):  # noqa: N802 - a field factory, named like the fields it makes
    """A rate in percent as a decimal string, with at most 4 decimal places (what the database keeps exactly)."""
    checks = [validate] if callable(validate) else list(validate)
    return marshmallow.fields.Decimal(as_string=True, validate=checks + [at_most_places(4)], **kw)



def document_numbers(converter, field, ret, **_) -> dict:
    """How a field's numbers read in the OpenAPI document (an apispec attribute function, run after apispec's own).

    apispec writes Range bounds through the field itself, so a decimal field's bounds came out as strings (an
    invalid document), and it drops `min_inclusive=False`. Here bounds are JSON numbers, exclusive where the
    validator is. A decimal field travels as a string in answers and is read from a string or a number, so its type
    says both."""
    out = {}
    types = ret.get("type") or []
    types = list(types) if isinstance(types, list) else [types]
    if isinstance(field, marshmallow.fields.Decimal) and field.as_string:
        types = ["number", "string"] + [t for t in types if t not in ("number", "string")]
        out["type"] = types
    ranges = [v for v in field.validators if isinstance(v, marshmallow.validate.Range)]
    if not ranges or not {"number", "integer"} & set(types):
        return out
    for end, name in (("min", "minimum"), ("max", "maximum")):
        bounds = [(_json_number(getattr(v, end)), getattr(v, f"{end}_inclusive")) for v in ranges
                  if getattr(v, end) is not None]
        if not bounds:
            continue
        tightest = (max if end == "min" else min)(value for value, _ in bounds)
        inclusive = all(inclusive for value, inclusive in bounds if value == tightest)
        ret.pop(name, None)  # apispec's string form: ret is merged with what this returns, not replaced by it
        out[name if inclusive else "exclusive" + name.capitalize()] = tightest
    return out


def _json_number(bound) -> int:
    """A bound as an exact JSON number. Whole numbers only: a fractional Decimal would go out as a float, which could
    misstate a limit, so such a bound must be taught to this function deliberately."""
    if bound != int(bound):
        raise ValueError(f"a Range bound of {bound!r} cannot be documented as an exact JSON number")
    return int(bound)
