"""Shapes for elections, investments, beneficiaries, outside deferrals, sign-up and approvals."""
from marshmallow import fields, validate

from backend.web.schema import Cents, Percent, Schema

from backend.enrollment.models import MONEY_TYPES

class ElectionLineIn(Schema):
    """One deduction: a percent of pay or a flat amount per paycheck (in cents)."""

    money_type = fields.String(required=True, validate=validate.OneOf(MONEY_TYPES))
    percent = Percent(load_default=None, allow_none=True, validate=validate.Range(min=0, max=100),
                      metadata={"description": "Percent of pay, e.g. \"6\" or \"6.5\""})
    amount_cents = Cents(min=1, max=10_000_000, load_default=None, allow_none=True,
                         metadata={"description": "Flat amount per paycheck in cents"})


class ElectionIn(Schema):
    """A new deferral election: one line per money type (pre-tax, Roth, and their catch-up lines)."""

    lines = fields.List(fields.Nested(ElectionLineIn), required=True, validate=validate.Length(min=1, max=4))


class ElectionLineOut(Schema):
    """One deduction of an election."""

    money_type = fields.String()
    percent = fields.String(allow_none=True)
    amount_cents = fields.Integer(allow_none=True)


class MatchPreviewOut(Schema):
    """What the employer adds at this election, and what is left on the table."""

    deferral_percent = fields.String()
    match_percent = fields.String(metadata={"description": "Match as a percent of pay"})
    annual_match_cents = fields.Integer()
    full_match_deferral_percent = fields.String()
    max_match_percent = fields.String()
    left_on_table_cents = fields.Integer(metadata={"description": "Yearly match missed by deferring less than the full-match rate"})
    message = fields.String()
    flag = fields.String(allow_none=True, metadata={
        "description": "\"amount exceeds pay\" when the lines ask more than a paycheck (the match is shown at 100%)"})


class PayrollStageOut(Schema):
    """Where the change stands with payroll."""

    stage = fields.String(metadata={"description": "requested, approved, sent, confirmed, observed or failed "
                                                   "(rejected, superseded for elections that never went)"})
    detail = fields.String(allow_none=True)


class ElectionOut(Schema):
    """One version of a deferral election."""

    id = fields.String()
    employee_id = fields.String()
    version = fields.Integer()
    kind = fields.String(metadata={"description": "election, opt_out, auto_enroll or escalation"})
    status = fields.String(metadata={"description": "pending_approval, approved, rejected or superseded"})
    in_effect = fields.Boolean(metadata={"description": "Whether payroll should be using this version today"})
    effective_date = fields.Date()
    submitted_at = fields.DateTime()
    decided_at = fields.DateTime(allow_none=True)
    rejection_reason = fields.String(allow_none=True)
    etag = fields.String(metadata={"description": "Send as If-Match to approve or reject"})
    lines = fields.List(fields.Nested(ElectionLineOut))
    match = fields.Nested(MatchPreviewOut, allow_none=True)
    payroll = fields.Nested(PayrollStageOut)


class OptOutOut(Schema):
    """The opt-out election and whether automatic contributions can still be withdrawn."""

    election = fields.Nested(ElectionOut)
    permissible_withdrawal_available = fields.Boolean()


class AllocationIn(Schema):
    """A share of new contributions for one fund."""

    fund_id = fields.String(required=True, validate=validate.Length(max=64))
    percent = Percent(required=True, validate=validate.Range(min=0, max=100))


class InvestmentsIn(Schema):
    """Percentages over the plan's funds that sum to 100, or `use_default` for the default fund."""

    allocations = fields.List(fields.Nested(AllocationIn), load_default=None, validate=validate.Length(max=50))
    use_default = fields.Boolean(load_default=False)


class AllocationOut(Schema):
    """A share of new contributions."""

    fund_id = fields.String()
    ticker = fields.String()
    name = fields.String()
    percent = fields.String()


class InvestmentsOut(Schema):
    """The investment election in force."""

    version = fields.Integer()
    created_at = fields.DateTime(allow_none=True, metadata={"description": "None while the plan's default is used"})
    uses_default_fund = fields.Boolean()
    allocations = fields.List(fields.Nested(AllocationOut))


class BeneficiaryIn(Schema):
    """One beneficiary."""

    tier = fields.String(required=True, validate=validate.OneOf(("primary", "contingent")))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    relationship = fields.String(required=True, validate=validate.OneOf(
        ("spouse", "child", "parent", "sibling", "other_person", "trust", "estate", "charity")))
    percent = Percent(required=True, validate=validate.Range(min=0, max=100))


class BeneficiariesIn(Schema):
    """The whole set of beneficiaries: primary shares sum to 100, contingent shares to 100 (or none)."""

    beneficiaries = fields.List(fields.Nested(BeneficiaryIn), required=True, validate=validate.Length(min=1, max=20))


class BeneficiaryOut(Schema):
    """One beneficiary."""

    tier = fields.String()
    name = fields.String()
    relationship = fields.String(attribute="relationship_to_participant")
    percent = fields.String()


class BeneficiariesOut(Schema):
    """The beneficiary designation in force."""

    version = fields.Integer()
    created_at = fields.DateTime()
    beneficiaries = fields.List(fields.Nested(BeneficiaryOut))


class OutsideDeferralIn(Schema):
    """Deferrals made this calendar year at another employer's plan."""

    calendar_year = fields.Integer(required=True)
    amount_cents = Cents(min=0, max=10_000_000, required=True)
    other_employer = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


class OutsideDeferralOut(Schema):
    """Deferrals declared for a calendar year at another employer."""

    calendar_year = fields.Integer()
    amount_cents = fields.Integer()
    other_employer = fields.String(allow_none=True)
    updated_at = fields.DateTime()


class SignUpIn(Schema):
    """Sign up with the invite code sent to you, proving who you are."""

    invite_code = fields.String(required=True, validate=validate.Length(min=6, max=16))
    date_of_birth = fields.Date(required=True)
    ssn_last4 = fields.String(required=True, validate=validate.Regexp(r"^\d{4}$", error="must be 4 digits"))
    email = fields.Email(required=True)
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=512))


class DecisionIn(Schema):
    """A sponsor's decision on one election."""

    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000),
                           metadata={"description": "Required to reject"})


class BulkDecisionItem(Schema):
    """One election in a bulk decision, with the ETag the sponsor read."""

    election_id = fields.String(required=True)
    etag = fields.String(required=True)


class BulkDecisionIn(Schema):
    """Approve or reject several elections at once; each is decided on its own."""

    decision = fields.String(required=True, validate=validate.OneOf(("approve", "reject")))
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000))
    elections = fields.List(fields.Nested(BulkDecisionItem), required=True, validate=validate.Length(min=1, max=500))


class BulkDecisionResultOut(Schema):
    """The outcome for each election in a bulk decision."""

    results = fields.List(fields.Dict(), metadata={"description": "election_id, outcome (approved, rejected or "
                                                                  "refused) and, when refused, the problem"})
