"""Shapes for the sponsor's compliance views."""
from marshmallow import fields, validate

from backend.plans.schemas import WarningMargin
from backend.web.schema import Percent, Schema


class ComplianceStateOut(Schema):
    """Every test year to date and projected to the year's end (amounts in dollars, ratios in percent)."""

    as_of = fields.String()
    year = fields.Integer()
    status = fields.String(metadata={"description": "at_risk when the projection fails ADP or ACP; narrow_margin "
                                                    "when it passes by less than the plan's warning margin; on_track"})
    failing_tests = fields.List(fields.String())
    narrow_margin_tests = fields.List(fields.String())
    warning_margin = fields.String(metadata={"description": "The plan's warning margin, in percentage points"})
    year_to_date = fields.Dict(metadata={"description": "ADP/ACP with corrections, 402(g), 415(c), top-heavy, coverage"})
    projection = fields.Dict(metadata={"description": "The same at year end, with each election applied to the remaining pay dates"})
    prior_year_compensation = fields.String(metadata={
        "description": "Where last year's pay for HCE status comes from: payroll (the plan's own pay runs cover "
                       "the whole year) or census"})
    refresh = fields.String(metadata={"description": "full (the worker's computation), incremental (moved by one "
                                                     "election since), or live (computed for this answer)"})
    computed_at = fields.DateTime(allow_none=True)
    trigger = fields.String(allow_none=True, metadata={"description": "What caused the last computation"})


class CorrectionOut(Schema):
    """What it takes to fix the plan year: final after the year ends, projected during it."""

    year = fields.Integer()
    basis = fields.String(metadata={"description": "final (the year has ended) or projected (at current elections)"})
    as_of = fields.String()
    passed = fields.Boolean(metadata={"description": "Nothing to correct"})
    adp = fields.Dict()
    acp = fields.Dict()
    hce_election_cap = fields.Dict(allow_none=True, metadata={
        "description": "Projected years only: the highest deferral percent every HCE can elect for the rest of "
                       "the year with the ADP test still passing (percent null when even 0% fails)"})
    limit_402g = fields.Dict(metadata={"description": "Excess deferrals to distribute, by employee, in dollars"})
    limit_415c = fields.Dict(metadata={"description": "Excess annual additions to correct, by employee, in dollars"})
    top_heavy_minimum_owed = fields.Dict(metadata={"description": "Top-heavy minimum still owed, by employee"})
    deadlines = fields.Dict()


class YearArgs(Schema):
    """Which plan year; the current one when left out."""

    year = fields.Integer(validate=validate.Range(min=2000, max=2100))


class SettingsIn(Schema):
    """The plan's compliance settings."""

    warning_margin = WarningMargin(required=True)


class SettingsOut(Schema):
    """The plan's compliance settings."""

    warning_margin = fields.String()


class WhatIfChange(Schema):
    """One employee at a different deferral rate."""

    external_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    deferral_percent = Percent(required=True, validate=validate.Range(min=0, max=100))


class WhatIfIn(Schema):
    """Deferral rates to try for the rest of the year; nothing is stored."""

    changes = fields.List(fields.Nested(WhatIfChange), required=True, validate=validate.Length(min=1, max=10000))


class SnapshotOut(Schema):
    """One point of the plan's compliance history."""

    at = fields.DateTime()
    year = fields.Integer()
    status = fields.String()
    figures = fields.Dict(metadata={"description": "Projected ADP/ACP averages, limits, margins, pass"})


class WarningOut(Schema):
    """An early warning: the projection turned at risk, with the fix."""

    id = fields.String()
    year = fields.Integer()
    raised_at = fields.DateTime()
    status = fields.String(metadata={"description": "at_risk or narrow_margin"})
    failing_tests = fields.List(fields.String())
    narrow_margin_tests = fields.List(fields.String())
    message = fields.String()
    fix = fields.Dict()
