"""Shapes only the phone uses."""
from marshmallow import fields

from backend.web.schema import Schema

from backend.enrollment.schemas import ElectionOut
from backend.plans.schemas import EligibilityOut, FundOut


class MeOut(Schema):
    """The participant's own record: who, where, whether and when they can save, and their election."""

    employee_id = fields.String()
    first_name = fields.String()
    last_name = fields.String()
    employer_name = fields.String()
    plan_id = fields.String()
    plan_name = fields.String()
    roth_allowed = fields.Boolean()
    catch_up_eligible = fields.Boolean(metadata={"description": "Age 50 or older by the end of this year"})
    pay_frequency = fields.String()
    next_pay_date = fields.Date()
    eligibility = fields.Nested(EligibilityOut)
    election_in_effect = fields.Nested(ElectionOut, allow_none=True)
    election_scheduled = fields.Nested(ElectionOut, allow_none=True, metadata={"description": "Approved, starts later"})
    election_pending = fields.Nested(ElectionOut, allow_none=True, metadata={"description": "Waiting for the sponsor"})
    funds = fields.List(fields.Nested(FundOut))


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


class BalancePointOut(Schema):
    """One point of the balance chart."""

    date = fields.Date()
    value_cents = fields.Integer()
    contributed_cents = fields.Integer()
    price_corrections = fields.List(fields.Nested(RepricedPurchaseOut), metadata={
        "description": "Corrections of this day's fund prices that repriced your units (present when there are some)"})


class LimitsOut(Schema):
    """This calendar year's deferrals against the 402(g) and catch-up limits."""

    calendar_year = fields.Integer()
    deferred_here_cents = fields.Integer()
    deferred_elsewhere_cents = fields.Integer(metadata={"description": "Declared for other employers"})
    deferred_total_cents = fields.Integer()
    limit_402g_cents = fields.Integer()
    catch_up_limit_cents = fields.Integer()
    total_limit_cents = fields.Integer()
    remaining_cents = fields.Integer()
