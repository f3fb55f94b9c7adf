"""Each user's terms: the language of their notifications, quiet hours in their own time zone (across daylight-saving
changes), and categories muted per channel, changed through the API with every problem listed."""
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from backend.outbox import Dispatcher, OutboxMessage
from notifications.preferences import quiet_until
from tests import scenario
from tests.support.problems import assert_problem

NY = "America/New_York"
NIGHT = (time(21), time(8))
SIX = {"lines": [{"money_type": "pretax", "percent": "6"}]}


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


# ---- quiet hours: worked examples -----------------------------------------------------------------------------------

def test_quiet_hours_across_midnight_end_at_the_local_end_time_in_winter_and_in_summer():
    # 23:00 EST on Jan 14 is 04:00 UTC on Jan 15; 08:00 EST is 13:00 UTC.
    assert quiet_until(utc(2026, 1, 15, 4, 0), NY, NIGHT) == utc(2026, 1, 15, 13, 0)
    # 23:00 EDT on Jul 14 is 03:00 UTC on Jul 15; 08:00 EDT is 12:00 UTC.
    assert quiet_until(utc(2026, 7, 15, 3, 0), NY, NIGHT) == utc(2026, 7, 15, 12, 0)
    # 06:00 local, still before the end: the same morning's 08:00.
    assert quiet_until(utc(2026, 1, 15, 11, 0), NY, NIGHT) == utc(2026, 1, 15, 13, 0)


def test_outside_quiet_hours_nothing_waits():
    assert quiet_until(utc(2026, 1, 15, 17, 0), NY, NIGHT) is None  # 12:00 EST
    assert quiet_until(utc(2026, 1, 15, 13, 0), NY, NIGHT) is None  # 08:00 EST: the end itself is not quiet
    assert quiet_until(utc(2026, 1, 15, 2, 0), NY, None) is None  # quiet hours off
    assert quiet_until(utc(2026, 1, 15, 2, 0), NY, (time(8), time(8))) is None  # an empty span


def test_on_the_night_clocks_spring_forward_the_push_waits_until_eight_daylight_time():
    # 2026-03-08: at 02:00 EST New York jumps to 03:00 EDT. 22:00 EST on Mar 7 is 03:00 UTC on Mar 8.
    held = quiet_until(utc(2026, 3, 8, 3, 0), NY, NIGHT)
    assert held == utc(2026, 3, 8, 12, 0)  # 08:00 EDT, not 13:00 UTC (which would be 09:00 EDT)
    assert held.astimezone(ZoneInfo(NY)).hour == 8
    # The night was an hour shorter: 10 hours from 22:00 to 08:00 became 9.
    assert held - utc(2026, 3, 8, 3, 0) == timedelta(hours=9)


def test_on_the_night_clocks_fall_back_the_push_waits_until_eight_standard_time():
    # 2026-11-01: at 02:00 EDT New York goes back to 01:00 EST. 22:00 EDT on Oct 31 is 02:00 UTC on Nov 1.
    held = quiet_until(utc(2026, 11, 1, 2, 0), NY, NIGHT)
    assert held == utc(2026, 11, 1, 13, 0)  # 08:00 EST
    assert held - utc(2026, 11, 1, 2, 0) == timedelta(hours=11)


def test_an_end_in_the_hour_skipped_in_spring_lands_just_after_the_gap():
    # Quiet from 23:00 to 02:30: on Mar 8 there is no 02:30 in New York; read with the offset before the change
    # (EST, 07:30 UTC), it is 03:30 EDT.
    held = quiet_until(utc(2026, 3, 8, 5, 0), NY, (time(23), time(2, 30)))  # 00:00 EST
    assert held == utc(2026, 3, 8, 7, 30)


def test_quiet_hours_within_a_day_and_in_another_zone():
    # Tokyo has no daylight saving: 13:00–15:00 JST is 04:00–06:00 UTC.
    assert quiet_until(utc(2026, 6, 1, 4, 30), "Asia/Tokyo", (time(13), time(15))) == utc(2026, 6, 1, 6, 0)
    assert quiet_until(utc(2026, 6, 1, 6, 30), "Asia/Tokyo", (time(13), time(15))) is None


# ---- through the API ------------------------------------------------------------------------------------------------

@pytest.fixture
def approval_world(app, client):
    return scenario.World(app, client, requires_approval=True)


def settings(client, headers, prefix="/mobile/v1") -> dict:
    response = client.get(f"{prefix}/me/notification-settings", headers=headers)
    assert response.status_code == 200, response.json
    return response.json


def change(client, headers, body, prefix="/mobile/v1"):
    return client.patch(f"{prefix}/me/notification-settings", headers=headers, json=body)


def register(client, headers, locale="en-US", time_zone="America/Chicago") -> None:
    response = client.post("/mobile/v1/devices", headers=headers, json={
        "token": f"tok-{locale}-{time_zone}", "platform": "android", "locale": locale, "time_zone": time_zone})
    assert response.status_code == 200, response.json


def approve(client, world) -> None:
    election = client.post("/mobile/v1/elections", headers=world.participant, json=SIX).json
    response = client.post(f"/v1/elections/{election['id']}/approve", json={},
                           headers={**world.sponsor, "If-Match": f'"{election["etag"]}"'})
    assert response.status_code == 200, response.json


def queued(plumb) -> list[OutboxMessage]:
    with plumb.db.transaction() as session:
        return list(session.scalars(select(OutboxMessage).where(OutboxMessage.topic.in_(("notification.push", "notification.email")))
                                    .order_by(OutboxMessage.seq)))


def test_the_defaults_follow_the_device_and_nothing_is_muted(client, world):
    register(client, world.participant, locale="es-MX", time_zone="America/Chicago")
    body = settings(client, world.participant)
    assert (body["language"], body["language_chosen"]) == ("es", False)
    assert (body["time_zone"], body["time_zone_chosen"]) == ("America/Chicago", False)
    assert body["quiet_hours"] == {"enabled": False, "start": "21:00", "end": "08:00"}
    assert all(c["push"] and c["email"] for c in body["categories"])
    notices = next(c for c in body["categories"] if c["category"] == "notices")
    assert (notices["mutable"], notices["urgent"]) == (False, True)


def test_bad_settings_are_refused_with_every_problem_listed_and_nothing_changes(client, world):
    before = settings(client, world.participant)
    response = change(client, world.participant, {
        "language": "fr", "time_zone": "Mars/Olympus", "quiet_hours": {"enabled": True, "start": "25:00"},
        "categories": [{"category": "notices", "push": False}, {"category": "gossip", "email": False}]})
    problem = assert_problem(response, 422)
    assert {e["field"] for e in problem["errors"]} == {"language", "time_zone", "quiet_hours.start",
                                                       "categories.0.category", "categories.1.category"}
    assert settings(client, world.participant) == before


def test_a_spanish_speaker_is_told_in_spanish_and_choosing_english_changes_what_follows(
        client, plumb, approval_world):
    world = approval_world
    register(client, world.participant, locale="es-US")
    approve(client, world)
    [entry] = client.get("/mobile/v1/me/notifications", headers=world.participant).json["data"]
    assert entry["title"] == "Elección aprobada"
    [push] = queued(plumb)
    assert push.payload["text"] == "Su empleador aprobó su elección de aportación."
    assert change(client, world.participant, {"language": "en"}).status_code == 200
    approve(client, world)
    newest = client.get("/mobile/v1/me/notifications", headers=world.participant).json["data"][0]
    assert newest["title"] == "Election approved"


def test_a_muted_category_still_reaches_the_feed_but_not_the_phone_or_the_inbox(client, plumb, approval_world):
    world = approval_world
    register(client, world.participant)
    response = change(client, world.participant, {"categories": [{"category": "elections", "push": False}]})
    assert response.status_code == 200, response.json
    approve(client, world)
    assert [e["kind"] for e in client.get("/mobile/v1/me/notifications", headers=world.participant).json["data"]] \
        == ["election_approved"]
    assert queued(plumb) == []  # a participant with a device gets no email either


def test_a_push_in_quiet_hours_waits_in_the_outbox_until_they_end_in_the_users_time_zone(
        client, plumb, approval_world):
    world = approval_world
    register(client, world.participant, time_zone="America/Denver")
    # Quiet hours around this very moment, in Denver.
    now = datetime.now(ZoneInfo("America/Denver"))
    start, end = (now - timedelta(hours=1)).time(), (now + timedelta(hours=2)).time()
    response = change(client, world.participant, {"quiet_hours": {
        "enabled": True, "start": start.strftime("%H:%M"), "end": end.strftime("%H:%M")}})
    assert response.status_code == 200, response.json
    approve(client, world)
    [push] = queued(plumb)
    expected = quiet_until(datetime.now(UTC), "America/Denver",
                           (time.fromisoformat(start.strftime("%H:%M")), time.fromisoformat(end.strftime("%H:%M"))))
    assert abs(push.next_attempt_at - expected) < timedelta(minutes=2)
    dispatcher = Dispatcher(plumb.db, plumb.deliverers, base_delay=0)
    try:
        dispatcher.run_once()
    finally:
        dispatcher.close()
    [push] = queued(plumb)
    assert (push.status, push.attempts) == ("pending", 0)  # not sent, not even tried
    # The feed has it at once.
    assert client.get("/mobile/v1/me/notifications", headers=world.participant).json["unread_count"] == 1


def test_staff_have_the_same_settings_under_v1(client, world):
    response = change(client, world.sponsor, {"time_zone": "America/Los_Angeles",
                                              "categories": [{"category": "approvals", "email": False}]}, "/v1")
    assert response.status_code == 200, response.json
    body = settings(client, world.sponsor, "/v1")
    assert (body["time_zone"], body["time_zone_chosen"]) == ("America/Los_Angeles", True)
    approvals = next(c for c in body["categories"] if c["category"] == "approvals")
    assert (approvals["push"], approvals["email"]) == (True, False)


def test_a_legal_notice_in_quiet_hours_goes_at_once_on_its_own_line_and_is_not_held_behind_a_waiting_push(
        client, plumb, approval_world):
    from notifications import service
    world = approval_world
    register(client, world.participant, time_zone="UTC")
    now = datetime.now(UTC)
    quiet_now = {"enabled": True, "start": f"{(now - timedelta(hours=1)):%H:%M}",
                 "end": f"{(now + timedelta(hours=2)):%H:%M}"}
    assert change(client, world.participant, {"quiet_hours": quiet_now}).status_code == 200
    approve(client, world)  # an ordinary push: waits
    user_id = client.get("/v1/auth/me", headers=world.participant).json["id"]
    with plumb.db.transaction() as session:
        service.notify(session, user_id, "eligible_to_enroll", {
            "entry_date": "2027-01-01", "full_match_rate": "0.05", "annual_match_cents": 288000})
    waiting, notice = queued(plumb)
    assert waiting.next_attempt_at > datetime.now(UTC) + timedelta(minutes=1)
    assert notice.next_attempt_at <= datetime.now(UTC)
    assert notice.recipient == f"user/{user_id}/urgent" != waiting.recipient
    dispatcher = Dispatcher(plumb.db, plumb.deliverers, base_delay=0)
    try:
        dispatcher.run_once()
    finally:
        dispatcher.close()
    waiting, notice = queued(plumb)
    assert (waiting.status, notice.status) == ("pending", "delivered")
