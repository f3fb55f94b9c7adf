"""Vesting by source on the participant's balance: the `traditional` template's match vests on the 2-to-6-year
graded schedule (0, 0, 20, 40, 60, 80, 100% at 0..6 years of service); the employee's own money is always theirs."""
from datetime import date

from tests import scenario

# Years of service are counted from the hire date (2024-03-15 for E1): the anniversary is the day a step is earned.
SCHEDULE = [(date(2026, 11, 24), 2, 20), (date(2027, 3, 14), 2, 20), (date(2027, 3, 15), 3, 40),
            (date(2028, 3, 15), 4, 60), (date(2029, 3, 14), 4, 60), (date(2029, 3, 15), 5, 80),
            (date(2030, 3, 15), 6, 100), (date(2035, 1, 1), 10, 100)]


def _paid_traditional_plan(app, client):
    # The census knows this year's hours only, so the template's year-of-service condition would keep everyone
    # waiting; eligibility is eased, the template's match and vesting are kept.
    world = scenario.World(app, client, template="traditional", eligibility={"service_months": 0})
    plan = client.get(f"/v1/plans/{world.plan_id}", headers=world.sponsor).json
    assert plan["vesting"]["employer_match"] == "graded_6", plan
    assert plan["match_tiers"] == [{"deferral_from_percent": "0", "deferral_to_percent": "6", "match_rate_percent": "50"}]
    connection = scenario.connect_payroll(client, world.sponsor, world.employer_id)
    # 6% deferred on $3,000: the traditional match is 50% of the first 6% of pay, $90.00.
    response = scenario.signed_post(client, connection, scenario.pay_run("R-1", "2026-11-20", [
        scenario.statement("E1", 300000, pretax=18000)]))
    assert response.status_code == 200 and response.json["held"] == 0, response.json
    assert response.json["pay_run"]["totals"] == {"pretax": 18000, "employer_match": 9000}
    scenario.load_prices(client, world.sponsor, world.plan_id, [("PLTDX", "2026-11-20", "10.00"),
                                                                ("PLTDX", "2026-11-23", "12.00")])
    return world


def test_match_vests_on_the_graded_schedule_by_years_of_service(app, client, clock):
    world = _paid_traditional_plan(app, client)
    for as_of, years, percent in SCHEDULE:
        clock.fixed_today = as_of
        summary = client.get("/mobile/v1/balance", headers=world.participant).json
        sources = {s["source"]: s for s in summary["by_source"]}
        match, pretax = sources["employer_match"], sources["pretax"]
        # 900 units of match and 1,800 of pre-tax, bought at 10.00 and worth 12.00 now.
        assert (match["value_cents"], pretax["value_cents"]) == (10800, 21600), as_of
        assert (match["vested_percent"], match["vested_cents"]) == (str(percent), 10800 * percent // 100), (as_of, years)
        assert (pretax["vested_percent"], pretax["vested_cents"]) == ("100", 21600)
        assert summary["vested_cents"] == 21600 + 10800 * percent // 100
        assert summary["total_cents"] == 32400


def test_a_participant_with_one_year_of_service_owns_none_of_the_match(app, client, clock):
    world = _paid_traditional_plan(app, client)
    row = scenario.census_row("V3", "1990-01-01", "2025-06-01", "111-22-3333", pay="50000.00")
    assert scenario.upload_csv(client, world.sponsor, world.employer_id, [row]).status_code == 200
    newcomer = scenario.employees_by_external_id(client, world.sponsor, world.employer_id)["V3"]
    assert newcomer["eligibility"]["status"] == "eligible", newcomer["eligibility"]
    headers = scenario.sign_up(client, newcomer, "1990-01-01", "3333")
    connection = scenario.connect_payroll(client, world.sponsor, world.employer_id)
    response = scenario.signed_post(client, connection, scenario.pay_run("R-2", "2026-11-20", [
        scenario.statement("V3", 200000, pretax=4000)]))  # 2% deferred: matched 1% of pay, $20.00
    assert response.json["pay_run"]["totals"] == {"pretax": 4000, "employer_match": 2000}, response.json
    summary = client.get("/mobile/v1/balance", headers=headers).json
    sources = {s["source"]: (s["vested_percent"], s["vested_cents"], s["value_cents"]) for s in summary["by_source"]}
    assert sources == {"employer_match": ("0", 0, 2400), "pretax": ("100", 4800, 4800)}
    assert summary["vested_cents"] == 4800
    clock.fixed_today = date(2027, 6, 1)  # two years: the first 20%
    summary = client.get("/mobile/v1/balance", headers=headers).json
    assert {s["source"]: s["vested_cents"] for s in summary["by_source"]} == {"employer_match": 480, "pretax": 4800}
