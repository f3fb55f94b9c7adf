"""The plan dashboard and the advisor's book over HTTP (/v1): parse, ask oversight, present."""
from flask.views import MethodView

from backend.identity import policy
from backend.oversight import book, dashboard
from backend.oversight.book_schemas import (BookArgs, BookCsvArgs, FiguresOut, PipelineArgs, PipelineOut)
from backend.web import context
from backend.web.csv_out import CsvWriter
from backend.web.pagination import page_schema, paginate
from backend.web.smorest import Blueprint

blp = Blueprint("book", __name__, url_prefix="/v1",
                description="A plan's dashboard, and the advisor's book of plans in the order they need attention.")

CSV_COLUMNS = ["plan_id", "plan_name", "employer_id", "employer_name", "stage", "attention", "compliance_status",
               "compliance_margin", "eligible_count", "enrolled_count", "participation_rate", "hce_average_deferral",
               "nhce_average_deferral", "match_paid_cents", "match_projected_cents", "assets_cents",
               "pending_approvals", "open_exceptions", "dead_letters", "agreement_signed", "billing_status", "as_of"]
CSV_PAGE = 500


@blp.route("/plans/<plan_id>/dashboard")
class PlanDashboard(MethodView):
    @blp.requires(policy.VIEW_EMPLOYERS)
    @blp.response(200, FiguresOut)
    def get(self, plan_id):
        """The plan's dashboard: participation, average deferral (HCE and NHCE), match paid and projected, assets,
        contributions by month, what waits for the sponsor (approvals, payroll exceptions, dead letters), the
        compliance status and margin, the adoption agreement and billing."""
        return dashboard.plan_dashboard(context.session(), context.principal(), plan_id, context.today())


@blp.route("/book")
class Book(MethodView):
    @blp.requires(policy.VIEW_BOOK)
    @blp.arguments(BookArgs, location="query")
    @blp.response(200, page_schema(FiguresOut, "BookPage"))
    def get(self, args):
        """Every plan the advisor serves (every plan, for the platform), most in need of attention first: at risk,
        approvals waiting, payroll exceptions, unsigned documents, past-due billing, then the rest; ties by
        employer name, then plan id."""
        session = context.session()
        rows, cursor = paginate(session, book.book_query(context.principal(), attention=args["attention"],
                                                         status=args["status"]),
                                list(book.BOOK_ORDER), args["limit"], args["cursor"], book.book_key)
        return {"data": [dashboard.present(book.figures_of(row)) for row in rows], "next_cursor": cursor}


@blp.route("/book.csv")
class BookCsv(MethodView):
    @blp.requires(policy.VIEW_BOOK)
    @blp.arguments(BookCsvArgs, location="query")
    @blp.response(200, content_type="text/csv", description="The book as a CSV file, in the book's order; cells a "
                  "spreadsheet would run as formulas begin with '.")
    def get(self, args):
        """The book (with the same filters) as a CSV file for spreadsheets."""
        session = context.session()
        query = book.book_query(context.principal(), attention=args["attention"], status=args["status"])
        writer, cursor = CsvWriter(CSV_COLUMNS), None
        while True:
            rows, cursor = paginate(session, query, list(book.BOOK_ORDER), CSV_PAGE, cursor, book.book_key)
            writer.write_rows(book.figures_of(row).as_dict() for row in rows)
            session.expunge_all()  # a page at a time in memory, however large the book
            if cursor is None:
                return writer.response("book.csv")


@blp.route("/book/pipeline")
class Pipeline(MethodView):
    @blp.requires(policy.VIEW_BOOK)
    @blp.arguments(PipelineArgs, location="query")
    @blp.response(200, PipelineOut)
    def get(self, args):
        """The setup pipeline: plans created, documents signed (in force, no pay run yet), live (taking
        contributions), with how many are in each stage and the newest of each."""
        return book.pipeline(context.session(), context.principal(), args["per_stage"])
