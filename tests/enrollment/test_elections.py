"""Deferral elections, approvals, opt-out, investments, beneficiaries, outside deferrals, sign-up — through HTTP."""
import pytest
from sqlalchemy import select

from backend.jobs import JobRow
from backend.outbox import OutboxMessage
from tests import scenario

OTHERS = ("invitation", "notification.approvals_batch")


def elect(client, headers, *lines, key=None):
    extra = {"Idempotency-Key": key} if key else {}
    return client.post("/mobile/v1/elections", headers={**headers, **extra}, json={"lines": list(lines)})


def pct(money_type, percent):
    return {"money_type": money_type, "percent": percent}


@pytest.fixture
def world(app, client):
    return scenario.World(app, client, requires_approval=True)


def test_flat_amount_election_and_match_left_on_table(client, world):
    # $72,000 a year biweekly is $2,769.23 a paycheck; $110.77 is 4.00% of it.
    response = elect(client, world.participant, {"money_type": "pretax", "amount_cents": 11077})
    assert response.status_code == 201, response.json
    assert response.json["lines"] == [{"money_type": "pretax", "percent": None, "amount_cents": 11077}]
    assert response.json["match"]["deferral_percent"] == "4"
    assert response.json["match"]["match_percent"] == "3.5"
    low = client.post("/mobile/v1/elections/preview", headers=world.participant, json={"lines": [pct("pretax", "2")]})
    assert low.status_code == 200
    # 2% deferred earns a 2% match; 5% would earn 4%: 2% of $72,000 a year is missed.
    assert (low.json["match_percent"], low.json["left_on_table_cents"]) == ("2", 144000)
    assert "5%" in low.json["message"]


def test_invalid_lines_are_all_listed_and_nothing_stored(client, world):
    response = elect(client, world.participant, {"money_type": "pretax", "percent": "6", "amount_cents": 100},
                     pct("pretax", "2"), pct("pretax_catchup", "1"))
    assert response.status_code == 422
    fields = {e["field"] for e in response.json["errors"]}
    assert {"lines[0]", "lines[1].money_type", "lines[2].money_type"} <= fields
    assert client.get("/mobile/v1/elections", headers=world.participant).json == []


def test_roth_refused_when_the_plan_does_not_allow_it(app, client):
    world = scenario.World(app, client, roth_allowed=False)
    response = elect(client, world.participant, pct("roth", "5"))
    assert response.status_code == 422
    assert response.json["errors"] == [{"field": "lines[0].money_type", "message": "this plan does not allow Roth deferrals"}]


def test_catch_up_only_from_the_year_of_the_50th_birthday(client, world):
    rows = [scenario.census_row("E9", "1976-12-31", "2020-01-06", "111-22-3333")]  # turns 50 on 2026-12-31
    assert scenario.upload_csv(client, world.sponsor, world.employer_id, rows).status_code == 200
    employee = scenario.employees_by_external_id(client, world.sponsor, world.employer_id)["E9"]
    older = scenario.sign_up(client, employee, "1976-12-31", "3333")
    response = elect(client, older, pct("pretax", "10"), pct("pretax_catchup", "5"))
    assert response.status_code == 201, response.json
    assert client.get("/mobile/v1/me", headers=older).json["catch_up_eligible"] is True
    assert client.get("/mobile/v1/me", headers=world.participant).json["catch_up_eligible"] is False


def test_new_version_supersedes_pending_and_a_stale_approval_is_refused(client, world):
    first = elect(client, world.participant, pct("pretax", "5")).json
    second = elect(client, world.participant, pct("pretax", "7")).json
    assert second["version"] == 2
    history = client.get("/mobile/v1/elections", headers=world.participant).json
    assert [(e["version"], e["status"]) for e in history] == [(2, "pending_approval"), (1, "superseded")]

    stale = client.post(f"/v1/elections/{first['id']}/approve", json={}, headers={**world.sponsor, "If-Match": first["etag"]})
    assert stale.status_code == 412 and stale.headers["Content-Type"] == "application/problem+json"
    missing = client.post(f"/v1/elections/{second['id']}/approve", json={}, headers=world.sponsor)
    assert missing.status_code == 428
    queue = client.get(f"/v1/plans/{world.plan_id}/approvals", headers=world.sponsor).json["data"]
    assert [e["id"] for e in queue] == [second["id"]]
    ok = client.post(f"/v1/elections/{second['id']}/approve", json={}, headers={**world.sponsor, "If-Match": second["etag"]})
    assert ok.status_code == 200 and ok.json["status"] == "approved"
    again = client.post(f"/v1/elections/{second['id']}/approve", json={}, headers={**world.sponsor, "If-Match": ok.json["etag"]})
    assert again.status_code == 409


def test_approval_writes_the_payroll_message_in_the_same_transaction(client, world, plumb):
    election = elect(client, world.participant, pct("pretax", "6"), pct("roth", "2")).json
    with plumb.db.transaction() as session:
        # The census upload asked for the plan's compliance to be recomputed (a job); nothing for payroll yet (the
        # invitations to the employees and the sponsor's hourly batch of waiting elections are other messages).
        assert session.scalars(select(OutboxMessage).where(OutboxMessage.topic.not_in(OTHERS))).all() == []
        assert [(j.kind, j.payload["trigger"]) for j in session.scalars(select(JobRow))] == [
            ("compliance.recompute", "census")]
    client.post(f"/v1/elections/{election['id']}/approve", json={}, headers={**world.sponsor, "If-Match": election["etag"]})
    with plumb.db.transaction() as session:
        messages = session.scalars(select(OutboxMessage).where(OutboxMessage.topic.not_in(OTHERS))
                                   .order_by(OutboxMessage.seq)).all()
        # One for payroll, the participant's notice (an email: they have no device to push to), and the plan's
        # compliance is asked to be recomputed: all with the approval (the request joins the one still queued).
        assert [m.topic for m in messages] == ["payroll.deferral_change", "notification.email"]
        assert [(j.kind, j.status, j.payload["trigger"]) for j in session.scalars(select(JobRow))] == [
            ("compliance.recompute", "queued", f"election:{election['id']}")]
        message = messages[0]
        assert (message.topic, message.status, message.employer_id) == ("payroll.deferral_change", "pending", world.employer_id)
        assert message.payload["external_id"] == "E1" and message.payload["effective_date"] == "2026-12-04"
        assert message.payload["lines"] == [{"money_type": "pretax", "percent": "6", "amount_cents": None},
                                            {"money_type": "roth", "percent": "2", "amount_cents": None}]


def test_reject_needs_a_reason_that_the_participant_sees(client, world):
    election = elect(client, world.participant, pct("pretax", "6")).json
    headers = {**world.sponsor, "If-Match": election["etag"]}
    assert client.post(f"/v1/elections/{election['id']}/reject", json={}, headers=headers).status_code == 422
    response = client.post(f"/v1/elections/{election['id']}/reject", json={"reason": "Above plan maximum"}, headers=headers)
    assert response.status_code == 200 and response.json["status"] == "rejected"
    mine = client.get("/mobile/v1/elections", headers=world.participant).json[0]
    assert (mine["status"], mine["rejection_reason"]) == ("rejected", "Above plan maximum")


def test_bulk_decision_decides_each_on_its_own(client, world):
    second = scenario.sign_up(client, world.employees["E2"], "2006-03-10", "4321")
    a = elect(client, world.participant, pct("pretax", "4")).json
    b = elect(client, second, pct("pretax", "3")).json
    response = client.post(f"/v1/plans/{world.plan_id}/approvals/bulk", headers=world.sponsor, json={
        "decision": "approve", "elections": [{"election_id": a["id"], "etag": a["etag"]},
                                             {"election_id": b["id"], "etag": "stale"}]})
    assert response.status_code == 200
    outcomes = {r["election_id"]: r["outcome"] for r in response.json["results"]}
    assert outcomes == {a["id"]: "approved", b["id"]: "refused"}
    queue = client.get(f"/v1/plans/{world.plan_id}/approvals", headers=world.sponsor).json["data"]
    assert [e["id"] for e in queue] == [b["id"]]
    # Not yet eligible (turns 21 on 2027-03-10): the election waits for the entry date.
    assert b["effective_date"] == "2027-04-01"


def test_plans_without_approval_approve_at_once(app, client):
    world = scenario.World(app, client, requires_approval=False)
    response = elect(client, world.participant, pct("pretax", "5"))
    assert (response.json["status"], response.json["effective_date"]) == ("approved", "2026-12-04")
    assert client.get(f"/v1/plans/{world.plan_id}/approvals", headers=world.sponsor).json["data"] == []


def test_opt_out_of_automatic_enrollment(app, client):
    world = scenario.World(app, client, requires_approval=False)
    response = client.post("/mobile/v1/elections/opt-out", headers=world.participant)
    assert response.status_code == 201, response.json
    assert response.json["election"]["kind"] == "opt_out" and response.json["election"]["lines"] == []
    assert response.json["permissible_withdrawal_available"] is True
    no_auto = scenario.World(app, client, name="No Auto Inc", advisor_email="a2@example.com",
                             sponsor_email="s2@example.com", ein_prefix="N", auto_enrollment={"enabled": False})
    refused = client.post("/mobile/v1/elections/opt-out", headers=no_auto.participant)
    assert refused.status_code == 409


def test_investments(client, world):
    assert client.get("/mobile/v1/investments", headers=world.participant).json["uses_default_fund"] is True
    funds = {f["ticker"]: f["id"] for f in client.get("/mobile/v1/me", headers=world.participant).json["funds"]}
    bad = client.put("/mobile/v1/investments", headers=world.participant, json={"allocations": [
        {"fund_id": funds["PLUSX"], "percent": "50"}, {"fund_id": "fnd_nope", "percent": "49"}]})
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json["errors"]} == {"allocations[1].fund_id", "allocations"}
    default = client.put("/mobile/v1/investments", headers=world.participant, json={"use_default": True})
    assert default.json["uses_default_fund"] is True and default.json["allocations"][0]["ticker"] == "PLTDX"
    assert default.json["version"] == 1


def test_beneficiaries(client, world):
    bad = client.put("/mobile/v1/beneficiaries", headers=world.participant, json={"beneficiaries": [
        {"tier": "primary", "name": "Ana", "relationship": "spouse", "percent": "90"},
        {"tier": "contingent", "name": "Leo", "relationship": "child", "percent": "50"}]})
    assert bad.status_code == 422 and len(bad.json["errors"]) == 2
    good = client.put("/mobile/v1/beneficiaries", headers=world.participant, json={"beneficiaries": [
        {"tier": "primary", "name": "Ana", "relationship": "spouse", "percent": "60"},
        {"tier": "primary", "name": "Leo", "relationship": "child", "percent": "40"},
        {"tier": "contingent", "name": "Estate", "relationship": "estate", "percent": "100"}]})
    assert good.status_code == 200 and good.json["version"] == 1
    assert [b["percent"] for b in client.get("/mobile/v1/beneficiaries", headers=world.participant).json["beneficiaries"]] == ["60", "40", "100"]


def test_outside_deferrals_count_per_calendar_year(client, world):
    response = client.put("/mobile/v1/outside-deferrals", headers=world.participant,
                          json={"calendar_year": 2026, "amount_cents": 500000, "other_employer": "Old Job Inc"})
    assert response.status_code == 200
    client.put("/mobile/v1/outside-deferrals", headers=world.participant, json={"calendar_year": 2026, "amount_cents": 650000})
    listed = client.get("/mobile/v1/outside-deferrals", headers=world.participant).json
    assert [(d["calendar_year"], d["amount_cents"]) for d in listed] == [(2026, 650000)]
    assert client.put("/mobile/v1/outside-deferrals", headers=world.participant,
                      json={"calendar_year": 2023, "amount_cents": 1}).status_code == 422


def test_sign_up_attempts_are_limited(app, client, world):
    employee = world.employees["E2"]
    body = {"invite_code": scenario.invite_code(app, employee), "date_of_birth": "2006-03-11", "ssn_last4": "4321",
            "email": "e2@phone.example.com", "password": scenario.PARTICIPANT_PASSWORD}
    for attempt in range(5):
        response = client.post("/mobile/v1/signup", json=body)
        assert response.status_code == 401, response.json
        assert f"{4 - attempt} attempts left" in response.json["detail"]
    locked = client.post("/mobile/v1/signup", json={**body, "date_of_birth": "2006-03-10"})
    assert locked.status_code == 429
    # A signed-up employee's code is spent: it answers like any unknown code, telling nobody the account exists.
    again = client.post("/mobile/v1/signup", json={"invite_code": scenario.invite_code(app, world.employee),
                                                   "date_of_birth": "1985-07-19", "ssn_last4": "6789",
                                                   "email": "x@phone.example.com",
                                                   "password": scenario.PARTICIPANT_PASSWORD})
    assert again.status_code == 404


def test_terminated_employees_cannot_elect(client, world):
    row = scenario.census_row("E1", "1985-07-19", "2024-03-15", "123-45-6789", pay="72000.00",
                              termination_date="2026-10-30")
    assert scenario.upload_csv(client, world.sponsor, world.employer_id, [row]).status_code == 200
    assert client.get("/mobile/v1/me", headers=world.participant).json["eligibility"]["status"] == "terminated"
    assert elect(client, world.participant, pct("pretax", "5")).status_code == 403
