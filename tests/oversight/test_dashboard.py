"""The plan dashboard through the HTTP API: a worked plan's figures, to the cent, and who may read it."""
from tests import scenario
from tests.support.outbox import drain


def dashboard(client, headers, plan_id):
    response = client.get(f"/v1/plans/{plan_id}/dashboard", headers=headers)
    assert response.status_code == 200, response.json
    return response.json


def elect(client, participant, percent: str):
    response = client.post("/mobile/v1/elections", headers=participant,
                           json={"lines": [{"money_type": "pretax", "percent": percent}]})
    assert response.status_code == 201, response.json
    return response.json


def post_run(client, connection, run_id: str, pay_date: str, statements):
    response = scenario.signed_post(client, connection, scenario.pay_run(run_id, pay_date, statements))
    assert response.status_code == 200, response.json
    return response.json


def test_a_worked_plan_shows_one_of_one_eligible_enrolled_and_the_safe_harbor_match_paid_to_the_cent(
        client, world, connection, plumb):
    # E1 (hired 2024, 41) is eligible; E2 (hired June 2026, 20) is under the plan's minimum age of 21.
    elect(client, world.participant, "6")
    # Two paychecks of $3,000.00 deferring 6% ($180.00); the safe-harbor basic match is 100% of the first 3% of
    # pay and 50% of the next 2% (IRC 401(k)(12)(B)(i)): 3% + 1% = 4% of $3,000.00 = $120.00 each.
    post_run(client, connection, "r1", "2026-10-30", [scenario.statement("E1", 300000, pretax=18000)])
    post_run(client, connection, "r2", "2026-11-13", [scenario.statement("E1", 300000, pretax=18000)])
    drain(plumb)  # the worker's compliance recompute

    figures = dashboard(client, world.sponsor, world.plan_id)

    assert (figures["eligible_count"], figures["enrolled_count"]) == (1, 1)
    assert figures["participation_rate"] == "1"
    assert figures["match_paid_cents"] == 24000
    # The run rate: $240.00 over the 24 biweekly pay dates up to Nov 24 (Jan 2 anchor), spread over the year's 26.
    assert figures["match_projected_cents"] == 26000
    assert figures["assets_cents"] == 2 * (18000 + 12000)
    assert figures["contributions_by_month"] == [
        {"month": "2026-10", "by_source": {"employer_match": 12000, "pretax": 18000}, "total_cents": 30000},
        {"month": "2026-11", "by_source": {"employer_match": 12000, "pretax": 18000}, "total_cents": 30000}]
    open_queue = client.get(f"/v1/employers/{world.employer_id}/payroll-exceptions?status=open",
                            headers=world.sponsor).json["data"]
    # Both paychecks withheld 6% before the election takes effect (the next pay date, Dec 4): a warning each.
    assert sorted(e["code"] for e in open_queue) == ["deferral_mismatch", "deferral_mismatch"]
    assert (figures["pending_approvals"], figures["open_exceptions"]) == (0, 2)
    # The deferral change to payroll found no one at the connection's address and was given up on.
    assert figures["dead_letters"] == 1
    assert figures["agreement_signed"] is True
    assert figures["billing_status"] == "off"
    assert figures["stage"] == "live"
    compliance = client.get(f"/v1/plans/{world.plan_id}/compliance", headers=world.sponsor).json
    assert figures["compliance_status"] == compliance["status"]


def test_the_dashboard_is_for_the_employers_staff_its_advisor_and_no_participant(client, world, app):
    assert client.get(f"/v1/plans/{world.plan_id}/dashboard", headers=world.advisor).status_code == 200
    assert client.get(f"/v1/plans/{world.plan_id}/dashboard", headers=world.participant).status_code == 403
    other = scenario.World(app, client, name="Other Co", advisor_email="other@example.com",
                           sponsor_email="other-sponsor@example.com", ein_prefix="O")
    assert client.get(f"/v1/plans/{world.plan_id}/dashboard", headers=other.sponsor).status_code == 404
    assert client.get(f"/v1/plans/{world.plan_id}/dashboard", headers=other.advisor).status_code == 404


def test_a_plan_whose_year_starts_in_july_counts_the_match_paid_since_july(app, client):
    world = scenario.World(app, client, plan_year_start="07-01")
    elect(client, world.participant, "6")
    connection = scenario.connect_payroll(client, world.sponsor, world.employer_id)
    # June 19 belongs to the plan year that ended June 30; October 30 to the one running now (July 2026 - June 2027).
    post_run(client, connection, "r1", "2026-06-19", [scenario.statement("E1", 300000, pretax=18000)])
    post_run(client, connection, "r2", "2026-10-30", [scenario.statement("E1", 300000, pretax=18000)])

    figures = dashboard(client, world.sponsor, world.plan_id)

    assert figures["match_paid_cents"] == 12000
    assert [m["month"] for m in figures["contributions_by_month"]] == ["2026-10"]
    assert figures["assets_cents"] == 2 * (18000 + 12000)  # what is held has no year
