"""Fund prices cannot mis-invest, and a wrong price can be corrected (security review H-2), driven through the HTTP
API as sponsors, advisors and participants use it. The app's today is 2026-11-24; the plan took effect 2026-01-01.

Each test's pay run gives E1 90.00 of pre-tax and 90.00 of safe-harbor match (18000 cents) in PLTDX, the default
fund, waiting as pending cash until a price on or after its pay date arrives."""
from decimal import Decimal


from backend.accounts.prices import beyond_band, move_percent
from backend.money import units_for
from tests import scenario
from tests.payroll.support import row_counts
from tests.support import run_cli
from tests.support.served import all_at_once, race_trials
from tests.support.problems import assert_problem, error_fields


def pay(client, connection, run_id: str, pay_date: str):
    posted = scenario.signed_post(client, connection, scenario.pay_run(run_id, pay_date, [
        scenario.statement("E1", 300000, pretax=9000)]))
    assert posted.status_code == 200 and posted.json["posted"] == 1, posted.json
    return posted.json


def load(client, world, rows, headers=None):
    return client.post(f"/v1/plans/{world.plan_id}/fund-prices", headers=headers or world.sponsor,
                       json={"prices": [{"ticker": t, "price_date": d, "price": p} for t, d, p in rows]})


def confirm(client, world, ticker, day, price, headers=None):
    return client.post(f"/v1/plans/{world.plan_id}/fund-prices/{ticker}/{day}/confirm",
                       headers=headers or world.sponsor, json={"price": price})


def correct(client, world, ticker, day, price, headers=None):
    return client.put(f"/v1/plans/{world.plan_id}/fund-prices/{ticker}/{day}", headers=headers or world.sponsor,
                      json={"price": price})


def pltdx(client, world) -> dict:
    summary = client.get("/mobile/v1/balance", headers=world.participant).json
    [fund] = summary["by_fund"]
    assert fund["ticker"] == "PLTDX"
    return {"units": Decimal(fund["units"]), "pending_cents": fund["pending_cents"], "value_cents": fund["value_cents"],
            "cost_cents": fund["cost_cents"], "total_cents": summary["total_cents"]}


def audit(client, world, prefix: str) -> list[dict]:
    events = client.get(f"/v1/employers/{world.employer_id}/audit-events?limit=200", headers=world.sponsor).json
    return [e for e in events["data"] if e["action"].startswith(prefix)]


def ledger_check(app):
    checked = run_cli(app, args=["ledger", "check"])
    assert checked.exit_code == 0, checked.output


# ---- the rules ---------------------------------------------------------------------------------------------------

def test_a_price_is_held_only_when_it_moves_more_than_the_band_either_way():
    band = Decimal("0.25")
    assert not beyond_band(Decimal("12.50"), Decimal("10"), band)  # +25%: on the band, not beyond it
    assert beyond_band(Decimal("12.500001"), Decimal("10"), band)
    assert not beyond_band(Decimal("7.50"), Decimal("10"), band)  # -25%
    assert beyond_band(Decimal("7.49"), Decimal("10"), band)
    assert beyond_band(Decimal("0.000001"), Decimal("10"), band)  # the review's typo: -99.99999%
    assert not beyond_band(Decimal("1000"), None, band)  # a fund's first price has nothing to compare with
    assert move_percent(Decimal("13"), Decimal("10")) == Decimal("30.00")
    assert move_percent(Decimal("6.6666"), Decimal("10")) == Decimal("-33.33")


# ---- validation at the door --------------------------------------------------------------------------------------

def test_the_reviews_far_future_price_is_refused_and_the_real_price_then_invests_sanely(app, client, plumb, world,
                                                                                      connection):
    pay(client, connection, "R-1", "2026-11-20")
    assert pltdx(client, world)["pending_cents"] == 18000
    before = row_counts(plumb)

    typo = load(client, world, [("PLTDX", "2099-01-01", "0.000001")])
    assert_problem(typo, 422, "validation")
    assert typo.json["errors"] == [{"field": "prices[0].price_date", "message": "is after today (2026-11-24): a "
                                    "fund's price is known only once its day's trading is over"}]
    for day in ("9999-12-31", "2026-11-25"):
        assert error_fields(load(client, world, [("PLTDX", day, "10.00")])) == ["prices[0].price_date"]
    early = load(client, world, [("PLTDX", "2026-11-20", "10.00"), ("PLBDX", "2025-12-31", "10.00")])
    assert early.json["errors"] == [{"field": "prices[1].price_date", "message": "is before the plan's effective "
                                     "date (2026-01-01), when its funds first held money"}]
    by_csv = client.post(f"/v1/plans/{world.plan_id}/fund-prices/csv", headers=world.sponsor, content_type="text/csv",
                         data=b"ticker,price_date,price\nPLTDX,2026-11-23,10.00\nPLTDX,2099-01-01,0.000001\n")
    assert_problem(by_csv, 422, "validation")
    assert error_fields(by_csv) == ["line 3.price_date"]
    assert row_counts(plumb) == before
    assert pltdx(client, world) == {"units": 0, "pending_cents": 18000, "value_cents": 18000, "cost_cents": 18000,
                                    "total_cents": 18000}

    real = load(client, world, [("PLTDX", "2026-11-23", "10.00")])
    assert real.json == {"stored": 1, "invested": 1}
    # 180.00 at 10.00: 18 units worth 180.00, not $5.5 billion.
    assert pltdx(client, world) == {"units": Decimal(18), "pending_cents": 0, "value_cents": 18000,
                                    "cost_cents": 18000, "total_cents": 18000}
    assert load(client, world, [("PLTDX", "2026-11-24", "10.10")]).json == {"stored": 1, "invested": 0}  # today
    ledger_check(app)


# ---- the band ----------------------------------------------------------------------------------------------------

def test_a_price_beyond_the_band_is_held_buys_nothing_until_confirmed_and_both_steps_are_audited(app, client, world,
                                                                                                connection):
    assert load(client, world, [("PLTDX", "2026-11-19", "10.00")]).json == {"stored": 1, "invested": 0}
    pay(client, connection, "R-1", "2026-11-20")

    jump = load(client, world, [("PLTDX", "2026-11-23", "13.00")])

    assert jump.status_code == 200, jump.json
    assert jump.json == {"stored": 1, "invested": 0, "held": [
        {"row": "prices[0]", "ticker": "PLTDX", "price_date": "2026-11-23", "price": "13", "last_price": "10",
         "last_price_date": "2026-11-19", "move_percent": "30.00"}]}
    # Held: the cash still waits, and the balance is valued at the last confirmed price.
    assert pltdx(client, world)["pending_cents"] == 18000
    assert client.get("/mobile/v1/balance", headers=world.participant).json["by_fund"][0]["price"] == "10"
    # Loading the same figure again keeps it held; a ±25% move from 10.00 the next day is not held.
    assert load(client, world, [("PLTDX", "2026-11-23", "13.00")]).json["held"][0]["price_date"] == "2026-11-23"

    stale = confirm(client, world, "PLTDX", "2026-11-23", "12.00")
    assert_problem(stale, 409, "conflict")
    assert pltdx(client, world)["pending_cents"] == 18000

    confirmed = confirm(client, world, "PLTDX", "2026-11-23", "13.00")

    assert confirmed.status_code == 200, confirmed.json
    assert confirmed.json == {"ticker": "PLTDX", "price_date": "2026-11-23", "price": "13",
                              "status": "confirmed", "invested": 1}
    # 90.00 / 13.00 = 6.923077 units (6 places, halves up) for each of pre-tax and match.
    assert pltdx(client, world) == {"units": Decimal("13.846154"), "pending_cents": 0, "value_cents": 18000,
                                    "cost_cents": 18000, "total_cents": 18000}
    assert confirm(client, world, "PLTDX", "2026-11-23", "13.00").json["invested"] == 0  # again: nothing to do

    [held] = audit(client, world, "fund_price.held")
    [done] = audit(client, world, "fund_price.confirmed")
    assert held["changes"] == {"ticker": "PLTDX", "price_date": "2026-11-23", "price": "13", "last_price": "10",
                               "last_price_date": "2026-11-19", "band": "0.25"}
    assert done["changes"] == {"ticker": "PLTDX", "price_date": "2026-11-23", "price": "13"}
    assert held["actor_role"] == done["actor_role"] == "sponsor_admin"
    ledger_check(app)


def test_a_held_price_loaded_again_with_another_figure_is_replaced_and_judged_again(client, world, connection):
    load(client, world, [("PLTDX", "2026-11-19", "10.00")])
    pay(client, connection, "R-1", "2026-11-20")
    assert load(client, world, [("PLTDX", "2026-11-23", "100.00")]).json["held"][0]["move_percent"] == "900.00"

    fixed = load(client, world, [("PLTDX", "2026-11-23", "10.05")])

    assert fixed.json == {"stored": 1, "invested": 1}
    assert pltdx(client, world)["units"] == Decimal("17.910448")  # 2 × 90.00 / 10.05 = 2 × 8.955224
    assert_problem(confirm(client, world, "PLTDX", "2026-11-23", "100.00"), 409, "conflict")


def test_the_plans_band_is_set_by_its_sponsor_or_advisor_and_decides_what_is_held(client, world, connection):
    url = f"/v1/plans/{world.plan_id}/price-settings"
    assert client.get(url, headers=world.sponsor).json == {"price_move_band": "0.25"}
    assert client.get(f"/v1/plans/{world.plan_id}", headers=world.sponsor).json["price_move_band"] == "0.25"
    assert_problem(client.put(url, headers=world.participant, json={"price_move_band": "0.5"}), 403, "forbidden")
    for bad in ("0", "-0.1", "10.5", "0.12345"):
        assert error_fields(client.put(url, headers=world.advisor, json={"price_move_band": bad})) == ["price_move_band"]

    widened = client.put(url, headers=world.advisor, json={"price_move_band": "0.5"})

    assert widened.status_code == 200 and widened.json == {"price_move_band": "0.5"}
    [event] = audit(client, world, "plan.price_settings_changed")
    assert (event["actor_role"], event["changes"]) == ("advisor", {"price_move_band": {"from": "0.25", "to": "0.5"}})
    load(client, world, [("PLTDX", "2026-11-19", "10.00")])
    pay(client, connection, "R-1", "2026-11-20")
    assert load(client, world, [("PLTDX", "2026-11-23", "14.00")]).json == {"stored": 1, "invested": 1}  # +40%
    assert load(client, world, [("PLTDX", "2026-11-24", "22.00")]).json["held"][0]["move_percent"] == "57.14"


# ---- corrections -------------------------------------------------------------------------------------------------

def test_a_wrong_price_is_corrected_by_selling_back_every_purchase_at_it_and_buying_again(app, client, plumb, world,
                                                                                       connection):
    pay(client, connection, "R-1", "2026-11-20")  # waits, then buys at the 23rd's price (an investment entry)
    assert load(client, world, [("PLTDX", "2026-11-23", "1.00")]).json == {"stored": 1, "invested": 1}  # meant 10.00
    pay(client, connection, "R-2", "2026-11-23")  # priced already: the contribution buys at once
    # 4 purchases of 90.00 at 1.00: 360 units.
    assert pltdx(client, world) == {"units": Decimal(360), "pending_cents": 0, "value_cents": 36000,
                                    "cost_cents": 36000, "total_cents": 36000}
    before = row_counts(plumb)

    fixed = correct(client, world, "PLTDX", "2026-11-23", "10.00")

    assert fixed.status_code == 200, fixed.json
    assert fixed.json == {"ticker": "PLTDX", "price_date": "2026-11-23", "price": "10", "previous_price": "1",
                          "repriced_entries": 2, "participants": 1}
    # Each 90.00 sold back at 1.00 (-90 units) and bought again at 10.00 (+9 units): 36 units, still 360.00 in.
    assert pltdx(client, world) == {"units": Decimal(36), "pending_cents": 0, "value_cents": 36000,
                                    "cost_cents": 36000, "total_cents": 36000}
    after = row_counts(plumb)
    # Two new entries of four lines each (pre-tax and match, sold and bought); nothing edited.
    assert (after["ledger_entries"] - before["ledger_entries"], after["ledger_lines"] - before["ledger_lines"]) == (2, 8)

    history = client.get("/mobile/v1/contributions", headers=world.participant).json["data"]
    assert [(c["pay_date"], c["total_cents"], c["by_source"]) for c in history] == [
        ("2026-11-23", 18000, {"employer_match": 9000, "pretax": 9000}),
        ("2026-11-20", 18000, {"employer_match": 9000, "pretax": 9000})]  # money in is unchanged
    for row in history:
        [fix] = row["price_corrections"]
        assert {k: fix[k] for k in ("kind", "ticker", "price_date", "from_price", "to_price", "units_sold",
                                    "units_bought")} == {
            "kind": "price_correction", "ticker": "PLTDX", "price_date": "2026-11-23", "from_price": "1",
            "to_price": "10", "units_sold": "180", "units_bought": "18"}
        assert fix["description"] == ("Price correction: PLTDX on 2026-11-23 was 1, corrected to 10; 180 units "
                                      "sold back, 18 bought again")
    chart = {p["date"]: p for p in client.get("/mobile/v1/balance-history", headers=world.participant).json}
    assert (chart["2026-11-23"]["value_cents"], len(chart["2026-11-23"]["price_corrections"])) == (36000, 2)
    assert "price_corrections" not in chart["2026-11-20"]

    [event] = audit(client, world, "fund_price.corrected")
    assert event["changes"]["price"] == {"from": "1", "to": "10"}
    assert (len(event["changes"]["repriced_entries"]), event["changes"]["participants"]) == (2, 1)

    # The same correction again changes nothing.
    again = correct(client, world, "PLTDX", "2026-11-23", "10.00")
    assert (again.status_code, again.json["repriced_entries"]) == (200, 0)
    assert row_counts(plumb) == after and len(audit(client, world, "fund_price.corrected")) == 1
    ledger_check(app)


def test_a_price_corrected_twice_reprices_the_corrected_purchases_and_no_entry_is_undone_twice(app, client, world,
                                                                                             connection):
    pay(client, connection, "R-1", "2026-11-20")
    load(client, world, [("PLTDX", "2026-11-23", "1.00")])
    assert correct(client, world, "PLTDX", "2026-11-23", "10.00").json["repriced_entries"] == 1

    second = correct(client, world, "PLTDX", "2026-11-23", "12.00")

    assert (second.json["previous_price"], second.json["repriced_entries"]) == ("10", 1)
    assert pltdx(client, world)["units"] == Decimal(15)  # 2 × 90.00 / 12.00 = 2 × 7.5
    [row] = client.get("/mobile/v1/contributions", headers=world.participant).json["data"]
    assert [(f["from_price"], f["to_price"], f["units_sold"], f["units_bought"]) for f in row["price_corrections"]] == [
        ("1", "10", "180", "18"), ("10", "12", "18", "15")]
    ledger_check(app)


def test_a_superseded_pay_run_takes_its_price_corrections_with_it(app, client, world, connection):
    load(client, world, [("PLTDX", "2026-11-20", "1.00")])
    pay(client, connection, "R-1", "2026-11-20")
    correct(client, world, "PLTDX", "2026-11-20", "10.00")
    assert pltdx(client, world)["units"] == Decimal(18)

    replaced = scenario.signed_post(client, connection, scenario.pay_run("R-1", "2026-11-20", [
        scenario.statement("E1", 300000, pretax=6000)], version=2))

    assert replaced.status_code == 200, replaced.json
    # Only version 2 stands: 60.00 of pre-tax and 60.00 of match at the corrected 10.00.
    assert pltdx(client, world) == {"units": Decimal(12), "pending_cents": 0, "value_cents": 12000,
                                    "cost_cents": 12000, "total_cents": 12000}
    ledger_check(app)


def test_only_a_stored_confirmed_price_can_be_corrected(client, world, connection):
    load(client, world, [("PLTDX", "2026-11-19", "10.00"), ("PLTDX", "2026-11-23", "20.00")])  # the 23rd is held
    assert_problem(correct(client, world, "PLTDX", "2026-11-23", "10.50"), 409, "conflict")
    assert_problem(correct(client, world, "PLTDX", "2026-11-20", "10.50"), 404, "not-found")
    assert_problem(correct(client, world, "VFIAX", "2026-11-19", "10.50"), 404, "not-found")
    assert_problem(correct(client, world, "PLTDX", "19-11-2026", "10.50"), 404, "not-found")
    assert error_fields(correct(client, world, "PLTDX", "2026-11-19", "0")) == ["price"]
    assert_problem(correct(client, world, "PLTDX", "2026-11-19", "10.50", headers=world.participant), 403, "forbidden")
    assert_problem(confirm(client, world, "PLTDX", "2026-11-23", "20.00", headers=world.participant), 403, "forbidden")
    changed = load(client, world, [("PLTDX", "2026-11-19", "10.50")])
    assert changed.json["errors"] == [{"field": "prices[0].price", "message": "PLTDX on 2026-11-19 is already priced "
                                       f"at 10; correct it with PUT /v1/plans/{world.plan_id}/fund-prices/"
                                       "PLTDX/2026-11-19"}]


def test_corrections_of_one_price_sent_at_once_reprice_each_purchase_once(app, client, world, connection, served):
    pay(client, connection, "R-1", "2026-11-20")
    load(client, world, [("PLTDX", "2026-11-23", "1.00")])
    url = f"/v1/plans/{world.plan_id}/fund-prices/PLTDX/2026-11-23"
    for trial in range(race_trials()):
        figure = Decimal(10 + trial)

        answers = all_at_once(4, lambda _i: served.client.put(url, headers=world.sponsor,
                                                              json={"price": str(figure)}))

        statuses = sorted(a.status_code for a in answers)
        assert set(statuses) <= {200, 409, 503} and 200 in statuses, [(a.status_code, a.text[:200]) for a in answers]
        assert sorted(a.json()["repriced_entries"] for a in answers if a.status_code == 200)[-1] == 1
        assert [a.json()["repriced_entries"] for a in answers if a.status_code == 200].count(1) == 1
        # 2 × 90.00 at the figure, each to 6 places.
        assert pltdx(client, world)["units"] == 2 * units_for(9000, figure)
        ledger_check(app)
