"""What payroll writes into the ledger in two cases that once went wrong, through HTTP as sponsors and providers
send them: rejecting an exception on a statement that carried no money (the architecture review's appendix C: it
wrote an entry without lines), and two contributions on one pay date waiting for the prices of different funds
(`invest_pending` looked prices up only for the funds of the day's first contribution)."""
from decimal import Decimal

from tests import scenario
from tests.payroll.support import entries_of, row_counts
from tests.support import run_cli


def ledger_check(app):
    return run_cli(app, args=["ledger", "check"])


def test_rejecting_a_warning_on_a_statement_that_carried_no_money_writes_nothing(app, client, plumb):
    world = scenario.World(app, client, requires_approval=False)
    connection = scenario.connect_payroll(client, world.sponsor, world.employer_id)
    # Paid, nothing withheld, no hours: one warning (missing hours), and the statement posts with no money.
    posted = scenario.signed_post(client, connection, scenario.pay_run("R-1", "2026-11-20", [
        scenario.statement("E1", 300000, hours=None)]))
    assert posted.status_code == 200, posted.json
    assert [(f["code"], f["severity"]) for f in posted.json["findings"]["E1"]] == [("missing_hours", "warning")]
    run_id = posted.json["pay_run"]["id"]
    assert entries_of(plumb, run_id) == []
    [warning] = client.get(f"/v1/employers/{world.employer_id}/payroll-exceptions?status=open",
                           headers=world.sponsor).json["data"]
    before = row_counts(plumb)

    rejected = client.post(f"/v1/payroll-exceptions/{warning['id']}/resolve", headers=world.sponsor,
                           json={"action": "reject"})

    assert rejected.status_code == 200, rejected.json
    assert rejected.json["status"] == "rejected"
    # Nothing was deposited, so nothing goes back to payroll: no refund entry, with or without lines.
    assert entries_of(plumb, run_id) == []
    after = row_counts(plumb)
    assert (after["ledger_entries"], after["ledger_lines"]) == (before["ledger_entries"], before["ledger_lines"])
    check = ledger_check(app)
    assert check.exit_code == 0, check.output


def test_two_contributions_on_one_pay_date_into_different_funds_are_both_invested_when_their_prices_arrive(
        app, client, plumb):
    world = scenario.World(app, client, requires_approval=False)
    row = scenario.census_row("V3", "1990-01-01", "2024-06-01", "111-22-3333", pay="52000.00")
    assert scenario.upload_csv(client, world.sponsor, world.employer_id, [row]).status_code == 200
    newcomer = scenario.employees_by_external_id(client, world.sponsor, world.employer_id)["V3"]
    second = scenario.sign_up(client, newcomer, "1990-01-01", "3333")
    funds = {f["ticker"]: f["id"] for f in client.get("/mobile/v1/me", headers=world.participant).json["funds"]}
    for participant, ticker in ((world.participant, "PLBDX"), (second, "PLUSX")):
        chosen = client.put("/mobile/v1/investments", headers=participant,
                            json={"allocations": [{"fund_id": funds[ticker], "percent": "100"}]})
        assert chosen.status_code == 200, chosen.json
    connection = scenario.connect_payroll(client, world.sponsor, world.employer_id)
    posted = scenario.signed_post(client, connection, scenario.pay_run("R-1", "2026-11-20", [
        scenario.statement("E1", 300000, pretax=9000), scenario.statement("V3", 200000, pretax=6000)]))
    assert (posted.status_code, posted.json["posted"], posted.json["held"]) == (200, 2, 0), posted.json
    for participant, ticker in ((world.participant, "PLBDX"), (second, "PLUSX")):
        [fund] = client.get("/mobile/v1/balance", headers=participant).json["by_fund"]
        assert (fund["ticker"], fund["units"]) == (ticker, "0")  # no price yet: cash waiting for its fund

    # Both funds' prices arrive together, for a day after the pay date.
    priced = client.post(f"/v1/plans/{world.plan_id}/fund-prices", headers=world.sponsor, json={"prices": [
        {"ticker": "PLBDX", "price_date": "2026-11-23", "price": "10.00"},
        {"ticker": "PLUSX", "price_date": "2026-11-23", "price": "50.00"}]})

    assert priced.status_code == 200 and priced.json == {"stored": 2, "invested": 2}, priced.json
    # E1: 90.00 pre-tax and 90.00 match at 10.00; V3: 60.00 pre-tax and 60.00 match at 50.00.
    for participant, ticker, units in ((world.participant, "PLBDX", "18"), (second, "PLUSX", "2.4")):
        [fund] = client.get("/mobile/v1/balance", headers=participant).json["by_fund"]
        assert (fund["ticker"], Decimal(fund["units"]), fund["pending_cents"]) == (ticker, Decimal(units), 0)
    assert [kind for kind, _ in entries_of(plumb, posted.json["pay_run"]["id"])] == [
        "contribution", "contribution", "deposit"]
    check = ledger_check(app)
    assert check.exit_code == 0, check.output
