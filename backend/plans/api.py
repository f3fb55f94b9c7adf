"""Advisors set up plans; sponsors load, read and export the census (/v1)."""
from functools import wraps

from flask import request
from flask.views import MethodView

from backend.enrollment import views as enrollment_views
from backend.audit import AuditEvent, audit_trail_query
from backend.identity import policy
from backend.plans import service
from backend.plans.models import Employee
from backend.plans.views import census_result_view, employee_views
from backend.plans.schemas import (AuditEventOut, CensusIn, CensusResultOut, EmployeeIn, EmployeeOut, EmployerOut,
                                   InvitationSentOut, PlanAmendmentIn, PlanOut, PlanSetupIn, PlanSetupOut, PriceSettingsIn,
                                   PriceSettingsOut, SponsorInvitationOut, UnlinkedOut, UnlinkIn)
from backend.web import context
from backend.web.pagination import PageArgs, page_schema, paginate
from backend.web.smorest import Blueprint
from backend.web.csv_out import CsvWriter
from backend.web.uploads import CsvUpload, too_many_rows

# Blueprints compose answers from several packages' presenters (census rows with their eligibility): HTTP sits
# above every domain package.
blp = Blueprint("plans", __name__, url_prefix="/v1", description="Plan setup (advisors) and the census (sponsors).")


@blp.route("/plans/setup")
class PlanSetup(MethodView):
    @blp.requires(policy.SET_UP_PLANS)
    @blp.idempotent(shown_once="the sponsor admin's invitation token",
                    created=lambda answer: f"employer {answer['employer']['id']} and plan {answer['plan']['id']}")
    @blp.arguments(PlanSetupIn)
    @blp.response(201, PlanSetupOut)
    def post(self, body):
        """Open a plan in one call: employer, plan rules (a template fills what is left out), fund menu, and an
        invitation for the sponsor admin. Every problem with the rules is listed at once."""
        return service.setup_plan(context.session(), context.vault(), context.actor(), context.principal(), body,
                                  context.today())


@blp.route("/employers")
class Employers(MethodView):
    @blp.requires(policy.VIEW_EMPLOYERS)
    @blp.response(200, EmployerOut(many=True))
    def get(self):
        """The employers the caller may see: an advisor's own, a sponsor admin's one."""
        return service.employers_visible_to(context.session(), context.principal())


@blp.route("/employers/<employer_id>")
class EmployerResource(MethodView):
    @blp.requires(policy.VIEW_EMPLOYERS)
    @blp.response(200, EmployerOut)
    def get(self, employer_id):
        """One employer with its plans."""
        return service.employer_for(context.session(), context.principal(), employer_id)


@blp.route("/plans/<plan_id>")
class PlanResource(MethodView):
    @blp.requires(policy.VIEW_EMPLOYERS)
    @blp.response(200, PlanOut)
    def get(self, plan_id):
        """A plan and its rules."""
        return service.plan_for(context.session(), context.principal(), plan_id)


@blp.route("/plans/<plan_id>/rules")
class PlanRules(MethodView):
    @blp.requires(policy.MANAGE_EMPLOYERS)
    @blp.arguments(PlanAmendmentIn)
    @blp.response(200, PlanOut)
    def patch(self, body, plan_id):
        """Amend the plan's rules (match formula, Roth, loans, hardship) from `effective_on`: the plan's documents
        are restated with the changes listed, and participants are told a new summary is available. Audited."""
        session = context.session()
        plan = service.plan_for(session, context.principal(), plan_id)
        changes = {key: value for key, value in body.items() if key != "effective_on"}
        service.amend_rules(session, context.actor(), plan, changes, body["effective_on"], context.today())
        return plan


@blp.route("/plans/<plan_id>/price-settings")
class PriceSettings(MethodView):
    @blp.requires(policy.VIEW_EMPLOYERS)
    @blp.response(200, PriceSettingsOut)
    def get(self, plan_id):
        """The plan's fund price band: how far a price may move before it is held for confirmation."""
        return service.plan_for(context.session(), context.principal(), plan_id)

    @blp.requires(policy.MANAGE_EMPLOYERS)
    @blp.arguments(PriceSettingsIn)
    @blp.response(200, PriceSettingsOut)
    def put(self, body, plan_id):
        """Set the fund price band (a fraction of the fund's last confirmed price); audited."""
        session = context.session()
        plan = service.plan_for(session, context.principal(), plan_id)
        service.set_price_move_band(session, context.actor(), plan, body["price_move_band"])
        return plan


def _json_row_cap(view):
    """Refuse a JSON census above the row cap before marshmallow reads any of its rows."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        body = request.get_json(silent=True)
        employees = body.get("employees") if isinstance(body, dict) else None
        if isinstance(employees, list) and len(employees) > context.config().census_max_rows:
            raise too_many_rows("employees", context.config().census_max_rows)
        return view(*args, **kwargs)
    return wrapper


def _writable_employer(employer_id: str):
    return service.employer_for(context.session(), context.principal(), employer_id, write=True)


def _load_in_batches(employer, read_rows) -> dict:
    result = service.load_census_in_batches(context.plumb().db, context.vault(), context.actor(), employer.id,
                                            read_rows, context.today())
    return census_result_view(result)


def _employee_views(session, employees: list[Employee]) -> list[dict]:
    return employee_views(session, context.vault(), employees,
                          enrollment_views.eligibility_views(session, employees, context.today()),
                          context.config().signup_max_attempts)


@blp.route("/employers/<employer_id>/employees")
class Census(MethodView):
    @blp.requires(policy.VIEW_EMPLOYERS)
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_schema(EmployeeOut, "EmployeePage"))
    def get(self, args, employer_id):
        """The census, with each employee's eligibility and entry date (paginated)."""
        session = context.session()
        employer = service.employer_for(session, context.principal(), employer_id)
        rows, cursor = paginate(session, service.employees_page_query(employer.id), [Employee.external_id, Employee.id],
                                args["limit"], args["cursor"], lambda e: [e.external_id, e.id])
        return {"data": _employee_views(session, rows), "next_cursor": cursor}

    @blp.requires(policy.MANAGE_EMPLOYERS)
    @blp.idempotent
    @_json_row_cap
    @blp.arguments(CensusIn)
    @blp.response(200, CensusResultOut)
    def post(self, body, employer_id):
        """Load the census as JSON (at most 100,000 employees, the server's `census_max_rows`). Rows update in
        place by external id; uploading the same file again changes nothing; a file with any bad row is rejected
        whole with every problem listed. A valid file is written in batches: should writing stop half-way (409),
        sending the same file again finishes it."""
        employer, employees = _writable_employer(employer_id), body["employees"]
        return _load_in_batches(employer, lambda: ((f"employees[{i}]", row, []) for i, row in enumerate(employees)))


CSV_DOC = {"requestBody": {"required": True, "description": "A CSV file with a header row naming the census "
                           "fields (external_id, first_name, last_name, date_of_birth, ssn, hire_date, "
                           "annual_compensation, …)", "content": {"text/csv": {"schema": {"type": "string"}},
                                                                "multipart/form-data": {"schema": {"type": "object",
                                                                 "properties": {"file": {"type": "string", "format": "binary"}}}}}}}


@blp.route("/employers/<employer_id>/employees/csv")
class CensusCsv(MethodView):
    @blp.requires(policy.MANAGE_EMPLOYERS)
    @blp.idempotent
    @blp.doc(**CSV_DOC)
    @blp.response(200, CensusResultOut)
    def post(self, employer_id):
        """Load the census as a CSV file (as the body with Content-Type text/csv, or as the form field `file`),
        of at most 100,000 rows (the server's `census_max_rows`). Errors name the file's line numbers
        ("line 3.ssn"). The file is read as a stream, checked whole, then written in batches: should writing stop
        half-way (409), sending the same file again finishes it."""
        employer, schema = _writable_employer(employer_id), EmployeeIn()
        upload = CsvUpload(request, columns=schema.fields,
                           required=[name for name, f in schema.fields.items() if f.required],
                           max_rows=context.config().census_max_rows,
                           empty_file="is empty; it needs a header row and at least one employee",
                           nothing="has no employee rows")
        return _load_in_batches(employer, lambda: upload.rows(lambda cells, _label: schema.load(cells)))


# The JSON census view's fields, less those that prove identity at sign-up (invite code, date of birth, SSN last
# four): a spreadsheet gets passed around, and with these it would let anyone claim the employee's account.
EXPORT_COLUMNS = ["id", "external_id", "first_name", "last_name", "email", "phone", "hire_date", "rehire_date",
                  "termination_date", "annual_compensation", "ownership_percent", "officer", "hours_by_period",
                  "signed_up", "eligibility_status", "eligibility_entry_date", "eligibility_conditions_met_date",
                  "eligibility_basis", "eligibility_explanation"]
EXPORT_PAGE = 1000


def _export_row(view: dict) -> dict:
    eligibility = view.get("eligibility") or {}
    hours = ";".join(f"{start}={hours}" for start, hours in sorted((view.get("hours_by_period") or {}).items()))
    return {**view, "hours_by_period": hours, "officer": "yes" if view.get("officer") else "no",
            "signed_up": "yes" if view.get("signed_up") else "no",
            **{f"eligibility_{key}": value for key, value in eligibility.items()}}


@blp.route("/employers/<employer_id>/employees.csv")
class CensusExport(MethodView):
    @blp.requires(policy.VIEW_EMPLOYERS)
    @blp.response(200, content_type="text/csv", description="The census as a CSV file, a row per employee by "
                  "external id; cells a spreadsheet would run as formulas begin with '.")
    def get(self, employer_id):
        """The census as a CSV file for spreadsheets: the census view's fields with eligibility, less those that
        prove identity at sign-up. Hours by period read "2026-01-01=1000;…"."""
        session = context.session()
        employer = service.employer_for(session, context.principal(), employer_id)
        writer, cursor = CsvWriter(EXPORT_COLUMNS), None
        while True:
            page, cursor = paginate(session, service.employees_page_query(employer.id),
                                    [Employee.external_id, Employee.id], EXPORT_PAGE, cursor,
                                    lambda e: [e.external_id, e.id])
            writer.write_rows(_export_row(view) for view in _employee_views(session, page))
            session.expunge_all()  # a page at a time in memory, however long the census
            if cursor is None:
                return writer.response("census.csv")


@blp.route("/employees/<employee_id>")
class EmployeeResource(MethodView):
    @blp.requires(policy.VIEW_EMPLOYERS)
    @blp.response(200, EmployeeOut)
    def get(self, employee_id):
        """One employee on the census."""
        session = context.session()
        return _employee_views(session, [service.employee_for(session, context.principal(), employee_id)])[0]


@blp.route("/employees/<employee_id>/invitation")
class EmployeeInvitation(MethodView):
    @blp.requires(policy.MANAGE_EMPLOYERS)
    @blp.answers(409, "The employee has signed up already, or the census has no email or phone for them.")
    @blp.response(202, InvitationSentOut)
    def post(self, employee_id):
        """Send the employee a new invite code at the census email or phone. The old code stops working and the
        count of wrong tries starts again (so this also reissues a code locked by wrong guesses). Staff never see
        the code."""
        return service.resend_employee_invitation(context.session(), context.vault(), context.actor(),
                                                  context.principal(), employee_id)


@blp.route("/employees/<employee_id>/account/unlink")
class UnlinkAccount(MethodView):
    @blp.requires(policy.UNLINK_ACCOUNTS)
    @blp.answers(404, "No such employee, or no participant account is linked to them.")
    @blp.arguments(UnlinkIn)
    @blp.response(200, UnlinkedOut)
    def post(self, body, employee_id):
        """Detach a participant account that the wrong person claimed: the account is disabled and its sessions
        end, the employee is told at the census contact and sent a new code to sign up again. Audited with who did
        it and why."""
        return service.unlink_account(context.session(), context.vault(), context.actor(), context.principal(),
                                      employee_id, body["reason"])


@blp.route("/employers/<employer_id>/sponsor-invitation")
class SponsorInvitation(MethodView):
    @blp.requires(policy.SET_UP_PLANS)
    @blp.answers(409, "The sponsor admin has accepted already; there is nothing to resend.")
    @blp.response(202, SponsorInvitationOut)
    def post(self, employer_id):
        """Send the sponsor admin's invitation again, to the same address; the earlier one stops working. The
        advisor sees where it went and when it expires, never its token."""
        return service.resend_sponsor_invitation(context.session(), context.vault(), context.actor(),
                                                 context.principal(), employer_id)


@blp.route("/employers/<employer_id>/audit-events")
class AuditTrail(MethodView):
    @blp.requires(policy.VIEW_EMPLOYERS)
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_schema(AuditEventOut, "AuditEventPage"))
    def get(self, args, employer_id):
        """Every recorded change for this employer, oldest first: who, when, from where, what changed."""
        session = context.session()
        employer = service.employer_for(session, context.principal(), employer_id)
        rows, cursor = paginate(session, audit_trail_query(employer.id),
                                [AuditEvent.seq], args["limit"], args["cursor"], lambda e: [e.seq])
        return {"data": rows, "next_cursor": cursor}
