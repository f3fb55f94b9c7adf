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
