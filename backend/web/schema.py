"""The base of every API schema: its docstring becomes its description in the OpenAPI document."""
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


def at_most_places(places: int):
    """A validator: a Decimal with no more than `places` decimal places (refused, never silently rounded)."""

    def check(value):
        if value.is_finite() and abs(value) < 10**12 and value != value.quantize(_quantum(places)):
            raise marshmallow.ValidationError(f"has more than {places} decimal places")

    return check


def _quantum(places: int):
    from decimal import Decimal

    return Decimal(1).scaleb(-places)


def Percent(validate=(), **kw):  # noqa: N802 - a field factory, named like the fields it makes
    """A rate in percent as a decimal string, with at most 4 decimal places (what the database keeps exactly)."""
    checks = [validate] if callable(validate) else list(validate)
    return marshmallow.fields.Decimal(as_string=True, validate=checks + [at_most_places(4)], **kw)
