"""Shapes for plan setup (advisors) and the census (sponsors)."""
from marshmallow import ValidationError, fields, validate, validates_schema

from backend.money import percent_str
from backend.plans.schedules import PAY_FREQUENCIES
from backend.plans.rules import validate_rules
from backend.plans.templates import apply_template
from backend.web.schema import Percent, Schema, at_most_places

ENTRY_FREQUENCIES = ("immediate", "monthly", "quarterly", "semi_annual")
SAFE_HARBOR_KINDS = ("none", "basic_match", "enhanced_match", "nonelective", "qaca_match", "qaca_nonelective")
TEMPLATES = ("safe_harbor_match", "traditional", "starter")
class AddressIn(Schema):
    """A US mailing address."""

    line1 = fields.String(required=True, validate=validate.Length(min=1, max=200))
    line2 = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    city = fields.String(required=True, validate=validate.Length(min=1, max=100))
    state = fields.String(required=True, validate=validate.Regexp(r"^[A-Z]{2}$", error="must be a two-letter state code"))
    postal_code = fields.String(required=True, validate=validate.Regexp(r"^\d{5}(-\d{4})?$", error="must be a ZIP code"))


class PayrollScheduleIn(Schema):
    """How often the employer runs payroll, and one real pay date to count from."""

    frequency = fields.String(required=True, validate=validate.OneOf(PAY_FREQUENCIES))
    anchor_pay_date = fields.Date(required=True)


class EmployerIn(Schema):
    """The plan sponsor."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    ein = fields.String(required=True, validate=validate.Regexp(r"^\d{2}-?\d{7}$", error="must be an EIN like 12-3456789"))
    address = fields.Nested(AddressIn, required=True)
    payroll = fields.Nested(PayrollScheduleIn, required=True)


class SponsorAdminIn(Schema):
    """The person at the employer who will administer the plan; they get an invitation."""

    email = fields.Email(required=True)


class EligibilityIn(Schema):
    """Who may join and when (IRC 410(a)): at most age 21 and one year of service."""

    # Ranges are checked with the other rules (plans/rules.py::validate_rules) so every problem is listed at once.
    min_age = fields.Integer(metadata={"description": "0 to 21"})
    service_months = fields.Integer(metadata={"description": "0 to 12; 12 means a year with 1,000 hours"})
    entry_frequency = fields.String(validate=validate.OneOf(ENTRY_FREQUENCIES))
    long_term_part_time = fields.Boolean(metadata={"description": "SECURE 2.0: 2 years of 500+ hours make an employee eligible to defer"})


class AutoEnrollmentIn(Schema):
    """Automatic enrollment and escalation (IRC 414A, 414(w))."""

    enabled = fields.Boolean()
    default_percent = Percent(metadata={"description": "Initial deferral percent, 3 to 15"})
    escalation_step_percent = Percent(metadata={"description": "Raised by this much each plan year; 0 for none"})
    escalation_cap_percent = Percent(metadata={"description": "Escalation stops here, at most 15"})
    notice_days = fields.Integer(metadata={"description": "Days' notice before automatic enrollment takes effect (0-90)"})
    opt_out_window_days = fields.Integer(
                                         metadata={"description": "Permissible-withdrawal window, at most 90 days"})


class MatchTierIn(Schema):
    """One tier of the match: `match_rate_percent` of deferrals between the two deferral percents."""

    deferral_from_percent = Percent(required=True)
    deferral_to_percent = Percent(required=True)
    match_rate_percent = Percent(required=True)


class FundIn(Schema):
    """A fund on the plan's menu."""

    ticker = fields.String(required=True, validate=validate.Regexp(r"^[A-Z0-9.]{1,12}$", error="must be 1-12 capital letters or digits"))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    asset_class = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))
    default = fields.Boolean(load_default=False, metadata={"description": "The qualified default investment (QDIA); exactly one"})


class VestingField(fields.Field):
    """A named schedule ("immediate", "cliff_3", "graded_6", …) or {years of service: percent}."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            return value
        if isinstance(value, dict):
            return {str(k): str(v) for k, v in value.items()}
        raise ValidationError("must be a schedule name or an object of years of service to percent")


def WarningMargin(**kw):  # noqa: N802 - a field factory, named like the fields it makes
    return fields.Decimal(as_string=True, validate=[validate.Range(min=0, max=10), at_most_places(2)], metadata={
        "description": "Warn when a passing ADP/ACP projection's margin falls below this many percentage points "
                       "(0, the default, warns only on failure)"}, **kw)


class PlanRulesIn(Schema):
    """The plan and its rules. Fields left out come from the template."""

    name = fields.String(validate=validate.Length(min=1, max=200))
    effective_date = fields.Date(required=True)
    plan_year_start = fields.String(validate=validate.Regexp(r"^\d{2}-\d{2}$", error="must be MM-DD"),
                                    metadata={"description": "First day of the plan year, MM-DD (01-01 for calendar)"})
    eligibility = fields.Nested(EligibilityIn)
    auto_enrollment = fields.Nested(AutoEnrollmentIn)
    match_tiers = fields.List(fields.Nested(MatchTierIn))
    safe_harbor = fields.String(validate=validate.OneOf(SAFE_HARBOR_KINDS))
    vesting = fields.Dict(keys=fields.String(), values=VestingField(),
                          metadata={"description": "Per source: employer_match, nonelective, profit_sharing"})
    requires_approval = fields.Boolean(metadata={"description": "Elections wait for the sponsor's approval"})
    roth_allowed = fields.Boolean()
    loans_allowed = fields.Boolean(metadata={"description": "Participants may borrow from their accounts (IRC 72(p))"})
    hardship_allowed = fields.Boolean(metadata={"description": "Hardship withdrawals are offered (1.401(k)-1(d)(3))"})
    funds = fields.List(fields.Nested(FundIn))
    compliance_warning_margin = WarningMargin()


class PlanAmendmentIn(Schema):
    """Provisions to amend, and the day the amendment takes effect; fields left out stay as they are."""

    effective_on = fields.Date(required=True, metadata={"description": "The day the amendment takes effect"})
    match_tiers = fields.List(fields.Nested(MatchTierIn))
    roth_allowed = fields.Boolean()
    loans_allowed = fields.Boolean()
    hardship_allowed = fields.Boolean()


class PlanSetupIn(Schema):
    """Everything to open a plan in one call: employer, sponsor admin, plan rules (a template fills the rest)."""

    template = fields.String(load_default="safe_harbor_match", validate=validate.OneOf(TEMPLATES))
    employer = fields.Nested(EmployerIn, required=True)
    sponsor_admin = fields.Nested(SponsorAdminIn, required=True)
    plan = fields.Nested(PlanRulesIn, required=True)

    @validates_schema(skip_on_field_errors=False)
    def plan_rules_hold(self, data, **kwargs):
        """The plan's rules are checked even when other fields are malformed, so one answer lists everything."""
        if not isinstance(data.get("plan"), dict):
            return
        problems, _ = validate_rules(apply_template(data.get("template", "safe_harbor_match"), data["plan"]))
        messages: dict[str, list[str]] = {}
        for field, message in problems:
            messages.setdefault(field, []).append(message)
        if messages:
            raise ValidationError(messages)


class FundOut(Schema):
    """A fund on the plan's menu."""

    id = fields.String()
    ticker = fields.String()
    name = fields.String()
    asset_class = fields.String(allow_none=True)
    is_default = fields.Boolean()


class MatchTierOut(Schema):
    """One match tier."""

    deferral_from_percent = fields.String()
    deferral_to_percent = fields.String()
    match_rate_percent = fields.String()


class PlanOut(Schema):
    """A plan and its rules."""

    id = fields.String()
    employer_id = fields.String()
    name = fields.String()
    template = fields.String(allow_none=True)
    effective_date = fields.Date()
    plan_year_start = fields.Function(lambda p: f"{p.plan_year_start_month:02d}-{p.plan_year_start_day:02d}")
    eligibility = fields.Function(lambda p: {"min_age": p.min_age, "service_months": p.service_months,
                                             "entry_frequency": p.entry_frequency,
                                             "long_term_part_time": p.long_term_part_time})
    auto_enrollment = fields.Function(lambda p: {
        "enabled": p.auto_enroll,
        "default_percent": _pct(p.auto_enroll_percent), "escalation_step_percent": _pct(p.auto_escalate_step_percent),
        "escalation_cap_percent": _pct(p.auto_escalate_cap_percent), "opt_out_window_days": p.opt_out_window_days,
        "notice_days": p.auto_enroll_notice_days})
    match_tiers = fields.List(fields.Nested(MatchTierOut))
    safe_harbor = fields.String()
    vesting = fields.Dict()
    requires_approval = fields.Boolean()
    roth_allowed = fields.Boolean()
    loans_allowed = fields.Boolean()
    hardship_allowed = fields.Boolean()
    funds = fields.List(fields.Nested(FundOut))
    compliance_warning_margin = fields.Function(lambda p: _pct(p.compliance_warning_margin))
    price_move_band = fields.Function(lambda p: _pct(p.price_move_band), metadata={
        "description": "A fund price moving more than this fraction from the fund's last one is held (0.25: 25%)"})


def _pct(value):
    return None if value is None else percent_str(value)


class EmployerOut(Schema):
    """An employer (plan sponsor)."""

    id = fields.String()
    name = fields.String()
    ein = fields.String()
    address = fields.Function(lambda e: {"line1": e.address_line1, "line2": e.address_line2, "city": e.city,
                                         "state": e.state, "postal_code": e.postal_code})
    payroll = fields.Function(lambda e: {"frequency": e.pay_frequency, "anchor_pay_date": e.anchor_pay_date.isoformat()})
    plans = fields.List(fields.Nested(PlanOut))


class PlanSetupOut(Schema):
    """The new employer and plan, the sponsor admin's invitation, and notices the advisor should read."""

    employer = fields.Nested(EmployerOut)
    plan = fields.Nested(PlanOut)
    sponsor_invitation = fields.Dict(metadata={"description": "email and expires_at of the invitation sent to the "
                                                              "sponsor admin (its token goes to them only)"})
    notices = fields.List(fields.String())


class EmployeeIn(Schema):
    """One census row."""

    external_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    first_name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    last_name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    date_of_birth = fields.Date(required=True)
    ssn = fields.String(required=True, load_only=True,
                        validate=validate.Regexp(r"^\d{3}-?\d{2}-?\d{4}$", error="must be 9 digits (123-45-6789)"))
    email = fields.Email(load_default=None, allow_none=True)
    phone = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(r"^\+?[0-9 ()-]{7,20}$", error="is not a phone number"))
    hire_date = fields.Date(required=True)
    rehire_date = fields.Date(load_default=None, allow_none=True)
    termination_date = fields.Date(load_default=None, allow_none=True)
    annual_compensation = fields.Decimal(required=True, as_string=True, validate=validate.Range(min=0, max=10**9),
                                         metadata={"description": "Dollars and cents, e.g. 65000.00"})
    hours = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0, max=8784),
                           metadata={"description": "Hours in the current 12-month eligibility period (from the hire anniversary)"})
    prior_period_hours = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0, max=8784),
                                        metadata={"description": "Hours in the 12-month period before that"})
    ownership_percent = fields.Decimal(load_default="0", as_string=True,
                                       validate=[validate.Range(min=0, max=100), at_most_places(4)])
    officer = fields.Boolean(load_default=False)


class CensusIn(Schema):
    """A census upload: every employee; re-uploading updates in place by external id."""

    employees = fields.List(fields.Nested(EmployeeIn), required=True, validate=validate.Length(min=1),
                            metadata={"description": "At most the server's census_max_rows (100,000 by default)."})


class CensusResultOut(Schema):
    """What a census upload changed."""

    created = fields.Integer()
    updated = fields.Integer()
    unchanged = fields.Integer()
    employees = fields.List(fields.Dict(), metadata={"description": "id and external_id of each row (invite codes go "
                                                                    "to the employees, never back to staff)"})


class EligibilityOut(Schema):
    """Whether and from when the employee may defer."""

    status = fields.String(metadata={"description": "eligible, waiting, pending_hours or terminated"})
    conditions_met_date = fields.Date(allow_none=True)
    entry_date = fields.Date(allow_none=True)
    basis = fields.String(allow_none=True, metadata={"description": "standard or long_term_part_time"})
    explanation = fields.String()


class EmployeeOut(Schema):
    """An employee on the census, as the sponsor sees them: nothing the sign-up proof uses (no invite code, no
    SSN digits, no full date of birth)."""

    id = fields.String()
    external_id = fields.String()
    first_name = fields.String()
    last_name = fields.String()
    birth_year = fields.Integer()
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    hire_date = fields.Date()
    rehire_date = fields.Date(allow_none=True)
    termination_date = fields.Date(allow_none=True)
    annual_compensation = fields.String(metadata={"description": "Dollars and cents"})
    ownership_percent = fields.String()
    officer = fields.Boolean()
    hours_by_period = fields.Dict()
    signed_up = fields.Boolean()
    invitation = fields.String(metadata={"description": "sent (a code is out to the census email or phone), locked "
                                                        "(too many wrong tries: resend), none (no contact on the "
                                                        "census, or voided), accepted (signed up)"})
    eligibility = fields.Nested(EligibilityOut, allow_none=True)


class AuditEventOut(Schema):
    """One recorded change: who, when, from where, what."""

    id = fields.String()
    at = fields.DateTime()
    actor_user_id = fields.String(allow_none=True)
    actor_role = fields.String()
    ip = fields.String(allow_none=True)
    action = fields.String()
    subject_type = fields.String()
    subject_id = fields.String()
    changes = fields.Dict()


class PriceSettingsIn(Schema):
    """How far a fund price may move from the fund's last confirmed one before it is held for confirmation."""

    price_move_band = fields.Decimal(required=True, as_string=True, places=None, validate=[
        validate.Range(min=0, max=10, min_inclusive=False, error="must be above 0 and at most 10 (1,000%)"),
        at_most_places(4)], metadata={"description": "A fraction: 0.25 (the default) holds a move of more than 25%"})


class PriceSettingsOut(Schema):
    """The plan's fund price settings."""

    price_move_band = fields.Function(lambda p: _pct(p.price_move_band))


class InvitationSentOut(Schema):
    """An invitation sent again: where it went, never what it says."""

    employee_id = fields.String()
    sent_to = fields.List(fields.String(), metadata={"description": "email and/or phone (from the census)"})


class UnlinkIn(Schema):
    """Why the account is being detached from the employee (kept in the audit trail)."""

    reason = fields.String(required=True, validate=validate.Length(min=3, max=500))


class UnlinkedOut(Schema):
    """The account detached and disabled; a new code sent to the employee."""

    employee_id = fields.String()
    unlinked_user_id = fields.String()
    new_code_sent_to = fields.List(fields.String())


class SponsorInvitationOut(Schema):
    """The sponsor admin's invitation as the advisor sees it: address and expiry (the token goes to them only)."""

    email = fields.String()
    expires_at = fields.DateTime()
