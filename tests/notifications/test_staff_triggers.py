"""What sponsors and advisors are told, through the HTTP API: elections waiting for approval in one batch an hour,
pay-run exceptions, compliance early warnings with their fix, dead-lettered payroll messages, and the advisor's
daily digest of early warnings. Each is told once, however often its cause is replayed."""
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from backend.outbox import Message, OutboxMessage
from notifications import staff
from tests import scenario
from tests.flows.test_live_compliance import owner_deferring_heavily
from tests.support import run_cli
from tests.support.outbox import dispatcher, drain

SIX = {"lines": [{"money_type": "pretax", "percent": "6"}]}
# An instant in the middle of an hour: the batch it starts is due at the next hour, 15:00 UTC.
MID_HOUR = datetime(2099, 1, 5, 14, 20, tzinfo=timezone.utc)
HOUR_END = datetime(2099, 1, 5, 15, 0, tzinfo=timezone.utc)
SPONSOR_PHONE = {"token": "fcm-sponsor-token", "platform": "ios", "app_version": "1.4.0", "locale": "en-US",
                 "time_zone": "America/Denver"}
PUSH, EMAIL = "notification.push", "notification.email"


@pytest.fixture
def frozen_hour(monkeypatch):
    """The batches' clock stopped at MID_HOUR, so the hour an election falls in never depends on when tests run."""
    monkeypatch.setattr(staff, "utcnow", lambda: MID_HOUR)


def staff_feed(client, headers, kind: str | None = None) -> list[dict]:
    response = client.get("/v1/me/notifications", headers=headers, query_string={"limit": 100})
    assert response.status_code == 200, response.json
    return [e for e in response.json["data"] if kind is None or e["kind"] == kind]


def outbox(plumb, *topics) -> list[OutboxMessage]:
    with plumb.db.transaction() as session:
        return list(session.scalars(select(OutboxMessage).where(OutboxMessage.topic.in_(topics))
                                    .order_by(OutboxMessage.seq)))


def user_id_of(client, headers) -> str:
    return client.get("/v1/auth/me", headers=headers).json["id"]


def participants(app, client, world, count: int) -> list[dict]:
    """`count` more employees of the world's employer, each signed up on their phone."""
    rows = [scenario.census_row(f"P{n}", "1980-02-02", "2023-01-09", f"333-44-{1000 + n}") for n in range(count)]
    assert scenario.upload_csv(client, world.sponsor, world.employer_id, rows).status_code == 200
    census = scenario.employees_by_external_id(client, world.sponsor, world.employer_id)
    return [scenario.sign_up(client, census[f"P{n}"], "1980-02-02", str(1000 + n)) for n in range(count)]


# ---- elections waiting for approval ---------------------------------------------------------------------------------

def test_ten_elections_in_an_hour_give_the_sponsor_one_push_and_one_email_saying_ten(
        app, client, plumb, frozen_hour):
    world = scenario.World(app, client, requires_approval=True)
    assert client.post("/v1/me/devices", headers=world.sponsor, json=SPONSOR_PHONE).status_code == 200
    phones = [world.participant] + participants(app, client, world, 9)
    for phone in phones:
        assert client.post("/mobile/v1/elections", headers=phone, json=SIX).status_code == 201
    # One batch owed for the plan and hour, held until the hour ends; nothing told yet.
    [batch] = outbox(plumb, staff.APPROVALS_TOPIC)
    assert batch.next_attempt_at == HOUR_END and batch.payload["plan_id"] == world.plan_id
    dispatcher(plumb, now=lambda: HOUR_END - timedelta(seconds=1)).run_once()
    assert staff_feed(client, world.sponsor) == []

    dispatcher(plumb, now=lambda: HOUR_END).run_once()
    [entry] = staff_feed(client, world.sponsor)
    assert (entry["kind"], entry["category"]) == ("approvals_waiting", "approvals")
    assert entry["body"].startswith("Elections waiting for your approval: 10.")
    assert entry["deep_link"] == {"screen": "approvals", "plan_id": world.plan_id}
    sponsor_id = user_id_of(client, world.sponsor)
    [push] = outbox(plumb, PUSH)
    [email] = outbox(plumb, EMAIL)
    assert (push.recipient, push.payload["text"]) == (f"user/{sponsor_id}", "Elections waiting for your approval: 10.")
    assert push.payload["link"] == {"screen": "approvals", "plan_id": world.plan_id}
    assert (email.recipient.rsplit("/", 1)[0], email.payload["subject"]) == (f"email/{sponsor_id}",
                                                                           "Elections waiting for approval")

    # The batch delivered again (an acknowledgement lost) tells nobody twice.
    snapshot = Message(batch.id, batch.topic, batch.recipient, batch.employer_id, batch.subject_id, batch.payload, 1)
    assert plumb.deliverers[staff.APPROVALS_TOPIC](snapshot).result == {"told": 0}
    assert len(staff_feed(client, world.sponsor)) == 1 and len(outbox(plumb, PUSH, EMAIL)) == 2


def test_a_batch_whose_elections_were_all_decided_by_the_end_of_the_hour_tells_nothing(
        app, client, plumb, frozen_hour):
    world = scenario.World(app, client, requires_approval=True)
    election = client.post("/mobile/v1/elections", headers=world.participant, json=SIX).json
    approved = client.post(f"/v1/elections/{election['id']}/approve", json={},
                           headers={**world.sponsor, "If-Match": f'"{election["etag"]}"'})
    assert approved.status_code == 200, approved.json
    dispatcher(plumb, now=lambda: HOUR_END).run_once()
    assert staff_feed(client, world.sponsor, "approvals_waiting") == []
    [batch] = outbox(plumb, staff.APPROVALS_TOPIC)
    assert batch.status == "delivered"


def test_an_election_in_the_next_hour_owes_a_batch_of_its_own(app, client, plumb, monkeypatch):
    world = scenario.World(app, client, requires_approval=True)
    second = scenario.sign_up(client, world.employees["E2"], "2006-03-10", "4321")
    monkeypatch.setattr(staff, "utcnow", lambda: MID_HOUR)
    client.post("/mobile/v1/elections", headers=world.participant, json=SIX)
    monkeypatch.setattr(staff, "utcnow", lambda: HOUR_END + timedelta(minutes=5))
    client.post("/mobile/v1/elections", headers=second, json=SIX)
    assert [m.next_attempt_at for m in outbox(plumb, staff.APPROVALS_TOPIC)] == [HOUR_END,
                                                                                HOUR_END + timedelta(hours=1)]


# ---- pay-run exceptions ---------------------------------------------------------------------------------------------

def test_a_pay_run_holding_statements_tells_the_sponsor_once_with_the_count(client, plumb, world, connection):
    response = scenario.signed_post(client, connection, scenario.pay_run("R-1", "2026-11-20", [
        scenario.statement("E1", 300000), scenario.statement("E2", 100000, pretax=3000, hours="40")]))
    assert response.status_code == 200 and response.json["held"] == 1, response.json
    run_id = response.json["pay_run"]["id"]
    [entry] = staff_feed(client, world.sponsor, "pay_run_exceptions")
    assert entry["category"] == "payroll"
    assert entry["body"].startswith("Statements of the pay run of November 20, 2026 held for your review: 1.")
    assert entry["deep_link"] == {"screen": "exceptions", "employer_id": world.employer_id, "pay_run_id": run_id}
    # Resolving the exception publishes the pay run again: the sponsor is not told again.
    [held] = client.get(f"/v1/employers/{world.employer_id}/payroll-exceptions", headers=world.sponsor).json["data"]
    resolved = client.post(f"/v1/payroll-exceptions/{held['id']}/resolve", headers=world.sponsor,
                           json={"action": "reject", "note": "Not yet eligible"})
    assert resolved.status_code == 200, resolved.json
    assert len(staff_feed(client, world.sponsor, "pay_run_exceptions")) == 1


def test_a_pay_run_with_nothing_held_tells_the_sponsor_nothing(client, plumb, world, connection):
    response = scenario.signed_post(client, connection, scenario.pay_run("R-1", "2026-11-20", [
        scenario.statement("E1", 300000, pretax=18000)]))
    assert response.status_code == 200 and response.json["held"] == 0, response.json
    assert staff_feed(client, world.sponsor, "pay_run_exceptions") == []


# ---- compliance early warning ---------------------------------------------------------------------------------------

def test_the_projection_turning_to_failing_gives_the_sponsor_exactly_one_warning_with_the_fix(app, client, plumb):
    sponsor, plan_id, _ = owner_deferring_heavily(app, client)
    drain(plumb)
    drain(plumb)  # recomputed again while still failing: no second warning
    [warning] = client.get(f"/v1/plans/{plan_id}/compliance/warnings", headers=sponsor).json
    [entry] = staff_feed(client, sponsor, "compliance_warning")
    assert entry["category"] == "compliance"
    assert entry["deep_link"] == {"screen": "compliance", "plan_id": plan_id, "warning_id": warning["id"]}
    # The feed carries the fix, amounts and rates included (5% QNEC costing $600 for the ADP, per the projection).
    assert "on track to fail its 2026 ADP & ACP test" in entry["body"]
    assert ("ADP: a QNEC of 5% of pay to every eligible non-highly compensated employee would pass (cost $600.00)."
            in entry["body"])
    assert "ADP: or $1,076.92 of their deferrals kept as catch-up contributions." in entry["body"]
    assert "ACP: or refunds of $461.54 to highly compensated employees." in entry["body"]
    # The email (the sponsor has no device) carries neither.
    [email] = [m for m in outbox(plumb, EMAIL) if m.payload["kind"] == "compliance_warning"]
    assert "$" not in email.payload["text"] and "%" not in email.payload["text"]


# ---- dead-lettered payroll messages ---------------------------------------------------------------------------------

def test_a_deferral_change_payroll_never_took_tells_the_sponsor_once(client, plumb, world):
    # Nothing listens on port 9: every attempt fails, and one attempt is all this dispatcher allows.
    scenario.connect_payroll(client, world.sponsor, world.employer_id)
    assert client.post("/mobile/v1/elections", headers=world.participant, json=SIX).status_code == 201
    drain(plumb, dispatcher(plumb, max_attempts=1))
    [dead] = client.get(f"/v1/employers/{world.employer_id}/payroll-messages", headers=world.sponsor).json["data"]
    [entry] = staff_feed(client, world.sponsor, "payroll_message_dead")
    assert entry["category"] == "payroll"
    assert entry["deep_link"] == {"screen": "outbox", "employer_id": world.employer_id, "message_id": dead["id"]}
    assert entry["body"].startswith("A deferral change could not be delivered to payroll (")
    # Retried and given up on again: the same message, not told twice.
    assert client.post(f"/v1/payroll-messages/{dead['id']}/retry", headers=world.sponsor).status_code == 200
    drain(plumb, dispatcher(plumb, max_attempts=1))
    assert len(staff_feed(client, world.sponsor, "payroll_message_dead")) == 1


# ---- the advisor's daily digest -------------------------------------------------------------------------------------

def daily(app, on: date) -> str:
    result = run_cli(app, args=["daily", "--date", on.isoformat()])
    assert result.exit_code == 0, result.output
    return result.output


def test_the_advisors_digest_lists_the_warning_of_their_plan_and_not_another_advisors(app, client, plumb):
    _, plan_id, _ = owner_deferring_heavily(app, client)  # served by advisor@example.com
    other = scenario.World(app, client, name="Other Bakery LLC", advisor_email="other-advisor@example.com",
                           sponsor_email="other-sponsor@example.com", ein_prefix="O")
    drain(plumb)
    [warning] = client.get(f"/v1/plans/{plan_id}/compliance/warnings",
                           headers=scenario.login(client, "advisor@example.com", scenario.ADVISOR_PASSWORD)).json
    raised_on = datetime.fromisoformat(warning["raised_at"]).astimezone(timezone.utc).date()
    advisor = scenario.login(client, "advisor@example.com", scenario.ADVISOR_PASSWORD)

    assert "advisor digests sent: 0" in daily(app, raised_on)  # the digest of a day comes the day after
    assert "advisor digests sent: 1" in daily(app, raised_on + timedelta(days=1))
    assert "advisor digests sent: 0" in daily(app, raised_on + timedelta(days=1))  # the pass runs hourly
    [entry] = staff_feed(client, advisor, "advisor_digest")
    assert (entry["category"], entry["title"]) == ("digests", "Your daily compliance digest")
    assert "Heavy Owner Inc, Heavy Owner Inc 401(k) Plan: ADP & ACP at risk for 2026." in entry["body"]
    assert staff_feed(client, other.advisor, "advisor_digest") == []
    assert "advisor digests sent: 0" in daily(app, raised_on + timedelta(days=2))  # nothing new: nothing sent
