"""Fund prices (/v1): sponsors and advisors load each fund's daily price; contributions waiting as pending cash buy
their units at the first price on or after their pay date."""
from flask import request
from flask.views import MethodView

from backend.accounts.investing import invest_pending
from backend.accounts.schemas import PriceIn, PricesIn, PricesOut
from backend.accounts.service import load_prices
from backend.identity import policy
from backend.plans import service as plans
from backend.web import context
from backend.web.smorest import Blueprint
from backend.web.uploads import load_csv_rows, uploaded_text

blp = Blueprint("accounts", __name__, url_prefix="/v1", description="Fund prices, and the contributions they invest.")


def _store_prices(plan_id: str, rows: list[dict], row_label) -> dict:
    session = context.session()
    plan = plans.plan_for(session, context.principal(), plan_id)
    stored = load_prices(session, {f.ticker: f.id for f in plan.funds}, rows, row_label)
    return {"stored": stored, "invested": invest_pending(session, plan)}


@blp.route("/plans/<plan_id>/fund-prices")
class FundPrices(MethodView):
    @blp.requires(policy.MANAGE_EMPLOYERS)
    @blp.arguments(PricesIn)
    @blp.response(200, PricesOut)
    def post(self, body, plan_id):
        """Load daily prices; contributions waiting for a price buy their units now."""
        return _store_prices(plan_id, body["prices"], lambda i: f"prices[{i}]")


@blp.route("/plans/<plan_id>/fund-prices/csv")
class FundPricesCsv(MethodView):
    @blp.requires(policy.MANAGE_EMPLOYERS)
    @blp.doc(requestBody={"required": True, "content": {"text/csv": {"schema": {"type": "string"}}},
                          "description": "Columns: ticker, price_date, price"})
    @blp.response(200, PricesOut)
    def post(self, plan_id):
        """Load daily prices from a CSV file (ticker, price_date, price)."""
        rows, labels = load_csv_rows(uploaded_text(request), lambda cells, _label: PriceIn().load(cells),
                                     columns=("ticker", "price_date", "price"), nothing="has no prices")
        return _store_prices(plan_id, rows, labels.__getitem__)
