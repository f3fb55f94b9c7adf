"""The notification feed and devices, through the HTTP API: every notification is a feed entry plus one pending push
message in the outbox, stored in the transaction of its cause; each user reads and marks only their own feed."""
import re

import pytest
from sqlalchemy import func, select

from backend.outbox import OutboxMessage
from notifications import templates
from notifications.models import Device, Notification
from tests import scenario
from tests.support.problems import assert_problem

SIX = {"lines": [{"money_type": "pretax", "percent": "6"}]}
IPHONE = {"token": "fcm-token-aaaa:APA91b", "platform": "ios", "app_version": "1.4.0", "locale": "en-US",
          "time_zone": "America/Chicago"}
# What a lock screen must never show: an amount of money, a birth date, an SSN.
PRIVATE = re.compile(r"\$|\d{3}-\d{2}-\d{4}|\b(19|20)\d\d-\d\d-\d\d\b|\d+\.\d\d")


@pytest.fixture
def approval_world(app, client):
    return scenario.World(app, client, requires_approval=True)


def feed(client, headers, **query) -> dict:
    response = client.get("/mobile/v1/me/notifications", headers=headers, query_string=query)
    assert response.status_code == 200, response.json
    return response.json


def messages(plumb, topics=("notification.push", "notification.email")) -> list[OutboxMessage]:
    """The pushes and emails queued for notifications, in line order."""
    with plumb.db.transaction() as session:
        return list(session.scalars(select(OutboxMessage).where(OutboxMessage.topic.in_(topics))
                                    .order_by(OutboxMessage.seq)))


def stored_entries(plumb) -> list[Notification]:
    with plumb.db.transaction() as session:
        return list(session.scalars(select(Notification).order_by(Notification.created_at)))


def user_id_of(client, headers) -> str:
    return client.get("/v1/auth/me", headers=headers).json["id"]


# ---- devices --------------------------------------------------------------------------------------------------------

def test_a_participant_registers_a_device_and_registering_the_same_token_again_updates_it(client, plumb, world):
    first = client.post("/mobile/v1/devices", headers=world.participant, json=IPHONE)
    assert first.status_code == 200, first.json
    assert (first.json["platform"], first.json["time_zone"]) == ("ios", "America/Chicago")
    again = client.post("/mobile/v1/devices", headers=world.participant,
                        json={**IPHONE, "app_version": "1.5.0", "locale": "es-MX"})
    assert again.json["id"] == first.json["id"]
    assert (again.json["app_version"], again.json["locale"]) == ("1.5.0", "es-MX")
    assert "token" not in again.json
    with plumb.db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Device)) == 1


def test_a_token_registered_by_another_user_moves_to_the_new_user(client, plumb, world):
    other = scenario.sign_up(client, world.employees["E2"], "2006-03-10", "4321")
    client.post("/mobile/v1/devices", headers=world.participant, json=IPHONE)
    moved = client.post("/mobile/v1/devices", headers=other, json=IPHONE)
    assert moved.status_code == 200
    with plumb.db.transaction() as session:
        devices = session.scalars(select(Device)).all()
        assert [d.user_id for d in devices] == [user_id_of(client, other)]
    # The first user no longer holds it: removing it is theirs no more.
    assert_problem(client.delete(f"/mobile/v1/devices/{IPHONE['token']}", headers=world.participant), 404)


def test_a_device_is_removed_by_its_id_or_its_token_and_only_by_its_owner(client, plumb, world):
    other = scenario.sign_up(client, world.employees["E2"], "2006-03-10", "4321")
    one = client.post("/mobile/v1/devices", headers=world.participant, json=IPHONE).json
    client.post("/mobile/v1/devices", headers=world.participant, json={**IPHONE, "token": "web-token", "platform": "web"})
    assert_problem(client.delete(f"/mobile/v1/devices/{one['id']}", headers=other), 404)
    assert client.delete(f"/mobile/v1/devices/{one['id']}", headers=world.participant).status_code == 204
    assert client.delete("/mobile/v1/devices/web-token", headers=world.participant).status_code == 204
    assert_problem(client.delete("/mobile/v1/devices/web-token", headers=world.participant), 404)
    with plumb.db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Device)) == 0


def test_a_device_with_an_unknown_platform_is_refused_with_every_problem_listed(client, plumb, world):
    response = client.post("/mobile/v1/devices", headers=world.participant, json={"platform": "blackberry"})
    body = assert_problem(response, 422)
    assert {e["field"] for e in body["errors"]} >= {"token", "platform"}
    with plumb.db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Device)) == 0


# ---- triggers -------------------------------------------------------------------------------------------------------

def test_an_approved_election_puts_one_entry_in_the_participants_feed_and_one_pending_push(
        client, plumb, approval_world):
    world = approval_world
    assert client.post("/mobile/v1/devices", headers=world.participant, json=IPHONE).status_code == 200
    election = client.post("/mobile/v1/elections", headers=world.participant, json=SIX).json
    assert feed(client, world.participant)["data"] == []
    response = client.post(f"/v1/elections/{election['id']}/approve", json={},
                           headers={**world.sponsor, "If-Match": f'"{election["etag"]}"'})
    assert response.status_code == 200, response.json
    page = feed(client, world.participant)
    assert page["unread_count"] == 1
    [entry] = page["data"]
    assert (entry["kind"], entry["category"], entry["title"]) == ("election_approved", "elections", "Election approved")
    assert entry["deep_link"] == {"screen": "election", "election_id": election["id"]}
    assert entry["read_at"] is None
    [push] = messages(plumb)
    user_id = user_id_of(client, world.participant)
    assert (push.topic, push.status, push.recipient) == ("notification.push", "pending", f"user/{user_id}")
    # The push carries the lock-screen texts, the kind and the deep link; the feed's words stay in the feed.
    assert push.payload == {"notification_id": entry["id"], "user_id": user_id, "kind": "election_approved",
                            "title": "Election approved",
                            "text": "Your employer approved your contribution election.",
                            "link": {"screen": "election", "election_id": election["id"]}}


def test_a_rejected_election_tells_the_participant_why_by_email_when_they_have_no_device(
        client, plumb, approval_world):
    world = approval_world
    election = client.post("/mobile/v1/elections", headers=world.participant, json=SIX).json
    response = client.post(f"/v1/elections/{election['id']}/reject", json={"reason": "Above the plan maximum"},
                           headers={**world.sponsor, "If-Match": f'"{election["etag"]}"'})
    assert response.status_code == 200, response.json
    [entry] = feed(client, world.participant)["data"]
    assert entry["kind"] == "election_rejected"
    assert entry["body"].endswith("Above the plan maximum")
    [email] = messages(plumb)
    user_id = user_id_of(client, world.participant)
    assert (email.topic, email.recipient) == ("notification.email", f"email/{user_id}/{entry['id']}")
    # Like the push, the email carries no reason or amount: it says where to read them.
    assert email.payload == {"notification_id": entry["id"], "user_id": user_id, "kind": "election_rejected",
                             "subject": "Election not approved",
                             "text": "Your employer did not approve your contribution election. Open the app to "
                                     "see why.\n\nOpen the Plumb app to see the details."}


def test_a_refused_decision_stores_neither_a_feed_entry_nor_a_push(client, plumb, approval_world):
    """Of a bulk decision, the refused election's savepoint rolls back; the approved one's entry and push stay."""
    world = approval_world
    second = scenario.sign_up(client, world.employees["E2"], "2006-03-10", "4321")
    a = client.post("/mobile/v1/elections", headers=world.participant, json=SIX).json
    b = client.post("/mobile/v1/elections", headers=second, json=SIX).json
    stale = client.post(f"/v1/elections/{b['id']}/approve", json={},
                        headers={**world.sponsor, "If-Match": '"stale"'})
    assert_problem(stale, 412)
    assert stored_entries(plumb) == [] and messages(plumb) == []
    response = client.post(f"/v1/plans/{world.plan_id}/approvals/bulk", headers=world.sponsor, json={
        "decision": "approve", "elections": [{"election_id": a["id"], "etag": a["etag"]},
                                             {"election_id": b["id"], "etag": "stale"}]})
    assert response.status_code == 200, response.json
    assert [e.user_id for e in stored_entries(plumb)] == [user_id_of(client, world.participant)]
    assert feed(client, second)["data"] == []
    assert [p.payload["notification_id"] for p in messages(plumb)] == [e.id for e in stored_entries(plumb)]


def test_an_employee_without_an_account_is_told_nothing(client, plumb, approval_world):
    """The account was unlinked (claimed by the wrong person) before the sponsor approved: nobody to tell."""
    world = approval_world
    election = client.post("/mobile/v1/elections", headers=world.participant, json=SIX).json
    unlinked = client.post(f"/v1/employees/{world.employee['id']}/account/unlink", headers=world.sponsor,
                           json={"reason": "Claimed by the wrong person"})
    assert unlinked.status_code == 200, unlinked.json
    pending = client.get(f"/v1/plans/{world.plan_id}/approvals", headers=world.sponsor).json["data"]
    assert [e["id"] for e in pending] == [election["id"]]
    response = client.post(f"/v1/elections/{election['id']}/approve", json={},
                           headers={**world.sponsor, "If-Match": f'"{pending[0]["etag"]}"'})
    assert response.status_code == 200, response.json
    assert stored_entries(plumb) == [] and messages(plumb) == []


def test_a_pay_run_tells_each_paid_participant_their_contribution_with_the_amount_in_the_feed_only(
        client, plumb, world, connection):
    second = scenario.sign_up(client, world.employees["E2"], "2006-03-10", "4321")
    client.post("/mobile/v1/elections", headers=world.participant, json=SIX)
    before = {e.id for e in stored_entries(plumb)}
    response = scenario.signed_post(client, connection, scenario.pay_run("R1", "2026-12-04", [
        scenario.statement("E1", 276923, pretax=16615), scenario.statement("E2", 119231)]))
    assert response.status_code == 200 and response.json["held"] == 0, response.json
    new = [e for e in stored_entries(plumb) if e.id not in before]
    # E2 has an account but deferred nothing and got no match: nothing to tell.
    assert [(e.kind, e.user_id) for e in new] == [("contribution_posted", user_id_of(client, world.participant))]
    assert feed(client, second)["data"] == []
    entry = feed(client, world.participant)["data"][0]
    assert entry["kind"] == "contribution_posted" and "$166.15" in entry["body"], entry
    assert entry["deep_link"]["screen"] == "balance"
    # No device: the message is an email, and it carries no amount either.
    email = next(p for p in messages(plumb) if p.payload["notification_id"] == entry["id"])
    assert email.status == "pending" and not PRIVATE.search(email.payload["text"] + email.payload["subject"])
    # The push text is the template's; it carries no amount.
    texts = templates.render("contribution_posted", {"pay_run_id": "r", "pay_date": "2026-12-04",
                                                     "deferral_cents": 16615, "match_cents": 8000})
    assert "$166.15" in texts.feed and not PRIVATE.search(texts.push)


def test_the_same_pay_run_posted_again_does_not_tell_anyone_twice(client, plumb, world, connection):
    client.post("/mobile/v1/elections", headers=world.participant, json=SIX)
    run = scenario.pay_run("R1", "2026-12-04", [scenario.statement("E1", 276923, pretax=16615)])
    assert scenario.signed_post(client, connection, run).status_code == 200
    assert scenario.signed_post(client, connection, run).status_code == 200
    contributions = [e for e in stored_entries(plumb) if e.kind == "contribution_posted"]
    assert len(contributions) == 1


def test_no_push_text_of_any_template_carries_an_amount_a_date_of_birth_or_an_ssn():
    params = {"election_id": "ele_1", "version": 2, "reason": "Over $500.00 for 1985-07-19 123-45-6789",
              "pay_run_id": "prn_1", "pay_date": "2026-12-04", "deferral_cents": 123456, "match_cents": 6100,
              "plan_id": "pln_1", "employer_id": "org_1", "count": 10, "held": 3, "warning_id": "cmw_1",
              "plan_name": "Acme Bakery 401(k) Plan", "year": 2026, "status": "at_risk", "tests": ["adp", "acp"],
              "fixes": [{"test": "adp", "qnec_rate": "0.05", "qnec_cost_cents": 60000, "refund_cents": 46154,
                         "catch_up_cents": 107692},
                        {"test": "acp", "narrow": True, "margin": "1.00", "limit": "0.08"}],
              "message_id": "msg_1", "day": "2026-11-23",
              "warnings": [{"plan_name": "Acme Bakery 401(k) Plan", "employer_name": "Acme Bakery LLC",
                            "status": "narrow_margin", "year": 2026, "tests": ["adp"]}],
              "entry_date": "2026-12-01", "full_match_rate": "0.05", "annual_match_cents": 288000, "rate": "0.06",
              "effective_date": "2027-01-01", "opt_out_by": "2026-12-31", "skip_by": "2026-12-23",
              "deferred_cents": 2205000, "limit_cents": 2450000, "catch_up": True,
              "catch_up_cents": 800000, "resume_on": "2027-01-01", "left_cents": 5539, "raise_rate": "0.1",
              "current_rate": "0.02", "suggested_rate": "0.05",
              "invoice_id": "in_1", "amount_cents": 9000, "past_due_on": "2026-12-08"}
    for language in templates.LANGUAGES:
        for kind in templates.TEMPLATES:
            texts = templates.render(kind, params, language)
            for text in (texts.push, texts.title, texts.email):
                assert not PRIVATE.search(text), (kind, language, text)


# ---- reading the feed -----------------------------------------------------------------------------------------------

def many_entries(plumb, user_id: str, count: int) -> list[str]:
    """`count` entries for `user_id`, through the service every trigger uses (one transaction)."""
    from notifications import service
    with plumb.db.transaction() as session:
        ids = [service.notify(session, user_id, "election_approved", {"election_id": f"ele_{n}", "version": n}).id
               for n in range(count)]
    return ids


def test_the_feed_pages_newest_first_without_skipping_or_repeating_and_counts_the_unread(client, plumb, world):
    ids = many_entries(plumb, user_id_of(client, world.participant), 5)
    first = feed(client, world.participant, limit=2)
    second = feed(client, world.participant, limit=2, cursor=first["next_cursor"])
    third = feed(client, world.participant, limit=2, cursor=second["next_cursor"])
    seen = [e["id"] for page in (first, second, third) for e in page["data"]]
    assert sorted(seen) == sorted(ids) and len(seen) == 5 and third["next_cursor"] is None
    stamps = [e["created_at"] for page in (first, second, third) for e in page["data"]]
    assert stamps == sorted(stamps, reverse=True)
    assert first["unread_count"] == 5
    assert_problem(client.get("/mobile/v1/me/notifications?cursor=nonsense", headers=world.participant), 422)


def test_marking_one_read_and_then_all_read_brings_the_unread_count_to_zero(client, plumb, world):
    ids = many_entries(plumb, user_id_of(client, world.participant), 3)
    read = client.post(f"/mobile/v1/me/notifications/{ids[0]}/read", headers=world.participant)
    assert read.status_code == 200 and read.json["read_at"] is not None
    again = client.post(f"/mobile/v1/me/notifications/{ids[0]}/read", headers=world.participant)
    assert again.json["read_at"] == read.json["read_at"]
    assert feed(client, world.participant)["unread_count"] == 2
    everything = client.post("/mobile/v1/me/notifications/read-all", headers=world.participant)
    assert everything.status_code == 200 and everything.json == {"marked": 2, "unread_count": 0}
    assert all(e["read_at"] for e in feed(client, world.participant)["data"])


def test_another_users_entry_is_not_found_and_stays_unread(client, plumb, world):
    other = scenario.sign_up(client, world.employees["E2"], "2006-03-10", "4321")
    [theirs] = many_entries(plumb, user_id_of(client, other), 1)
    assert_problem(client.post(f"/mobile/v1/me/notifications/{theirs}/read", headers=world.participant), 404)
    assert feed(client, world.participant)["data"] == []
    client.post("/mobile/v1/me/notifications/read-all", headers=world.participant)
    assert feed(client, other)["unread_count"] == 1


def test_staff_read_their_own_feed_under_v1(client, plumb, world):
    sponsor_id = user_id_of(client, world.sponsor)
    [entry] = many_entries(plumb, sponsor_id, 1)
    page = client.get("/v1/me/notifications", headers=world.sponsor).json
    assert ([e["id"] for e in page["data"]], page["unread_count"]) == ([entry], 1)
    assert client.post(f"/v1/me/notifications/{entry}/read", headers=world.sponsor).status_code == 200
    assert client.post("/v1/me/notifications/read-all", headers=world.sponsor).json == {"marked": 0, "unread_count": 0}
    assert_problem(client.post(f"/v1/me/notifications/{entry}/read", headers=world.advisor), 404)
    assert_problem(client.get("/v1/me/notifications", headers=world.participant), 403)


def test_the_same_token_registered_by_parallel_requests_makes_one_device_and_no_error(client, plumb, world, served):
    """An app retrying its registration (or two launches at once) sends the same new token twice at the same time:
    one device, both answered 200."""
    from tests.support.served import all_at_once, race_trials
    for trial in range(race_trials()):
        token = f"race-token-{trial}"
        answers = all_at_once(4, lambda i: served.client.post(
            "/mobile/v1/devices", headers=world.participant, json={**IPHONE, "token": token}))
        assert [a.status_code for a in answers] == [200] * 4, [getattr(a, "text", a) for a in answers]
        assert len({a.json()["id"] for a in answers}) == 1
    with plumb.db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Device)) == race_trials()
