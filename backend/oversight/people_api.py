"""The sponsor's and advisor's view of a plan's people (/v1): the participant list, its CSV, one participant's
account. Participants are refused all of it, their own plan included."""
from datetime import date

from flask.views import MethodView

from backend.identity import policy
from backend.oversight import people
from backend.oversight.schemas import (ParticipantAccountOut, ParticipantFilterArgs, ParticipantListArgs,
                                       ParticipantRowOut)
from backend.web import context
from backend.web.csv_out import CsvWriter
from backend.web.pagination import PageArgs, decode_cursor, encode_cursor, page_schema, paginate_computed
from backend.web.smorest import Blueprint

blp = Blueprint("people", __name__, url_prefix="/v1",
                description="A plan's people as its sponsor and advisor see them (read only).")

CSV_COLUMNS = ["employee_id", "external_id", "first_name", "last_name", "participation_status", "deferral_percent",
               "pretax_percent", "roth_percent", "balance_cents", "vested_balance_cents", "ytd_deferrals_cents",
               "ytd_match_cents", "ytd_since", "last_contribution_date", "last_contribution_cents"]


def _rows(plan_id: str, args: dict) -> list[dict]:
    return people.participant_rows(context.session(), context.principal(), plan_id, context.today(),
                                   status=args["status"], sort=args["sort"])


@blp.route("/plans/<plan_id>/participants")
class Participants(MethodView):
    @blp.requires(policy.VIEW_EMPLOYERS)
    @blp.arguments(ParticipantListArgs, location="query")
    @blp.response(200, page_schema(ParticipantRowOut, "ParticipantPage"))
    def get(self, args, plan_id):
        """Everyone on the plan's census with their participation status, election in effect, balance and vested
        balance (the phone's figures), this plan year's deferrals and match, and their last contribution: sorted,
        filtered by status, paginated."""
        rows = _rows(plan_id, args)
        page, after = people.page_after(rows, args["sort"], decode_cursor(args["cursor"]), args["limit"])
        return {"data": page, "next_cursor": None if after is None else encode_cursor(after)}


def _csv_row(row: dict) -> dict:
    election = row["election_in_effect"] or {}
    last = row["last_contribution"] or {}
    return {**row, "deferral_percent": election.get("deferral_percent"),
            "pretax_percent": election.get("pretax_percent"), "roth_percent": election.get("roth_percent"),
            "last_contribution_date": last.get("pay_date"), "last_contribution_cents": last.get("total_cents")}


@blp.route("/plans/<plan_id>/participants.csv")
class ParticipantsCsv(MethodView):
    @blp.requires(policy.VIEW_EMPLOYERS)
    @blp.arguments(ParticipantFilterArgs, location="query")
    @blp.response(200, content_type="text/csv", description="The participant list as a CSV file, every row, in the "
                  "list's order; cells a spreadsheet would run as formulas begin with '.")
    def get(self, args, plan_id):
        """The participant list (the same filter and sort, every row) as a CSV file for spreadsheets."""
        writer = CsvWriter(CSV_COLUMNS)
        writer.write_rows(_csv_row(row) for row in _rows(plan_id, args))
        return writer.response("participants.csv")


@blp.route("/plans/<plan_id>/participants/<employee_id>")
class ParticipantAccount(MethodView):
    @blp.requires(policy.VIEW_EMPLOYERS)
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, ParticipantAccountOut)
    def get(self, args, plan_id, employee_id):
        """One participant's account, read only: balance by source and fund (as their phone shows it), money in per
        pay date (paginated by `limit` and `cursor`), elections and their payroll stage, how many beneficiaries.
        Each view is written to the audit trail."""
        account = people.account_of(context.session(), context.principal(), context.actor(), plan_id, employee_id,
                                    context.today())
        account["contributions"], account["contributions_next_cursor"] = paginate_computed(
            account["contributions"], lambda row: row["pay_date"], date, args["limit"], args["cursor"])
        return account
