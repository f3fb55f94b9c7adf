"""The participant's API (/mobile/v1): sign up, see eligibility, elect, invest, name beneficiaries."""
from datetime import date

from flask.views import MethodView

from backend.accounts import service as ledger
from backend.enrollment import automatic
from backend.enrollment import service as enrollment
from backend.enrollment.views import (election_view, election_views, eligibility_views, investments_view,
                                      preview_view)
from backend.enrollment.schemas import (BeneficiariesIn, BeneficiariesOut, ElectionIn, ElectionOut, InvestmentsIn,
                                        InvestmentsOut, MatchPreviewOut, OptOutOut, OutsideDeferralIn,
                                        OutsideDeferralOut, SignUpIn)
from backend.errors import ValidationFailed
from backend.identity import policy
from backend.identity.schemas import TokenResponse
from backend.plans import service as plans
from backend.plans.models import Employer
from backend.plans.schedules import next_pay_date
from backend.web import context
from backend.web.etags import etag_response
from backend.web.pagination import PageArgs, page_schema, paginate_computed
from backend.web.smorest import Blueprint
from mobile_api.schemas import BalanceOut, BalancePointOut, ContributionOut, LimitsOut, MeOut
from backend.web.notification_routes import add_notification_routes

blp = Blueprint("mobile", __name__, url_prefix="/mobile/v1", description="The participant's phone.")


def _me():
    session = context.session()
    return session, enrollment.participant_employee(session, context.principal())


@blp.route("/signup")
class SignUp(MethodView):
    @blp.doc(security=[])
    @blp.answers(401, "The date of birth or the SSN's last four digits do not match the employer's records.")
    @blp.answers(404, "This invite code is not valid: never sent, replaced by a newer one, or already used.")
    @blp.answers(429, "Too many failed attempts for this invite code: ask the employer to send a new one.")
    @blp.answers(429, "Too many requests from this client: wait as Retry-After says.")
    @blp.arguments(SignUpIn)
    @blp.response(201, TokenResponse)
    def post(self, body):
        """Create your account with the invite code sent to you (at the email or phone your employer has on file;
        your employer never sees it); prove it is you with your date of birth and the last four digits of your SSN
        (a few attempts only)."""
        return enrollment.sign_up(context.session(), context.config(), context.vault(),
                               context.actor(), invite_code=body["invite_code"], date_of_birth=body["date_of_birth"],
                               ssn_last4=body["ssn_last4"], email=body["email"], password=body["password"])


@blp.route("/me")
class Me(MethodView):
    @blp.requires(policy.PARTICIPATE)
    @blp.response(200, MeOut)
    def get(self):
        """Your record: eligibility and entry date, the election in effect, the next pay date, the fund menu."""
        session, employee = _me()
        today = context.today()
        employer = session.get(Employer, employee.employer_id)
        plan = plans.current_plan(session, employer.id)
        in_effect = enrollment.election_in_effect(session, employee.id, today)
        scheduled = enrollment.scheduled_election(session, employee.id, today)
        pending = next((e for e in enrollment.elections_of(session, employee.id) if e.status == "pending_approval"), None)
        shown = [e for e in (in_effect, scheduled, pending) if e is not None]
        views = dict(zip((e.id for e in shown), election_views(session, shown, today, with_match=True)))
        return {
            "employee_id": employee.id, "first_name": employee.first_name, "last_name": employee.last_name,
            "employer_name": employer.name, "plan_id": plan.id, "plan_name": plan.name,
            "roth_allowed": plan.roth_allowed,
            "catch_up_eligible": enrollment.catch_up_eligible(context.vault(), employee, today.year),
            "pay_frequency": employer.pay_frequency,
            "next_pay_date": next_pay_date(employer.pay_frequency, employer.anchor_pay_date, today),
            "eligibility": eligibility_views(session, [employee], today)[employee.id],
            "election_in_effect": in_effect and views[in_effect.id],
            "election_scheduled": scheduled and views[scheduled.id],
            "election_pending": pending and views[pending.id],
            "funds": plan.funds,
        }


@blp.route("/elections")
class Elections(MethodView):
    @blp.requires(policy.PARTICIPATE)
    @blp.response(200, ElectionOut(many=True))
    def get(self):
        """Every version of your deferral election, newest first."""
        session, employee = _me()
        return election_views(session, enrollment.elections_of(session, employee.id), context.today())

    @blp.requires(policy.PARTICIPATE)
    @blp.answers(403, "Only current employees can make elections.")
    @blp.idempotent
    @blp.arguments(ElectionIn)
    @blp.response(201, ElectionOut)
    def post(self, body):
        """Make a new election (a new version; history is kept). It takes effect on the next pay date or your
        entry date, whichever is later, once the sponsor approves it if the plan asks for approval. The answer
        says what your employer will match and what you would miss."""
        session, employee = _me()
        election = enrollment.submit_election(session, context.vault(), context.actor(), employee,
                                           body["lines"], context.today())
        return etag_response(election_view(session, election, context.today(), with_match=True), 201)


@blp.route("/elections/preview")
class ElectionPreview(MethodView):
    @blp.requires(policy.PARTICIPATE)
    @blp.stores_nothing
    @blp.arguments(ElectionIn)
    @blp.response(200, MatchPreviewOut)
    def post(self, body):
        """What the employer would match at these lines, without storing anything."""
        session, employee = _me()
        employer = session.get(Employer, employee.employer_id)
        plan = plans.current_plan(session, employer.id)
        problems = enrollment.validate_lines(plan, body["lines"], enrollment.catch_up_eligible(
            context.vault(), employee, context.today().year), enrollment.pay_per_paycheck(employee, employer.pay_frequency))
        if problems:
            raise ValidationFailed(problems)
        preview = enrollment.preview_match(plan, employee, employer.pay_frequency, body["lines"])
        return preview_view(preview)


@blp.route("/elections/opt-out")
class OptOut(MethodView):
    @blp.requires(policy.PARTICIPATE)
    @blp.idempotent
    @blp.response(201, OptOutOut)
    def post(self):
        """Opt out of automatic enrollment: deferrals stop from the next pay date. Inside the plan's window the
        automatic contributions can also be withdrawn."""
        session, employee = _me()
        election, withdrawal = enrollment.opt_out(session, context.vault(), context.actor(), employee,
                                               context.today())
        return {"election": election_view(session, election, context.today()),
                "permissible_withdrawal_available": withdrawal}


@blp.route("/investments")
class Investments(MethodView):
    @blp.requires(policy.PARTICIPATE)
    @blp.response(200, InvestmentsOut)
    def get(self):
        """How your new contributions are invested (the plan's default fund until you choose)."""
        session, employee = _me()
        return investments_view(session, enrollment.current_investments(session, employee.id))

    @blp.requires(policy.PARTICIPATE)
    @blp.arguments(InvestmentsIn)
    @blp.response(200, InvestmentsOut)
    def put(self, body):
        """Choose funds for new contributions: percentages that add up to 100, or the default fund."""
        session, employee = _me()
        if body["use_default"] == (body["allocations"] is not None):
            raise ValidationFailed([("allocations", "give allocations, or use_default: true, not both")])
        election = enrollment.set_investments(session, context.actor(), employee,
                                           None if body["use_default"] else body["allocations"])
        return investments_view(session, election)


@blp.route("/beneficiaries")
class Beneficiaries(MethodView):
    @blp.requires(policy.PARTICIPATE)
    @blp.response(200, BeneficiariesOut)
    def get(self):
        """Your beneficiaries."""
        session, employee = _me()
        return enrollment.current_beneficiaries(session, employee.id) or {"version": 0, "beneficiaries": []}

    @blp.requires(policy.PARTICIPATE)
    @blp.arguments(BeneficiariesIn)
    @blp.response(200, BeneficiariesOut)
    def put(self, body):
        """Replace your beneficiaries: primary shares add up to 100, contingent shares to 100 (or name none)."""
        session, employee = _me()
        return enrollment.set_beneficiaries(session, context.actor(), employee, body["beneficiaries"])


@blp.route("/outside-deferrals")
class OutsideDeferrals(MethodView):
    @blp.requires(policy.PARTICIPATE)
    @blp.response(200, OutsideDeferralOut(many=True))
    def get(self):
        """Deferrals you declared at other employers, by calendar year."""
        session, employee = _me()
        return enrollment.outside_deferrals_of(session, employee.id)

    @blp.requires(policy.PARTICIPATE)
    @blp.arguments(OutsideDeferralIn)
    @blp.response(200, OutsideDeferralOut)
    def put(self, body):
        """Declare what you deferred at another employer this calendar year; it counts toward your 402(g) limit."""
        session, employee = _me()
        return enrollment.declare_outside_deferrals(session, context.actor(), employee, body["calendar_year"],
                                                 body["amount_cents"], body["other_employer"], context.today())


@blp.route("/balance")
class Balance(MethodView):
    @blp.requires(policy.PARTICIPATE)
    @blp.response(200, BalanceOut)
    def get(self):
        """Your balance today: total, vested, by source and fund, gain or loss, at the latest fund prices."""
        session, employee = _me()
        return ledger.participant_summary(session, employee, plans.current_plan(session, employee.employer_id),
                                          context.today())


@blp.route("/contributions")
class Contributions(MethodView):
    @blp.requires(policy.PARTICIPATE)
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_schema(ContributionOut, "ContributionPage"))
    def get(self, args):
        """Money in per pay date, newest first (paginated), with the price corrections that repriced its units."""
        session, employee = _me()
        plan = plans.current_plan(session, employee.employer_id)
        page, cursor = paginate_computed(ledger.contribution_history(session, employee.id,
                                                                     {f.id: f.ticker for f in plan.funds}),
                                         lambda row: row["pay_date"], date, args["limit"], args["cursor"])
        return {"data": page, "next_cursor": cursor}


@blp.route("/balance-history")
class BalanceHistory(MethodView):
    @blp.requires(policy.PARTICIPATE)
    @blp.response(200, BalancePointOut(many=True))
    def get(self):
        """Your balance and what went in, on each day either changed: the chart."""
        session, employee = _me()
        plan = plans.current_plan(session, employee.employer_id)
        return ledger.balance_history(session, employee.id, [f.id for f in plan.funds], context.today(),
                                      {f.id: f.ticker for f in plan.funds})


@blp.route("/limits")
class Limits(MethodView):
    @blp.requires(policy.PARTICIPATE)
    @blp.response(200, LimitsOut)
    def get(self):
        """This year's deferrals here and elsewhere against the 402(g) limit and your catch-up room."""
        session, employee = _me()
        return enrollment.deferral_limits(session, context.vault(), employee, context.today().year)


@blp.route("/elections/<election_id>/skip")
class SkipEscalation(MethodView):
    @blp.requires(policy.PARTICIPATE)
    @blp.response(200, ElectionOut)
    def post(self, election_id):
        """Skip an announced automatic escalation before it takes effect; your rate stays as it is."""
        session, employee = _me()
        election = automatic.skip_escalation(session, context.actor(), employee, election_id)
        return election_view(session, election, context.today())


# Devices, the feed and notification settings: the same routes as staff have under /v1.
add_notification_routes(blp, policy.PARTICIPATE, devices="/devices")
