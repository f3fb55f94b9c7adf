"""Sponsors' approval queue and election history (/v1)."""

from flask.views import MethodView

from backend.enrollment import service
from backend.enrollment.models import DeferralElection
from backend.enrollment.views import election_view, election_views
from backend.enrollment.schemas import BulkDecisionIn, BulkDecisionResultOut, DecisionIn, ElectionOut
from backend.errors import DomainError
from backend.identity import policy
from backend.plans import service as plans
from backend.web import context
from backend.web.etags import etag_response, if_match_header
from backend.web.pagination import PageArgs, page_schema, paginate
from backend.web.smorest import Blueprint

blp = Blueprint("enrollment", __name__, url_prefix="/v1", description="Election approvals and history (sponsors).")


@blp.route("/plans/<plan_id>/approvals")
class ApprovalQueue(MethodView):
    @blp.requires(policy.APPROVE_ELECTIONS)
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_schema(ElectionOut, "ElectionPage"))
    def get(self, args, plan_id):
        """Elections waiting for approval, oldest first, each with the ETag to send when deciding."""
        session = context.session()
        plan = plans.plan_for(session, context.principal(), plan_id)
        rows, cursor = paginate(session, service.approval_queue_query(plan.id),
                                [DeferralElection.submitted_at, DeferralElection.id], args["limit"], args["cursor"],
                                lambda e: [e.submitted_at.isoformat(), e.id])
        return {"data": election_views(session, rows, context.today(), with_match=True), "next_cursor": cursor}


def _decide(election_id: str, approve: bool, reason: str | None):
    session = context.session()
    election = service.decide(session, context.actor(), context.principal(), election_id, if_match_header(),
                              approve, context.today(), reason)
    return etag_response(election_view(session, election, context.today()))


@blp.route("/elections/<election_id>/approve")
class Approve(MethodView):
    @blp.requires(policy.APPROVE_ELECTIONS)
    @blp.arguments(DecisionIn)
    @blp.response(200, ElectionOut)
    @blp.if_match
    def post(self, _body, election_id):
        """Approve one election. Send its ETag in If-Match: if the participant has made a newer election since,
        the approval is refused (412) and the newer one waits in the queue instead."""
        return _decide(election_id, True, None)


@blp.route("/elections/<election_id>/reject")
class Reject(MethodView):
    @blp.requires(policy.APPROVE_ELECTIONS)
    @blp.arguments(DecisionIn)
    @blp.response(200, ElectionOut)
    @blp.if_match
    def post(self, body, election_id):
        """Reject one election with a reason the participant will see."""
        return _decide(election_id, False, body["reason"])


@blp.route("/plans/<plan_id>/approvals/bulk")
class BulkDecision(MethodView):
    @blp.requires(policy.APPROVE_ELECTIONS)
    @blp.arguments(BulkDecisionIn)
    @blp.response(200, BulkDecisionResultOut)
    def post(self, body, plan_id):
        """Decide many elections at once. Each is decided on its own: one that changed since it was read is
        refused and reported, the others go through."""
        session = context.session()
        plan = plans.plan_for(session, context.principal(), plan_id)
        results = []
        for item in body["elections"]:
            savepoint = session.begin_nested()
            try:
                election = service.decide(session, context.actor(), context.principal(), item["election_id"],
                                          item["etag"], body["decision"] == "approve", context.today(), body["reason"])
                if election.plan_id != plan.id:
                    raise DomainError("This election belongs to another plan.")
                savepoint.commit()
                results.append({"election_id": election.id, "outcome": election.status})
            except DomainError as error:
                savepoint.rollback()
                results.append({"election_id": item["election_id"], "outcome": "refused", "status": error.status,
                                "problem": error.detail})
        return {"results": results}


@blp.route("/employees/<employee_id>/elections")
class EmployeeElections(MethodView):
    @blp.requires(policy.VIEW_EMPLOYERS)
    @blp.response(200, ElectionOut(many=True))
    def get(self, employee_id):
        """Every version of an employee's deferral election, newest first."""
        session = context.session()
        employee = plans.employee_for(session, context.principal(), employee_id)
        return election_views(session, service.elections_of(session, employee.id), context.today())
