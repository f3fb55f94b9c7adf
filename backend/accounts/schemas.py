"""Shapes for fund prices."""
from marshmallow import fields, validate

from backend.web.schema import Schema, at_most_places


class PriceIn(Schema):
    """A fund's price on a day."""

    ticker = fields.String(required=True, validate=validate.Length(min=1, max=12))
    price_date = fields.Date(required=True)
    price = fields.Decimal(required=True, as_string=True, places=None,
                           validate=[validate.Range(min=0, max=10**6, min_inclusive=False,
                                                    error="must be above 0 and below 1,000,000"), at_most_places(6)])


class PricesIn(Schema):
    """Daily fund prices."""

    prices = fields.List(fields.Nested(PriceIn), required=True, validate=validate.Length(min=1, max=100000))


class PricesOut(Schema):
    """What a price load stored, and contributions it let buy units."""

    stored = fields.Integer()
    invested = fields.Integer(metadata={"description": "Pending contributions that now bought units"})
