"""The sponsor's live compliance view (/v1): where the plan stands today and where it is heading."""
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from backend.compliance import service
from backend.compliance.models import ComplianceSnapshot, ComplianceWarning
from backend.compliance.schemas import ComplianceStateOut, SnapshotOut, WarningOut, WhatIfIn
from backend.enrollment.service import vault_for
from backend.errors import ValidationFailed
from backend.plans import service as plans
from backend.plans.models import Employee
from backend.web import context
from backend.web.context import requires
from backend.web.pagination import PageArgs, page_schema, paginate

blp = Blueprint("compliance", __name__, url_prefix="/v1", description="Nondiscrimination and limit tests, live.")
STAFF = ("sponsor_admin", "advisor", "platform_admin")


@blp.route("/plans/<plan_id>/compliance")
class ComplianceState(MethodView):
    @requires(*STAFF)
    @blp.response(200, ComplianceStateOut)
    def get(self, plan_id):
        """ADP, ACP (with the refunds or QNEC that would fix a failure), 402(g), 415(c), top-heavy and coverage,
        year to date and projected to year end from the elections in effect."""
        session = context.session()
        plan = plans.plan_for(session, context.principal(), plan_id)
        return service.compliance_state(session, vault_for(context.config()), plan, context.today())


@blp.route("/plans/<plan_id>/compliance/what-if")
class WhatIf(MethodView):
    @requires(*STAFF)
    @blp.arguments(WhatIfIn)
    @blp.response(200, ComplianceStateOut)
    def post(self, body, plan_id):
        """What if these employees deferred these rates for the rest of the year? Nothing is stored."""
        session = context.session()
        plan = plans.plan_for(session, context.principal(), plan_id)
        known = set(session.scalars(Employee.__table__.select().with_only_columns(Employee.external_id)
                                    .where(Employee.employer_id == plan.employer_id)))
        problems = [(f"changes[{i}].external_id", "is not on this plan's census")
                    for i, change in enumerate(body["changes"]) if change["external_id"] not in known]
        if problems:
            raise ValidationFailed(problems)
        what_if = {change["external_id"]: change["deferral_percent"] for change in body["changes"]}
        return service.compliance_state(session, vault_for(context.config()), plan, context.today(), what_if)


@blp.route("/plans/<plan_id>/compliance/history")
class History(MethodView):
    @requires(*STAFF)
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
    @requires(*STAFF)
    @blp.response(200, WarningOut(many=True))
    def get(self, plan_id):
        """Early warnings, newest first: raised once each time the projection turns at risk."""
        session = context.session()
        plan = plans.plan_for(session, context.principal(), plan_id)
        return list(session.scalars(select(ComplianceWarning).where(ComplianceWarning.plan_id == plan.id)
                                    .order_by(ComplianceWarning.raised_at.desc())))
