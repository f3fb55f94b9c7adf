"""Shapes of the sponsor's view of a plan's people: the participant list (and its CSV), one participant's account."""
from marshmallow import fields, validate

from backend.accounts.schemas import BalanceOut, ContributionOut
from backend.enrollment.schemas import ElectionOut
from backend.oversight.people import PARTICIPATION_STATUSES, SORTS
from backend.web.pagination import PageArgs
from backend.web.schema import Schema

SORT_CHOICES = tuple(SORTS) + tuple(f"-{s}" for s in SORTS)


class ParticipantFilterArgs(Schema):
    """Sort and filter the participant list (the CSV export takes every row, no pages)."""

    sort = fields.String(load_default="name", validate=validate.OneOf(SORT_CHOICES), metadata={
        "description": "name, balance, deferral_rate or last_contribution; a leading - for descending. Ties go by "
                       "employee id; people without the figure come last."})
    status = fields.String(load_default=None, validate=validate.OneOf(PARTICIPATION_STATUSES), metadata={
        "description": "Only people of this participation status"})


class ParticipantListArgs(PageArgs, ParticipantFilterArgs):
    """Page, sort and filter the participant list."""


class DeferralLineOut(Schema):
    """One line of an election: a money type at a percent of pay or a flat amount per paycheck."""

    money_type = fields.String(metadata={"description": "pretax, roth, pretax_catchup or roth_catchup"})
    percent = fields.Decimal(as_string=True, allow_none=True)
    amount_cents = fields.Integer(allow_none=True)


class ElectionInEffectOut(Schema):
    """The election payroll should be using today, and the percent of pay it defers (flat amounts counted on the
    census pay per paycheck), in all and split between pre-tax and Roth."""

    election_id = fields.String()
    kind = fields.String(metadata={"description": "election, opt_out, auto_enroll or escalation"})
    effective_date = fields.Date()
    lines = fields.List(fields.Nested(DeferralLineOut))
    deferral_percent = fields.Decimal(as_string=True, allow_none=True, metadata={
        "description": "Percent of pay deferred in all, to two places (null: an amount asked of no pay)"})
    pretax_percent = fields.Decimal(as_string=True, allow_none=True)
    roth_percent = fields.Decimal(as_string=True, allow_none=True)


class LastContributionOut(Schema):
    """The latest pay date that brought money in (corrections netted), and how much."""

    pay_date = fields.Date()
    total_cents = fields.Integer()


class ParticipantRowOut(Schema):
    """One person of the plan as the sponsor's list shows them. Never an SSN or a date of birth."""

    employee_id = fields.String()
    external_id = fields.String(metadata={"description": "The employer's own id for them"})
    first_name = fields.String()
    last_name = fields.String()
    participation_status = fields.String(metadata={"description": ", ".join(PARTICIPATION_STATUSES)})
    election_in_effect = fields.Nested(ElectionInEffectOut, allow_none=True)
    balance_cents = fields.Integer(metadata={"description": "Today, at the latest fund prices (as the phone shows)"})
    vested_balance_cents = fields.Integer()
    ytd_deferrals_cents = fields.Integer(metadata={"description": "Elective deferrals this plan year, corrections "
                                                                  "netted"})
    ytd_match_cents = fields.Integer(metadata={"description": "Employer match this plan year, corrections netted"})
    ytd_since = fields.Date(metadata={"description": "The first day of this plan year"})
    last_contribution = fields.Nested(LastContributionOut, allow_none=True)


class ParticipantAccountOut(Schema):
    """One participant's account, read only: status, election in effect, balance by source and fund (the phone's
    figures), money in per pay date (a page, newest first), every election with its payroll stage, and how many
    beneficiaries are named (not who)."""

    employee_id = fields.String()
    external_id = fields.String()
    first_name = fields.String()
    last_name = fields.String()
    eligibility_status = fields.String(allow_none=True, metadata={
        "description": "eligible, waiting, pending_hours or terminated (null before the first determination)"})
    participation_status = fields.String(metadata={"description": ", ".join(PARTICIPATION_STATUSES)})
    election_in_effect = fields.Nested(ElectionInEffectOut, allow_none=True)
    balance = fields.Nested(BalanceOut)
    contributions = fields.List(fields.Nested(ContributionOut), metadata={
        "description": "Money in per pay date, newest first: one page (`limit`, `cursor`)"})
    contributions_next_cursor = fields.String(allow_none=True, metadata={
        "description": "Pass as `cursor` for the next page of contributions; null at the end"})
    elections = fields.List(fields.Nested(ElectionOut), metadata={"description": "Every version, newest first"})
    beneficiaries_count = fields.Integer(metadata={"description": "Beneficiaries named in the current designation"})
