"""Shapes of the plan dashboard, the advisor's book (a page of rows, its filters) and the setup pipeline."""
from marshmallow import fields, validate

from backend.oversight.book import ATTENTION_FILTERS, STATUS_STAGES
from backend.oversight.models import ATTENTION_REASONS, STAGES
from backend.web.pagination import PageArgs
from backend.web.schema import Schema


class MonthOut(Schema):
    """Money paid in with the pay dates of one month of this year (corrections netted)."""

    month = fields.String(metadata={"description": "YYYY-MM"})
    by_source = fields.Dict(keys=fields.String(), values=fields.Integer(),
                            metadata={"description": "Cents by source (pretax, roth, employer_match, ...)"})
    total_cents = fields.Integer()


class FiguresOut(Schema):
    """A plan's headline figures for this plan year, as last kept current by the events that move them."""

    plan_id = fields.String()
    plan_name = fields.String()
    employer_id = fields.String()
    employer_name = fields.String()
    year = fields.Integer()
    as_of = fields.Date(metadata={"description": "The day the figures were computed for"})
    stage = fields.String(metadata={"description": "created, documents_signed (in force, no pay run yet) or live "
                                                   "(taking contributions)"})
    eligible_count = fields.Integer(metadata={"description": "Employees eligible to defer today"})
    enrolled_count = fields.Integer(metadata={"description": "Eligible employees with an election in effect that "
                                                             "withholds something"})
    participation_rate = fields.String(allow_none=True, metadata={
        "description": "enrolled / eligible, a fraction to four places (0.75 is 75%); null when no one is "
                       "eligible"})
    hce_average_deferral = fields.String(allow_none=True, metadata={
        "description": "The HCEs' average deferral percent (projected ADP, from the compliance state); null before "
                       "its first computation or with no HCE"})
    nhce_average_deferral = fields.String(allow_none=True, metadata={
        "description": "The NHCEs' average deferral percent (projected ADP)"})
    match_paid_cents = fields.Integer(metadata={"description": "Employer match paid in this plan year"})
    match_projected_cents = fields.Integer(metadata={"description": "The year's match at the run rate so far (paid, "
                                                                    "spread over the year's pay dates)"})
    assets_cents = fields.Integer(metadata={"description": "The participants' money at market value today (the sum of their balances)"})
    contributions_by_month = fields.List(fields.Nested(MonthOut))
    pending_approvals = fields.Integer()
    open_exceptions = fields.Integer(metadata={"description": "Payroll exceptions waiting for the sponsor"})
    dead_letters = fields.Integer(metadata={"description": "Messages to payroll given up on, waiting for a retry"})
    compliance_status = fields.String(metadata={"description": "on_track, narrow_margin, at_risk, or not_computed "
                                                               "before the year's first computation"})
    compliance_margin = fields.String(allow_none=True, metadata={
        "description": "The smallest projected ADP/ACP margin, percentage points (negative when failing)"})
    agreement_signed = fields.Boolean(metadata={"description": "The current adoption agreement is signed"})
    billing_status = fields.String(metadata={"description": "off, active, past_due or cancelled"})
    attention = fields.String(allow_none=True, metadata={
        "description": f"The first reason the plan needs attention ({', '.join(ATTENTION_REASONS)}); null for none"})
    attention_rank = fields.Integer(metadata={"description": "The reason's place in that order; "
                                                             f"{len(ATTENTION_REASONS)} for none"})


class BookArgs(PageArgs):
    attention = fields.String(load_default=None, validate=validate.OneOf(list(ATTENTION_FILTERS)), metadata={
        "description": "Only plans with this reason for attention (whether or not it is their first)"})
    status = fields.String(load_default=None, validate=validate.OneOf(list(STATUS_STAGES)), metadata={
        "description": "setup (not taking contributions yet) or live"})


class BookCsvArgs(Schema):
    attention = BookArgs._declared_fields["attention"]
    status = BookArgs._declared_fields["status"]


class PipelineArgs(Schema):
    per_stage = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500),
                           metadata={"description": "How many plans to list in each stage, newest first (1-500)"})


class PipelinePlanOut(Schema):
    """A plan in the pipeline."""

    plan_id = fields.String()
    plan_name = fields.String()
    employer_id = fields.String()
    employer_name = fields.String()
    created_at = fields.DateTime()


class StageOut(Schema):
    """One stage of plan setup: how many plans are in it, and the newest of them."""

    stage = fields.String(validate=validate.OneOf(STAGES), metadata={"description": ", ".join(STAGES)})
    count = fields.Integer()
    plans = fields.List(fields.Nested(PipelinePlanOut))


class PipelineOut(Schema):
    """The advisor's setup pipeline: plans created, documents signed, live."""

    total = fields.Integer()
    stages = fields.List(fields.Nested(StageOut))
