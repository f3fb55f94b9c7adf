"""What participants are told, through the API: eligibility, automatic enrollment and escalation coming, payroll's
confirmation of a change, the 402(g) limit, deferrals stopped and resumed, and the monthly nudges; each with the
right words and amounts in the feed, a push or email queued, and told once."""
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from backend.enrollment.payroll_messages import TOPIC as PAYROLL_TOPIC
from backend.outbox import OutboxMessage, record_deliveries
from backend.plans.match import SAFE_HARBOR_BASIC
from notifications.participants import match_left, raise_seen
from tests import scenario
from tests.support import run_cli

IPHONE = {"token": "fcm-token-participant", "platform": "ios", "app_version": "1.4.0", "locale": "en-US",
          "time_zone": "America/Chicago"}
PAY = 276923  # $72,000 a year, biweekly


def feed_of(client, headers, kind: str | None = None) -> list[dict]:
    response = client.get("/mobile/v1/me/notifications?limit=100", headers=headers)
    assert response.status_code == 200, response.json
    return [e for e in response.json["data"] if kind is None or e["kind"] == kind]


def queued(plumb, notification_id: str) -> list[OutboxMessage]:
    with plumb.db.transaction() as session:
        return list(session.scalars(select(OutboxMessage).where(
            OutboxMessage.topic.in_(("notification.push", "notification.email")),
            OutboxMessage.payload["notification_id"].as_string() == notification_id)))


def deliver_payroll_messages(plumb) -> int:
    """Payroll acknowledges every pending deferral change (as the dispatcher records an acknowledgement)."""
    with plumb.db.transaction() as session:
        pending = session.scalars(select(OutboxMessage).where(OutboxMessage.topic == PAYROLL_TOPIC,
                                                              OutboxMessage.status == "pending")
                                  .order_by(OutboxMessage.seq)).all()
        return record_deliveries(session, [(m, {"status": 200}) for m in pending], statuses=("pending",))


def daily(app, on: str) -> str:
    result = run_cli(app, args=["daily", "--date", on])
    assert result.exit_code == 0, result.output
    return result.output


def elect(client, headers, percent: str) -> dict:
    response = client.post("/mobile/v1/elections", headers=headers,
                           json={"lines": [{"money_type": "pretax", "percent": percent}]})
    assert response.status_code in (200, 201), response.json
    return response.json


def post_run(client, connection, run_id: str, pay_date: str, statements: list[dict]) -> dict:
    response = scenario.signed_post(client, connection, scenario.pay_run(run_id, pay_date, statements))
    assert response.status_code == 200, response.json
    return response.json


# ---- eligibility ----------------------------------------------------------------------------------------------------

def test_an_employee_with_an_account_hears_they_may_join_when_a_census_change_makes_them_eligible_once(
        client, plumb, world):
    e2 = scenario.sign_up(client, world.employees["E2"], "2006-03-10", "4321")
    assert client.post("/mobile/v1/devices", headers=e2, json=IPHONE).status_code == 200
    # E2 turns 21 only in March 2027; the census corrects the birth date (2005), so E2, hired June 1, 2026, could
    # join from that day (monthly entry, no service condition). Sent again, the same entry date is not news.
    for _ in range(2):
        rows = [scenario.census_row("E2", "2005-03-10", "2026-06-01", "987-65-4321", pay="72000.00")]
        response = scenario.upload_csv(client, world.sponsor, world.employer_id, rows)
        assert response.status_code == 200, response.json
    [entry] = feed_of(client, e2, "eligible_to_enroll")
    assert entry["category"] == "notices" and entry["deep_link"] == {"screen": "enroll"}
    # Safe-harbor basic match: 100% of 3% + 50% of the next 2% = 4% of $72,000 at a 5% deferral.
    assert entry["body"] == ("You can join your 401(k) plan from June 1, 2026. Save 5% of your pay and your "
                             "employer adds about $2,880.00 a year."), entry["body"]
    [push] = queued(plumb, entry["id"])
    assert push.topic == "notification.push" and "$" not in push.payload["text"]
    # A census change that leaves E1's eligibility as it was tells E1 nothing.
    rows = [scenario.census_row("E1", "1985-07-19", "2024-03-15", "123-45-6789", pay="72000.00", hours="1600")]
    assert scenario.upload_csv(client, world.sponsor, world.employer_id, rows).status_code == 200
    assert feed_of(client, world.participant, "eligible_to_enroll") == []


def test_an_employee_without_an_account_is_not_told_they_may_join(client, plumb, world):
    rows = [scenario.census_row("E2", "2006-03-10", "2026-06-01", "987-65-4321", pay="31000.00", hours="1500")]
    assert scenario.upload_csv(client, world.sponsor, world.employer_id, rows).status_code == 200
    assert all(e.kind != "eligible_to_enroll" for e in _entries(plumb))


def _entries(plumb):
    from notifications.models import Notification
    with plumb.db.transaction() as session:
        return list(session.scalars(select(Notification)))


# ---- automatic enrollment and escalation ----------------------------------------------------------------------------

def test_automatic_enrollment_is_announced_by_the_daily_pass_with_the_opt_out_deadline_and_the_rate_once(
        app, client, plumb, world):
    out = daily(app, "2026-11-24")
    assert "auto enrolled: 1" in out and "notices auto enrollment: 1" in out, out
    [entry] = feed_of(client, world.participant, "auto_enroll_coming")
    # Notice of 30 days: the first pay date on or after December 24 is January 1, 2027; opting out by the day
    # before keeps the first deferral from being taken.
    assert entry["body"] == ("Unless you choose otherwise, 3% of your pay will go into your 401(k) from the paycheck "
                             "of January 1, 2027. To choose another rate or opt out, do so by December 31, 2026."), entry
    assert entry["category"] == "notices" and entry["deep_link"]["screen"] == "election"
    [email] = queued(plumb, entry["id"])
    assert email.topic == "notification.email"
    assert "notices auto enrollment: 0" in daily(app, "2026-11-25")
    assert len(feed_of(client, world.participant, "auto_enroll_coming")) == 1


def test_an_escalation_is_announced_with_the_new_rate_the_date_and_the_skip_deadline_once(app, client, clock, world):
    daily(app, "2026-11-24")
    clock.fixed_today = date(2027, 12, 10)
    out = daily(app, "2027-12-10")
    assert "escalations scheduled: 1" in out and "notices escalation: 1" in out, out
    [entry] = feed_of(client, world.participant, "escalation_coming")
    # From 3% to 4% on the first pay date of 2028 (biweekly from January 2, 2026: January 14, 2028); it goes to
    # payroll 7 days before, so January 6 is the last day to skip.
    assert entry["body"] == ("Your contribution rate goes up to 4% of your pay from the paycheck of January 14, "
                             "2028. You can skip this increase until January 6, 2028."), entry
    assert "notices escalation: 0" in daily(app, "2027-12-11")


# ---- payroll confirms a change --------------------------------------------------------------------------------------

def test_payroll_acknowledging_an_election_tells_the_participant_the_change_is_confirmed_once(client, plumb, world):
    election = elect(client, world.participant, "6")
    assert feed_of(client, world.participant, "change_confirmed") == []
    assert deliver_payroll_messages(plumb) == 1
    [entry] = feed_of(client, world.participant, "change_confirmed")
    assert entry["category"] == "elections"
    assert entry["body"] == "Payroll confirmed your change: 6% of your pay from the paycheck of December 4, 2026."
    assert entry["deep_link"] == {"screen": "election", "election_id": election["id"]}
    assert deliver_payroll_messages(plumb) == 0
    assert len(feed_of(client, world.participant, "change_confirmed")) == 1


def test_an_opt_out_confirmed_by_payroll_is_told_as_deferrals_stopped_and_the_next_election_as_resumed(
        client, plumb, world):
    elect(client, world.participant, "6")
    deliver_payroll_messages(plumb)
    response = client.post("/mobile/v1/elections/opt-out", headers=world.participant)
    assert response.status_code in (200, 201), response.json
    deliver_payroll_messages(plumb)
    [stopped] = feed_of(client, world.participant, "deferrals_stopped")
    assert stopped["body"] == "Payroll confirmed your opt-out: no contributions from the paycheck of December 4, 2026."
    elect(client, world.participant, "4")
    deliver_payroll_messages(plumb)
    [resumed] = feed_of(client, world.participant, "deferrals_resumed")
    assert resumed["body"] == ("Payroll confirmed: your contributions start again at 4% of your pay from the paycheck "
                               "of December 4, 2026.")


# ---- the 402(g) limit -----------------------------------------------------------------------------------------------

def test_402g_approaching_and_reached_are_told_once_a_year_and_the_stop_and_the_new_year_resume_follow(
        app, client, clock, plumb, world, connection):
    # 2026: 402(g) is $24,500; 90% is $22,050. E1 (41 at year end) has no catch-up.
    post_run(client, connection, "R1", "2026-11-20", [scenario.statement("E1", 3000000, pretax=2205000)])
    [approaching] = feed_of(client, world.participant, "limit_approaching")
    assert approaching["category"] == "limits"
    assert approaching["body"] == "You have saved $22,050.00 of this year's $24,500.00 limit on 401(k) contributions."
    elect(client, world.participant, "6")
    deliver_payroll_messages(plumb)
    post_run(client, connection, "R2", "2026-12-04", [scenario.statement("E1", PAY, pretax=245000)])
    [reached] = feed_of(client, world.participant, "limit_reached")
    assert reached["body"] == ("You have reached this year's $24,500.00 limit on 401(k) contributions. Payroll stops "
                               "your contributions for the rest of 2026.")
    assert len(feed_of(client, world.participant, "limit_approaching")) == 1
    # Payroll acknowledges the stop (and the resume queued with it): deferrals stopped, told once.
    assert deliver_payroll_messages(plumb) == 2
    [stopped] = feed_of(client, world.participant, "deferrals_stopped")
    assert stopped["body"] == ("You reached the yearly limit: payroll stops your contributions from the paycheck of "
                               "December 18, 2026. They start again on January 1, 2027.")
    assert feed_of(client, world.participant, "deferrals_resumed") == []
    assert "notices resumed: 0" in daily(app, "2026-12-31")
    clock.fixed_today = date(2027, 1, 1)
    assert "notices resumed: 1" in daily(app, "2027-01-01")
    assert "notices resumed: 0" in daily(app, "2027-01-02")
    [resumed] = feed_of(client, world.participant, "deferrals_resumed")
    assert resumed["body"] == "A new year: your 401(k) contributions start again from January 1, 2027."


def test_a_catch_up_eligible_participant_reaching_402g_hears_catch_up_continues(client, plumb, world, connection):
    rows = [scenario.census_row("E3", "1970-02-01", "2020-01-06", "111-22-3333", pay="200000.00")]
    assert scenario.upload_csv(client, world.sponsor, world.employer_id, rows).status_code == 200
    employee = scenario.employees_by_external_id(client, world.sponsor, world.employer_id)["E3"]
    headers = scenario.sign_up(client, employee, "1970-02-01", "3333")
    post_run(client, connection, "R1", "2026-11-20", [scenario.statement("E3", 3000000, pretax=2450000)])
    [reached] = feed_of(client, headers, "limit_reached")
    # 56 at the end of 2026: catch-up of $8,000 (IRC 414(v)(2)(B)).
    assert reached["body"] == ("You have reached this year's $24,500.00 limit on 401(k) contributions. Your catch-up "
                               "contributions continue, up to $8,000.00 more.")
    assert feed_of(client, headers, "limit_approaching") == []


# ---- nudges ---------------------------------------------------------------------------------------------------------

def test_the_match_left_on_the_table_is_told_to_the_cent_and_a_second_pay_run_that_month_does_not_nudge_again(
        client, plumb, world, connection):
    """Safe-harbor basic match (100% of 3% + 50% of the next 2%), plan pay $2,769.23, deferring 2% ($55.38):
    matched $55.38, the full match is 4% of $2,769.23 = $110.77, so $55.39 was left; 5% gets all of it."""
    assert client.post("/mobile/v1/devices", headers=world.participant, json=IPHONE).status_code == 200
    elect(client, world.participant, "2")
    post_run(client, connection, "R1", "2026-12-04", [scenario.statement("E1", PAY, pretax=5538)])
    [nudge] = feed_of(client, world.participant, "nudge_match_left")
    assert nudge["category"] == "nudges"
    assert nudge["body"] == ("Your paycheck of December 4, 2026 left $55.39 of employer match unclaimed. Save 5% of "
                             "your pay to get all of it.")
    [push] = queued(plumb, nudge["id"])
    assert push.topic == "notification.push" and "$" not in push.payload["text"]
    post_run(client, connection, "R2", "2026-12-18", [scenario.statement("E1", PAY, pretax=5538)])
    assert len(feed_of(client, world.participant, "nudge_match_left")) == 1


def test_a_muted_nudge_is_kept_in_the_feed_but_neither_pushed_nor_emailed(client, plumb, world, connection):
    assert client.post("/mobile/v1/devices", headers=world.participant, json=IPHONE).status_code == 200
    from notifications.preferences import update_settings
    user_id = client.get("/v1/auth/me", headers=world.participant).json["id"]
    with plumb.db.transaction() as session:  # the settings' own service (their endpoint is another change's)
        update_settings(session, user_id, {"categories": [{"category": "nudges", "push": False, "email": False}]})
    elect(client, world.participant, "2")
    post_run(client, connection, "R1", "2026-12-04", [scenario.statement("E1", PAY, pretax=5538)])
    [nudge] = feed_of(client, world.participant, "nudge_match_left")
    assert queued(plumb, nudge["id"]) == []


def test_a_raise_on_the_pay_statements_suggests_saving_half_of_it_up_to_the_full_match_rate(
        client, plumb, world, connection):
    for n, day in enumerate(("2026-10-09", "2026-10-23", "2026-11-06")):
        post_run(client, connection, f"R{n}", day, [scenario.statement("E1", 200000)])
    assert feed_of(client, world.participant, "nudge_raise") == []
    elect(client, world.participant, "2")
    post_run(client, connection, "R9", "2026-12-04", [scenario.statement("E1", 220000, pretax=4400)])
    [nudge] = feed_of(client, world.participant, "nudge_raise")
    # $2,000 → $2,200 is 10%; 2% + 5% = 7%, capped at the 5% full-match rate.
    assert nudge["body"] == ("Your pay went up about 10%. Raising your contribution from 2% to 5% saves part of it, "
                             "and you would hardly notice.")


def test_an_eligible_employee_who_has_not_enrolled_30_days_after_entry_hears_the_match_once_a_month(
        app, client, clock, plumb):
    world = scenario.World(app, client, requires_approval=False, auto_enrollment={"enabled": False})
    out = daily(app, "2026-11-24")
    assert "nudges join: 1" in out, out
    [nudge] = feed_of(client, world.participant, "nudge_join")
    assert nudge["body"] == ("You have not joined your 401(k) plan yet. Save 5% of your pay and your employer adds "
                             "about $2,880.00 a year.")
    assert "nudges join: 0" in daily(app, "2026-11-30")
    clock.fixed_today = date(2026, 12, 1)
    assert "nudges join: 1" in daily(app, "2026-12-01")
    elect(client, world.participant, "5")
    assert "nudges join: 0" in daily(app, "2027-01-04")


# ---- the rules, directly --------------------------------------------------------------------------------------------

def test_match_left_is_the_full_match_on_the_plan_pay_less_the_match_posted():
    assert match_left(SAFE_HARBOR_BASIC, 276923, 5538, 5538).left_cents == 5539
    assert match_left(SAFE_HARBOR_BASIC, 276923, 13846, 11077) is None  # at the full-match rate
    # Past the 401(a)(17) limit only the pay still in room counts: $1,000 of room earns at most $40.00.
    assert match_left(SAFE_HARBOR_BASIC, 276923, 0, 0, pay_room_cents=100000).left_cents == 4000
    assert match_left([], 276923, 0, 0) is None


def test_a_raise_needs_three_earlier_paychecks_and_3_percent_and_the_suggestion_is_capped():
    assert raise_seen(220000, [200000, 200000], 4400, Decimal(5)) is None
    assert raise_seen(205900, [200000, 200000, 200000], 4118, Decimal(5)) is None  # 2.95%
    seen = raise_seen(220000, [200000, 200000, 200000], 4400, Decimal(5))
    assert (seen.raise_percent, seen.current_percent, seen.suggested_percent) == (Decimal("10.0"), Decimal("2.00"),
                                                                                   Decimal(5))
    # At or above the full-match rate: half the raise on top, up to 15%.
    assert raise_seen(220000, [200000] * 3, 13200, Decimal(5)).suggested_percent == Decimal(11)
