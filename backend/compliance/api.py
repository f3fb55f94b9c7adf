"""The sponsor's live compliance view (/v1): where the plan stands today and where it is heading."""
from flask import Response
from flask.views import MethodView
from sqlalchemy import select

from backend.compliance import service
from backend.compliance.models import ComplianceSnapshot, ComplianceWarning
from backend.compliance.pdf import compliance_report_pdf
from backend.compliance.schemas import (ComplianceStateOut, CorrectionOut, SettingsIn, SettingsOut, SnapshotOut,
                                        WarningOut, WhatIfIn, YearArgs)
from backend.db import utcnow
from backend.errors import ValidationFailed
from backend.identity import policy
from backend.money import percent_str
from backend.plans import service as plans
from backend.web import context
from backend.web.pagination import PageArgs, page_schema, paginate
from backend.web.smorest import Blueprint

blp = Blueprint("compliance", __name__, url_prefix="/v1", description="Nondiscrimination and limit tests, live.")


@blp.route("/plans/<plan_id>/compliance")
class ComplianceState(MethodView):
    @blp.requires(policy.VIEW_EMPLOYERS)
    @blp.response(200, ComplianceStateOut)
    def get(self, plan_id):
        """ADP, ACP (with the refunds or QNEC that would fix a failure), 402(g), 415(c), top-heavy and coverage,
        year to date and projected to year end from the elections in effect."""
        session = context.session()
        plan = plans.plan_for(session, context.principal(), plan_id)
        return _current_state(session, plan)


def _current_state(session, plan) -> dict:
    """As kept current by pay runs and elections; computed for the answer before the year's first computation."""
    stored = service.stored_state(session, plan, context.today().year)
    if stored is not None:
        return stored
    return {**service.compliance_state(session, context.vault(), plan, context.today()),
            "refresh": "live", "computed_at": None, "trigger": None}


@blp.route("/plans/<plan_id>/compliance/correction")
class Correction(MethodView):
    @blp.requires(policy.VIEW_EMPLOYERS)
    @blp.arguments(YearArgs, location="query")
    @blp.response(200, CorrectionOut)
    def get(self, args, plan_id):
        """The correction plan for a plan year: refunds by HCE with their deadlines, the QNEC or NHCE increase
        that would do instead, excess deferrals and annual additions, the top-heavy minimum owed; for the
        current year, from the projection, with the highest deferral percent HCEs can still elect."""
        session = context.session()
        plan = plans.plan_for(session, context.principal(), plan_id)
        return service.correction_plan(session, context.vault(), plan,
                                       args.get("year", context.today().year), context.today())


@blp.route("/plans/<plan_id>/compliance/report.pdf")
class Report(MethodView):
    @blp.requires(policy.VIEW_EMPLOYERS)
    @blp.arguments(YearArgs, location="query")
    @blp.response(200, content_type="application/pdf",
                  description="The compliance report: state, every test, the correction plan, the IRS figures")
    def get(self, args, plan_id):
        """The plan year's compliance report as a PDF; after the year has ended, its final figures."""
        session = context.session()
        plan = plans.plan_for(session, context.principal(), plan_id)
        year = args.get("year", context.today().year)
        state, correction = service.compliance_report(session, context.vault(), plan, year,
                                                      context.today())
        pdf = compliance_report_pdf(plan_name=plan.name, employer_name=plan.employer.name,
                                    state=service.jsonable(state), correction=service.jsonable(correction),
                                    generated_at=utcnow())
        return Response(pdf, mimetype="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="compliance-{plan.id}-{year}.pdf"'})


@blp.route("/plans/<plan_id>/compliance/settings")
class Settings(MethodView):
    @blp.requires(policy.VIEW_EMPLOYERS)
    @blp.response(200, SettingsOut)
    def get(self, plan_id):
        """The plan's compliance settings."""
        plan = plans.plan_for(context.session(), context.principal(), plan_id)
        return {"warning_margin": percent_str(plan.compliance_warning_margin)}

    @blp.requires(policy.MANAGE_EMPLOYERS)
    @blp.arguments(SettingsIn)
    @blp.response(200, SettingsOut)
    def put(self, body, plan_id):
        """Set the margin below which a passing projection raises an early warning; the stored status is
        re-assessed at once, and a warning raised if it turns narrow."""
        session = context.session()
        plan = plans.plan_for(session, context.principal(), plan_id)
        service.set_warning_margin(session, context.actor(), plan, body["warning_margin"], context.today())
        return {"warning_margin": percent_str(plan.compliance_warning_margin)}


@blp.route("/plans/<plan_id>/compliance/what-if")
class WhatIf(MethodView):
    @blp.requires(policy.VIEW_EMPLOYERS)
    @blp.stores_nothing
    @blp.arguments(WhatIfIn)
    @blp.response(200, ComplianceStateOut)
    def post(self, body, plan_id):
        """What if these employees deferred these rates for the rest of the year? Nothing is stored."""
        session = context.session()
        plan = plans.plan_for(session, context.principal(), plan_id)
        known = plans.external_ids(session, plan.employer_id)
        problems = [(f"changes[{i}].external_id", "is not on this plan's census")
                    for i, change in enumerate(body["changes"]) if change["external_id"] not in known]
        if problems:
            raise ValidationFailed(problems)
        what_if = {change["external_id"]: change["deferral_percent"] for change in body["changes"]}
        return service.compliance_state(session, context.vault(), plan, context.today(), what_if)


@blp.route("/plans/<plan_id>/compliance/history")
class History(MethodView):
    @blp.requires(policy.VIEW_EMPLOYERS)
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_schema(SnapshotOut, "ComplianceSnapshotPage"))
    def get(self, args, plan_id):
        """The plan's projected compliance each time it was recomputed (after pay runs and elections), oldest
        first: the chart."""
        session = context.session()
        plan = plans.plan_for(session, context.principal(), plan_id)
        rows, cursor = paginate(session, select(ComplianceSnapshot).where(ComplianceSnapshot.plan_id == plan.id),
                                [ComplianceSnapshot.at, ComplianceSnapshot.id], args["limit"], args["cursor"],
                                lambda s: [s.at.isoformat(), s.id])
        return {"data": rows, "next_cursor": cursor}


@blp.route("/plans/<plan_id>/compliance/warnings")
class Warnings(MethodView):
    @blp.requires(policy.VIEW_EMPLOYERS)
    @blp.response(200, WarningOut(many=True))
    def get(self, plan_id):
        """Early warnings, newest first: raised once each time the projection turns at risk."""
        session = context.session()
        plan = plans.plan_for(session, context.principal(), plan_id)
        return list(session.scalars(select(ComplianceWarning).where(ComplianceWarning.plan_id == plan.id)
                                    .order_by(ComplianceWarning.raised_at.desc())))
