"""Shapes for fund prices (loading them, confirming a held one, correcting a wrong one) and for a participant's
balance and money in, as the phone and the sponsor's view of one account both show them."""
from marshmallow import fields, validate

from backend.web.schema import Schema, at_most_places


def PriceField(**kw):  # noqa: N802 - a field factory, named like the fields it makes
    return fields.Decimal(required=True, as_string=True, places=None,
                          validate=[validate.Range(min=0, max=10**6, min_inclusive=False,
                                                   error="must be above 0 and below 1,000,000"), at_most_places(6)],
                          **kw)


class PriceIn(Schema):
    """A fund's price on a day."""

    ticker = fields.String(required=True, validate=validate.Length(min=1, max=12))
    price_date = fields.Date(required=True, metadata={"description": "Today or earlier, not before the plan's "
                                                                     "effective date"})
    price = PriceField()


class PricesIn(Schema):
    """Daily fund prices."""

    prices = fields.List(fields.Nested(PriceIn), required=True, validate=validate.Length(min=1, max=100000))


class HeldPriceOut(Schema):
    """A price stored but held: it moved more than the plan's band from the fund's last confirmed price."""

    row = fields.String(metadata={"description": "Which row of the load (prices[3], line 4)"})
    ticker = fields.String()
    price_date = fields.Date()
    price = fields.Decimal(as_string=True)
    last_price = fields.Decimal(as_string=True, metadata={"description": "The confirmed price it was compared with"})
    last_price_date = fields.Date()
    move_percent = fields.Decimal(as_string=True, metadata={"description": "Signed move from last_price, percent"})


class PricesOut(Schema):
    """What a price load stored, and contributions it let buy units."""

    stored = fields.Integer(metadata={"description": "Prices stored or replaced, held ones included"})
    invested = fields.Integer(metadata={"description": "Pending contributions that now bought units"})
    held = fields.List(fields.Nested(HeldPriceOut), metadata={
        "description": "Present when some prices are held: they buy nothing until confirmed with POST "
                       ".../fund-prices/{ticker}/{price_date}/confirm"})


class PriceConfirmIn(Schema):
    """The held price being confirmed, as the confirmer saw it."""

    price = PriceField()


class PriceConfirmOut(Schema):
    """A confirmed price, and the contributions it let buy units."""

    ticker = fields.String()
    price_date = fields.Date()
    price = fields.Decimal(as_string=True)
    status = fields.String()
    invested = fields.Integer()


class PriceCorrectionIn(Schema):
    """The right price for a day whose stored price is wrong."""

    price = PriceField()


class PriceCorrectionOut(Schema):
    """A corrected price, and the purchases made at the wrong one that were bought again."""

    ticker = fields.String()
    price_date = fields.Date()
    price = fields.Decimal(as_string=True)
    previous_price = fields.Decimal(as_string=True)
    repriced_entries = fields.Integer(metadata={"description": "Purchases sold back at the wrong price and bought "
                                                               "again at this one (0 when it was already this)"})
    participants = fields.Integer()


class SourceBalanceOut(Schema):
    """Money of one source (pre-tax, Roth, employer match, …)."""

    source = fields.String()
    value_cents = fields.Integer()
    cost_cents = fields.Integer(metadata={"description": "Money that went in"})
    gain_cents = fields.Integer()
    vested_percent = fields.Decimal(as_string=True)
    vested_cents = fields.Integer()


class FundBalanceOut(Schema):
    """Holdings in one fund."""

    fund_id = fields.String()
    ticker = fields.String()
    name = fields.String()
    units = fields.Decimal(as_string=True)
    price = fields.Decimal(as_string=True, allow_none=True)
    value_cents = fields.Integer()
    cost_cents = fields.Integer()
    gain_cents = fields.Integer()
    pending_cents = fields.Integer(metadata={"description": "Cash waiting for the fund's price on its trade date"})


class BalanceOut(Schema):
    """Your balance today: total, vested, by source and by fund, with gain or loss."""

    as_of = fields.Date()
    total_cents = fields.Integer()
    vested_cents = fields.Integer()
    cost_cents = fields.Integer()
    gain_cents = fields.Integer()
    by_source = fields.List(fields.Nested(SourceBalanceOut))
    by_fund = fields.List(fields.Nested(FundBalanceOut))


class RepricedPurchaseOut(Schema):
    """Units bought at a fund price later found wrong: sold back at it and bought again at the right one."""

    kind = fields.String(metadata={"description": "price_correction"})
    description = fields.String()
    pay_date = fields.Date(metadata={"description": "The pay date of the money whose units were repriced"})
    corrected_at = fields.DateTime()
    fund_id = fields.String()
    ticker = fields.String(allow_none=True)
    price_date = fields.Date()
    from_price = fields.Decimal(as_string=True)
    to_price = fields.Decimal(as_string=True)
    units_sold = fields.Decimal(as_string=True)
    units_bought = fields.Decimal(as_string=True)


class ContributionOut(Schema):
    """Money in on one pay date, by source."""

    pay_date = fields.Date()
    total_cents = fields.Integer()
    by_source = fields.Dict(keys=fields.String(), values=fields.Integer())
    pay_run_ids = fields.List(fields.String())
    price_corrections = fields.List(fields.Nested(RepricedPurchaseOut), metadata={
        "description": "Purchases of this pay date's money repriced because a fund price was corrected (present when "
                       "there are some)"})
