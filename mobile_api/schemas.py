"""Shapes only the phone uses (the balance and money-in shapes, shared with the sponsor's view of an account, live in
`backend/accounts/schemas.py`)."""
from marshmallow import fields

from backend.web.schema import Schema

from backend.accounts.schemas import (BalanceOut, ContributionOut, FundBalanceOut,  # noqa: F401 - the phone's shapes
                                      RepricedPurchaseOut, SourceBalanceOut)
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
