"""What the platform starts by itself, seen through the API: automatic enrollment, escalation (announced and
skippable), the 402(g) cap-and-stop with its January resume, the termination stop, and "observed" elections."""
from datetime import date

from sqlalchemy import select

from backend.outbox import OutboxMessage
from tests import scenario
from tests.support import run_cli


def messages(plumb, employee_id):
    with plumb.db.transaction() as session:
        return [m.payload | {"_subject": m.subject_id} for m in session.scalars(
            select(OutboxMessage).where(OutboxMessage.recipient.like(f"%:{employee_id}")).order_by(OutboxMessage.seq))]


def daily(app, on: str) -> str:
    result = run_cli(app, args=["daily", "--date", on])
    assert result.exit_code == 0, result.output
    return result.output


def test_automatic_enrollment_then_escalation_that_can_be_skipped(app, client, plumb, clock):
    world = scenario.World(app, client, requires_approval=True)  # automatic changes need no approval
    assert "auto enrolled: 1" in daily(app, "2026-11-24")  # E1 is eligible; E2 enters in 2027-04
    assert "auto enrolled: 0" in daily(app, "2026-11-24")  # idempotent
    history = client.get("/mobile/v1/elections", headers=world.participant).json
    assert [(e["kind"], e["status"], e["effective_date"], e["lines"][0]["percent"]) for e in history] == [
        ("auto_enroll", "approved", "2027-01-01", "3")]  # 30 days' notice, then the next pay date
    assert [m["action"] for m in messages(plumb, world.employee["id"])] == ["set"]

    clock.fixed_today = date(2027, 12, 10)  # within the notice period of the 2028 plan year
    assert "escalations scheduled: 1" in daily(app, "2027-12-10")
    scheduled = client.get("/mobile/v1/elections", headers=world.participant).json[0]
    assert (scheduled["kind"], scheduled["status"], scheduled["lines"][0]["percent"]) == ("escalation", "scheduled", "4")
    skipped = client.post(f"/mobile/v1/elections/{scheduled['id']}/skip", headers=world.participant)
    assert skipped.status_code == 200 and skipped.json["status"] == "skipped"
    assert client.post(f"/mobile/v1/elections/{scheduled['id']}/skip", headers=world.participant).status_code == 409
    assert "escalations scheduled: 0" in daily(app, "2027-12-11")
    assert "escalations released: 0" in daily(app, "2027-12-30")
    assert len(messages(plumb, world.employee["id"])) == 1  # payroll never heard of the skipped step


def test_escalation_released_to_payroll_when_not_skipped(app, client, plumb, clock):
    world = scenario.World(app, client)
    daily(app, "2026-11-24")
    clock.fixed_today = date(2027, 12, 10)
    daily(app, "2027-12-10")
    assert "escalations released: 0" in daily(app, "2028-01-06")  # a week before it takes effect
    assert "escalations released: 1" in daily(app, "2028-01-07")
    sent = messages(plumb, world.employee["id"])
    # Biweekly from 2026-01-02: the first pay date of the 2028 plan year is 2028-01-14.
    assert [(m["action"], m["lines"][0]["percent"], m["effective_date"]) for m in sent] == [
        ("set", "3", "2027-01-01"), ("set", "4", "2028-01-14")]


def test_402g_cap_and_stop_in_the_run_the_arithmetic_predicts(app, client, plumb, clock):
    clock.fixed_today = date(2026, 10, 1)  # the election starts on the 2026-10-09 pay date
    world = scenario.World(app, client, requires_approval=False)
    big = scenario.census_row("E1", "1985-07-19", "2024-03-15", "123-45-6789", pay="600000.00")
    scenario.upload_csv(client, world.sponsor, world.employer_id, [big])
    client.post("/mobile/v1/elections", headers=world.participant, json={"lines": [{"money_type": "pretax", "percent": "50"}]})
    connection = scenario.connect_payroll(client, world.sponsor, world.employer_id)
    paycheck = 2307692  # $600,000 / 26
    deferral = 1153846  # 50%
    for number, pay_date in enumerate(("2026-10-09", "2026-10-23"), start=1):
        response = scenario.signed_post(client, connection, scenario.pay_run(f"R{number}", pay_date, [
            scenario.statement("E1", paycheck, pretax=deferral)]))
        assert response.status_code == 200 and response.json["held"] == 0, response.json
        stops = [m for m in messages(plumb, world.employee["id"]) if m.get("reason") == "402g_limit"]
        # After run 1: 11,538.46 deferred, the next check would make 23,076.92 <= 24,500: no stop yet.
        # After run 2: 23,076.92 deferred; the next would pass 24,500: cap it at 1,423.08 and stop.
        assert len(stops) == (0 if number == 1 else 1)
    sent = messages(plumb, world.employee["id"])
    stop, resume = sent[-2], sent[-1]
    assert (stop["action"], stop["cap_cents"], stop["effective_date"], stop["resume_on"]) == (
        "stop", 2450000 - 2 * deferral, "2026-11-06", "2027-01-01")
    assert (resume["action"], resume["effective_date"], resume["lines"][0]["percent"]) == ("set", "2027-01-01", "50")
    limits = client.get("/mobile/v1/limits", headers=world.participant).json
    assert limits["remaining_cents"] == 2450000 - 2 * deferral


def test_termination_in_a_pay_run_stops_deferrals_and_observed_elections(app, client, plumb, clock):
    world = scenario.World(app, client, requires_approval=False)
    client.post("/mobile/v1/elections", headers=world.participant, json={"lines": [{"money_type": "pretax", "percent": "6"}]})
    connection = scenario.connect_payroll(client, world.sponsor, world.employer_id)
    scenario.signed_post(client, connection, scenario.pay_run("R1", "2026-12-04", [
        scenario.statement("E1", 276923, pretax=16615)]))
    stage = client.get("/mobile/v1/elections", headers=world.participant).json[0]["payroll"]
    assert stage["stage"] == "observed" and "2026-12-04" in stage["detail"]
    final = scenario.signed_post(client, connection, scenario.pay_run("R2", "2026-12-18", [
        scenario.statement("E1", 276923, pretax=16615, termination_date="2026-12-15")], run_type="final_pay"))
    assert final.status_code == 200, final.json
    stop = messages(plumb, world.employee["id"])[-1]
    assert (stop["action"], stop["reason"], stop["effective_date"]) == ("stop", "termination", "2026-12-15")
    census = scenario.employees_by_external_id(client, world.sponsor, world.employer_id)
    assert census["E1"]["termination_date"] == "2026-12-15"
    clock.fixed_today = date(2026, 12, 20)
    assert census["E1"]["eligibility"]["status"] == "eligible"  # as of 2026-11-24, before the last day
    assert client.get("/mobile/v1/me", headers=world.participant).json["eligibility"]["status"] == "terminated"


def test_one_employment_rule_a_rehire_escalates_and_a_past_last_day_is_not_enrolled(app, client, plumb, clock):
    """Automatic enrollment and escalation ask the same "still employed" rule as eligibility
    (`eligibility.terminated_on`): a rehired employee escalates like anyone employed, and someone whose last day
    has passed since eligibility was last computed is not enrolled."""
    world = scenario.World(app, client, requires_approval=True)
    daily(app, "2026-11-24")  # E1 auto-enrolled at 3%
    rehired = scenario.census_row("E1", "1985-07-19", "2024-03-15", "123-45-6789", pay="72000.00",
                                  termination_date="2025-01-31", rehire_date="2025-06-02")
    leaving = scenario.census_row("E3", "1980-01-01", "2020-01-06", "555-12-3456",
                                  termination_date="2026-11-30")  # eligible today; gone a week from now
    assert scenario.upload_csv(client, world.sponsor, world.employer_id, [rehired, leaving]).status_code == 200
    assert "auto enrolled: 0" in daily(app, "2026-12-07")  # E3's last day passed: no enrollment
    clock.fixed_today = date(2027, 12, 10)
    assert "escalations scheduled: 1" in daily(app, "2027-12-10")  # E1, rehired, escalates
