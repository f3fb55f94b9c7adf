"""Fund prices (/v1): sponsors and advisors load each fund's daily price; contributions waiting as pending cash buy
their units at the first confirmed price on or after their pay date. A price far off the fund's last one is held
until confirmed; a wrong price is corrected, and every purchase made at it is bought again (`accounts.prices`)."""
from datetime import date

from flask import request
from flask.views import MethodView

from backend.accounts import prices
from backend.accounts.schemas import (PriceConfirmIn, PriceConfirmOut, PriceCorrectionIn, PriceCorrectionOut, PriceIn,
                                      PricesIn, PricesOut)
from backend.errors import NotFound
from backend.identity import policy
from backend.plans import service as plans
from backend.web import context
from backend.web.smorest import Blueprint
from backend.web.uploads import load_csv_rows, uploaded_text

blp = Blueprint("accounts", __name__, url_prefix="/v1", description="Fund prices, and the contributions they invest.")


def _store_prices(plan_id: str, rows: list[dict], row_label) -> dict:
    session = context.session()
    plan = plans.plan_for(session, context.principal(), plan_id)
    load = prices.load_prices(session, context.actor(), plan, rows, row_label, context.today())
    answer = {"stored": load.stored, "invested": load.invested}
    if load.held:
        answer["held"] = load.held
    return answer


def _day(price_date: str) -> date:
    try:
        return date.fromisoformat(price_date)
    except ValueError:
        raise NotFound("No price for that day: the day must be a date, YYYY-MM-DD.") from None


@blp.route("/plans/<plan_id>/fund-prices")
class FundPrices(MethodView):
    @blp.requires(policy.MANAGE_EMPLOYERS)
    @blp.arguments(PricesIn)
    @blp.response(200, PricesOut)
    def post(self, body, plan_id):
        """Load daily prices; contributions waiting for a price buy their units now. A price dated after today or
        before the plan's effective date is refused; one that moves more than the plan's band from the fund's
        last confirmed price is stored but held (listed in `held`) until confirmed."""
        return _store_prices(plan_id, body["prices"], lambda i: f"prices[{i}]")


@blp.route("/plans/<plan_id>/fund-prices/csv")
class FundPricesCsv(MethodView):
    @blp.requires(policy.MANAGE_EMPLOYERS)
    @blp.doc(requestBody={"required": True, "content": {"text/csv": {"schema": {"type": "string"}}},
                          "description": "Columns: ticker, price_date, price"})
    @blp.response(200, PricesOut)
    def post(self, plan_id):
        """Load daily prices from a CSV file (ticker, price_date, price), checked and held as by JSON."""
        rows, labels = load_csv_rows(uploaded_text(request), lambda cells, _label: PriceIn().load(cells),
                                     columns=("ticker", "price_date", "price"), nothing="has no prices")
        return _store_prices(plan_id, rows, labels.__getitem__)


@blp.route("/plans/<plan_id>/fund-prices/<ticker>/<price_date>")
class FundPriceCorrection(MethodView):
    @blp.requires(policy.MANAGE_EMPLOYERS)
    @blp.answers(404, "The plan, the fund or that day's price does not exist.")
    @blp.answers(409, "That day's price is held for confirmation: it bought nothing, so there is nothing to correct.")
    @blp.arguments(PriceCorrectionIn)
    @blp.response(200, PriceCorrectionOut)
    def put(self, body, plan_id, ticker, price_date):
        """Correct a wrong price: every purchase made at it is sold back at the wrong price and bought again at
        this one, by new ledger entries (the ledger is never edited), in one transaction, audited. The
        participants see it in their contributions and balance history. Putting the same price again changes
        nothing."""
        session = context.session()
        plan = plans.plan_for(session, context.principal(), plan_id)
        return prices.correct_price(session, context.actor(), plan, ticker, _day(price_date), body["price"])


@blp.route("/plans/<plan_id>/fund-prices/<ticker>/<price_date>/confirm")
class FundPriceConfirmation(MethodView):
    @blp.requires(policy.MANAGE_EMPLOYERS)
    @blp.answers(404, "The plan, the fund or that day's price does not exist.")
    @blp.answers(409, "The stored price is not the one given: it was replaced since it was read.")
    @blp.arguments(PriceConfirmIn)
    @blp.response(200, PriceConfirmOut)
    def post(self, body, plan_id, ticker, price_date):
        """Confirm a held price (give the figure you checked): it trades from now on, and the contributions
        waiting for it buy their units. Any staff user may confirm, the one who loaded it included; both are in
        the audit trail."""
        session = context.session()
        plan = plans.plan_for(session, context.principal(), plan_id)
        return prices.confirm_price(session, context.actor(), plan, ticker, _day(price_date), body["price"])
