"""The story issue 2 exists for, end to end through HTTP: plan setup → census → sign-up → election → approval."""
from datetime import date

from tests import scenario


def test_plan_setup_to_effective_election(app, client, clock):
    advisor = scenario.advisor(app, client)
    setup = scenario.setup_plan(client, advisor, requires_approval=True)
    assert setup["plan"]["safe_harbor"] == "basic_match"
    assert [f["is_default"] for f in setup["plan"]["funds"]].count(True) == 1
    employer_id, plan_id = setup["employer"]["id"], setup["plan"]["id"]
    sponsor = scenario.accept_sponsor(client, setup)

    rows = [scenario.census_row("E1", "1985-07-19", "2024-03-15", "123-45-6789", pay="72000.00"),
            scenario.census_row("E2", "2006-03-10", "2026-06-01", "987-65-4321", pay="31000.00")]
    response = scenario.upload_csv(client, sponsor, employer_id, rows)
    assert response.status_code == 200, response.json
    assert (response.json["created"], response.json["updated"], response.json["unchanged"]) == (2, 0, 0)
    census = scenario.employees_by_external_id(client, sponsor, employer_id)

    # Conditions met at hire (2024) but the plan starts 2026-01-01: entry is the plan's effective date.
    adult = census["E1"]["eligibility"]
    assert (adult["status"], adult["entry_date"]) == ("eligible", "2026-01-01")
    # Turns 21 on 2027-03-10; monthly entry dates: the first of the next month.
    minor = census["E2"]["eligibility"]
    assert minor["status"] == "waiting"
    assert (minor["conditions_met_date"], minor["entry_date"]) == ("2027-03-10", "2027-04-01")
    assert "2027-04-01" in minor["explanation"]
    assert not {"ssn", "ssn_last4", "date_of_birth", "invite_code"} & set(census["E1"])

    participant = scenario.sign_up(client, census["E1"], "1985-07-19", "6789")
    me = client.get("/mobile/v1/me", headers=participant).json
    assert me["eligibility"]["status"] == "eligible"
    assert me["next_pay_date"] == "2026-12-04"  # biweekly from Friday 2026-01-02; today is 2026-11-24
    funds = {f["ticker"]: f["id"] for f in me["funds"]}

    response = client.post("/mobile/v1/elections", headers={**participant, "Idempotency-Key": "elect-1"}, json={
        "lines": [{"money_type": "pretax", "percent": "6"}, {"money_type": "roth", "percent": "2"}]})
    assert response.status_code == 201, response.json
    election = response.json
    assert (election["status"], election["version"], election["effective_date"]) == ("pending_approval", 1, "2026-12-04")
    # 8% deferred: the basic safe-harbor match is 4% of pay, the most it gives.
    assert election["match"]["match_percent"] == "4"
    assert election["match"]["annual_match_cents"] == 288000
    assert election["match"]["left_on_table_cents"] == 0
    replay = client.post("/mobile/v1/elections", headers={**participant, "Idempotency-Key": "elect-1"}, json={
        "lines": [{"money_type": "pretax", "percent": "6"}, {"money_type": "roth", "percent": "2"}]})
    assert replay.json["id"] == election["id"] and replay.headers["Idempotent-Replayed"] == "true"

    response = client.put("/mobile/v1/investments", headers=participant, json={"allocations": [
        {"fund_id": funds["PLTDX"], "percent": "60"}, {"fund_id": funds["PLBDX"], "percent": "40"}]})
    assert response.status_code == 200, response.json
    assert [a["percent"] for a in response.json["allocations"]] == ["60", "40"]

    queue = client.get(f"/v1/plans/{plan_id}/approvals", headers=sponsor).json["data"]
    assert [e["id"] for e in queue] == [election["id"]]
    response = client.post(f"/v1/elections/{election['id']}/approve", json={},
                           headers={**sponsor, "If-Match": f'"{queue[0]["etag"]}"'})
    assert response.status_code == 200, response.json
    assert (response.json["status"], response.json["effective_date"]) == ("approved", "2026-12-04")
    assert response.json["in_effect"] is False

    me = client.get("/mobile/v1/me", headers=participant).json
    assert me["election_scheduled"]["id"] == election["id"] and me["election_in_effect"] is None

    clock.fixed_today = date(2026, 12, 4)
    me = client.get("/mobile/v1/me", headers=participant).json
    assert me["election_in_effect"]["id"] == election["id"]
    assert [(l["money_type"], l["percent"]) for l in me["election_in_effect"]["lines"]] == [("pretax", "6"), ("roth", "2")]

    audit = client.get(f"/v1/employers/{employer_id}/audit-events?limit=100", headers=sponsor).json["data"]
    actions = [a["action"] for a in audit]
    for expected in ("plan.created", "employee.created", "participant.signed_up", "election.submitted",
                     "investments.changed", "election.approved"):
        assert expected in actions
    approval = next(a for a in audit if a["action"] == "election.approved")
    assert approval["actor_role"] == "sponsor_admin" and approval["ip"] == "127.0.0.1"
