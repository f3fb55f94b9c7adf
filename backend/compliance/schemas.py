"""Shapes for the sponsor's compliance views."""
from marshmallow import fields, validate

from backend.web.schema import Percent, Schema


class ComplianceStateOut(Schema):
    """Every test year to date and projected to the year's end (amounts in dollars, ratios in percent)."""

    as_of = fields.String()
    year = fields.Integer()
    status = fields.String(metadata={"description": "on_track, or at_risk when the projection fails ADP or ACP"})
    failing_tests = fields.List(fields.String())
    year_to_date = fields.Dict(metadata={"description": "ADP/ACP with corrections, 402(g), 415(c), top-heavy, coverage"})
    projection = fields.Dict(metadata={"description": "The same at year end, with each election applied to the remaining pay dates"})


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
    failing_tests = fields.List(fields.String())
    message = fields.String()
    fix = fields.Dict()
