"""Issue 3's story through HTTP: an enrolled participant is paid in three pay runs; the phone shows their money,
invested at the loaded prices, to the cent; replays and corrections give the right totals; a mismatched deferral
lands in the exceptions queue."""
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from tests import scenario
from tests.support import run_cli

PER_PAYCHECK = 276923  # $72,000 a year, biweekly


def units(cents: int, price: str) -> Decimal:
    return (Decimal(cents) / 100 / Decimal(price)).quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)


def test_three_pay_runs_to_the_phone(app, client, clock):
    world = scenario.World(app, client, requires_approval=False)
    participant, sponsor = world.participant, world.sponsor
    election = client.post("/mobile/v1/elections", headers=participant, json={"lines": [
        {"money_type": "pretax", "percent": "6"}, {"money_type": "roth", "percent": "2"}]}).json
    assert election["effective_date"] == "2026-12-04"
    funds = {f["ticker"]: f["id"] for f in client.get("/mobile/v1/me", headers=participant).json["funds"]}
    client.put("/mobile/v1/investments", headers=participant, json={"allocations": [
        {"fund_id": funds["PLTDX"], "percent": "60"}, {"fund_id": funds["PLBDX"], "percent": "40"}]})
    clock.fixed_today = date(2026, 12, 4)  # a price is loaded once its day has come
    scenario.load_prices(client, sponsor, world.plan_id, [("PLTDX", "2026-12-04", "25.00"), ("PLBDX", "2026-12-04", "10.00")])
    connection = scenario.connect_payroll(client, sponsor, world.employer_id)

    pretax, roth = 16615, 5538  # 6% and 2% of $2,769.23, as payroll rounds them
    run1 = scenario.pay_run("R-1204", "2026-12-04", [
        scenario.statement("E1", PER_PAYCHECK, pretax=pretax, roth=roth),
        scenario.statement("E2", 119231, pretax=3577),  # under 21: not yet eligible, held
        scenario.statement("E3", 150000, employee={"first_name": "Nia", "last_name": "Hire", "date_of_birth": "1999-02-01",
                                                   "ssn": "555-44-3333", "hire_date": "2026-11-30",
                                                   "annual_compensation": "39000.00"}),
    ])
    first = scenario.signed_post(client, connection, run1)
    assert first.status_code == 200, first.json
    assert (first.json["posted"], first.json["held"], first.json["replayed"]) == (2, 1, False)
    assert [f["code"] for f in first.json["findings"]["E2"]] == ["not_eligible"]
    assert [f["code"] for f in first.json["findings"]["E3"]] == ["new_hire_added"]
    # The match is computed from the plan formula: 7.99976% deferred earns 3% + 1% of pay.
    assert first.json["pay_run"]["totals"] == {"pretax": pretax, "roth": roth, "employer_match": 11077}
    census = scenario.employees_by_external_id(client, sponsor, world.employer_id)
    assert census["E3"]["eligibility"]["status"] in ("eligible", "waiting")

    replay = scenario.signed_post(client, connection, run1)
    assert replay.json["replayed"] is True and replay.json["pay_run"]["id"] == first.json["pay_run"]["id"]

    # Second run: payroll withholds 5% instead of 6%: posted (it is the participant's money) but flagged.
    clock.fixed_today = date(2026, 12, 18)  # a price is loaded once its day has come
    scenario.load_prices(client, sponsor, world.plan_id, [("PLTDX", "2026-12-18", "26.00"), ("PLBDX", "2026-12-18", "10.00")])
    wrong = scenario.signed_post(client, connection, scenario.pay_run("R-1218", "2026-12-18", [
        scenario.statement("E1", PER_PAYCHECK, pretax=13846, roth=roth)]))
    assert [f["code"] for f in wrong.json["findings"]["E1"]] == ["deferral_mismatch"]
    queue = client.get(f"/v1/employers/{world.employer_id}/payroll-exceptions", headers=sponsor).json["data"]
    assert {e["code"] for e in queue} >= {"not_eligible", "deferral_mismatch"}
    mismatch = next(e for e in queue if e["code"] == "deferral_mismatch")
    assert (mismatch["details"]["expected_cents"], mismatch["details"]["withheld_cents"]) == (16615, 13846)

    # The provider corrects the run: version 2 reverses version 1 and posts afresh.
    fixed = scenario.signed_post(client, connection, scenario.pay_run("R-1218", "2026-12-18", [
        scenario.statement("E1", PER_PAYCHECK, pretax=pretax, roth=roth)], version=2))
    assert fixed.status_code == 200 and fixed.json["findings"] == {}
    runs = client.get(f"/v1/employers/{world.employer_id}/pay-runs", headers=sponsor).json["data"]
    assert [(r["provider_run_id"], r["version"], r["status"]) for r in runs] == [
        ("R-1218", 2, "posted"), ("R-1218", 1, "superseded"), ("R-1204", 1, "posted_with_holds")]

    # Third run: a bonus, matched on its own pay.
    clock.fixed_today = date(2026, 12, 24)  # a price is loaded once its day has come
    scenario.load_prices(client, sponsor, world.plan_id, [("PLTDX", "2026-12-24", "26.00"), ("PLBDX", "2026-12-24", "10.00")])
    bonus = scenario.signed_post(client, connection, scenario.pay_run("B-1224", "2026-12-24", [
        scenario.statement("E1", 500000, pretax=30000, hours="0")], run_type="bonus"))
    assert bonus.json["pay_run"]["totals"] == {"pretax": 30000, "employer_match": 20000}  # 6% deferred → 3% + 1%

    # Expected holdings, computed here from the pay runs and prices: 60/40 of every source, cents split exactly.
    contributions = [  # (trade price TDX, trade price BDX, {source: cents})
        ("25.00", "10.00", {"pretax": pretax, "roth": roth, "employer_match": 11077}),
        ("26.00", "10.00", {"pretax": pretax, "roth": roth, "employer_match": 11077}),
        ("26.00", "10.00", {"pretax": 30000, "employer_match": 20000}),
    ]
    tdx_units = bdx_units = Decimal(0)
    positions: dict[tuple, Decimal] = {}  # (source, fund) → units: the balance is valued position by position
    total_in = 0
    for tdx_price, bdx_price, sources in contributions:
        for source, cents in sources.items():
            tdx = int((Decimal(cents) * Decimal("0.6")).to_integral_value(rounding="ROUND_FLOOR"))
            bdx = int((Decimal(cents) * Decimal("0.4")).to_integral_value(rounding="ROUND_FLOOR"))
            if tdx + bdx < cents:  # the leftover cent goes to the larger remainder
                if Decimal(cents) * Decimal("0.6") - tdx >= Decimal(cents) * Decimal("0.4") - bdx:
                    tdx += 1
                else:
                    bdx += 1
            tdx_units += units(tdx, tdx_price)
            bdx_units += units(bdx, bdx_price)
            positions[(source, "PLTDX")] = positions.get((source, "PLTDX"), Decimal(0)) + units(tdx, tdx_price)
            positions[(source, "PLBDX")] = positions.get((source, "PLBDX"), Decimal(0)) + units(bdx, bdx_price)
            total_in += cents
    clock.fixed_today = date(2026, 12, 31)
    scenario.load_prices(client, sponsor, world.plan_id, [("PLTDX", "2026-12-31", "27.50"), ("PLBDX", "2026-12-31", "9.90")])
    balance = client.get("/mobile/v1/balance", headers=participant).json
    closing = {"PLTDX": Decimal("27.50"), "PLBDX": Decimal("9.90")}
    expected_value = sum(int((u * closing[fund] * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
                         for (_, fund), u in positions.items())
    assert balance["cost_cents"] == total_in == 2 * (pretax + roth + 11077) + 50000
    by_fund = {f["ticker"]: f for f in balance["by_fund"]}
    assert Decimal(by_fund["PLTDX"]["units"]) == tdx_units and Decimal(by_fund["PLBDX"]["units"]) == bdx_units
    assert sum(f["value_cents"] for f in balance["by_fund"]) == balance["total_cents"]
    assert balance["total_cents"] == expected_value
    assert balance["gain_cents"] == balance["total_cents"] - total_in
    assert balance["vested_cents"] == balance["total_cents"]  # safe-harbor match: vested at once

    history = client.get("/mobile/v1/contributions?limit=2", headers=participant).json
    assert [(c["pay_date"], c["total_cents"]) for c in history["data"]] == [
        ("2026-12-24", 50000), ("2026-12-18", pretax + roth + 11077)]
    rest = client.get(f"/mobile/v1/contributions?limit=2&cursor={history['next_cursor']}", headers=participant).json
    assert [c["pay_date"] for c in rest["data"]] == ["2026-12-04"] and rest["next_cursor"] is None
    limits = client.get("/mobile/v1/limits", headers=participant).json
    assert limits["deferred_here_cents"] == 2 * (pretax + roth) + 30000
    assert limits["limit_402g_cents"] == 2450000 and limits["catch_up_limit_cents"] == 0
    chart = client.get("/mobile/v1/balance-history", headers=participant).json
    assert chart[-1] == {"date": "2026-12-31", "value_cents": balance["total_cents"], "contributed_cents": total_in}

    result = run_cli(app, args=["ledger", "check"])
    assert result.exit_code == 0, result.output
