"""Pushes leave the outbox for the user's devices through the real firebase-admin SDK (to the local fake FCM): the
approval reaches the phone with its deep link, a token FCM reports gone is removed, and FCM asking to wait keeps
the push for later. The feed entry stays whatever happens to the push. The dispatcher hands the pushes over in
loads (one send_each call for many users), and each push's fate is still its own."""
import json
from functools import partial

import pytest
from sqlalchemy import select

from backend.outbox import BatchDeliverer, Dispatcher, OutboxMessage
from notifications import push
from notifications.delivery import deliver_pushes
from notifications.models import Device
from notifications.service import PUSH_TOPIC
from tests import scenario
from tests.support.outbox import drain


class CountingCalls:
    """The FCM sender as it is, counting its calls and the pushes in each."""

    def __init__(self, sender):
        self.sender, self.calls = sender, []

    def send(self, messages):
        self.calls.append(len(messages))
        return self.sender.send(messages)


@pytest.fixture
def calls(sender):
    return CountingCalls(sender)


@pytest.fixture
def outbox(plumb, calls):
    """The app's dispatcher, its push deliverer (in loads, as wired) given the FCM sender that talks to the fake
    (the SDK is real)."""
    deliverers = {**plumb.deliverers, PUSH_TOPIC: BatchDeliverer(partial(deliver_pushes, db=plumb.db, sender=calls),
                                                                 max_batch=push.BATCH_SIZE)}
    dispatcher = Dispatcher(plumb.db, deliverers, base_delay=0)
    yield dispatcher
    dispatcher.close()


@pytest.fixture
def approval_world(app, client):
    return scenario.World(app, client, requires_approval=True)


def register(client, headers, token: str) -> None:
    response = client.post("/mobile/v1/devices", headers=headers, json={
        "token": token, "platform": "ios", "app_version": "1.4.2", "locale": "en-US", "time_zone": "America/Chicago"})
    assert response.status_code == 200, response.json


def approve_an(client, world, participant: dict) -> dict:
    """The participant elects 6% pre-tax and the sponsor approves it: the election."""
    election = client.post("/mobile/v1/elections", headers=participant,
                           json={"lines": [{"money_type": "pretax", "percent": "6"}]}).json
    approved = client.post(f"/v1/elections/{election['id']}/approve", json={},
                           headers={**world.sponsor, "If-Match": f'"{election["etag"]}"'})
    assert approved.status_code == 200, approved.json
    return election


def approve_an_election(client, world) -> dict:
    return approve_an(client, world, world.participant)


def push_statuses(plumb) -> list[str]:
    with plumb.db.transaction() as session:
        return list(session.scalars(select(OutboxMessage.status).where(OutboxMessage.topic == PUSH_TOPIC)))


def pushes_by_user(plumb) -> dict[str, list[tuple[str, int]]]:
    """Each user's pushes in line order: (status, attempts)."""
    with plumb.db.transaction() as session:
        found: dict[str, list[tuple[str, int]]] = {}
        for message in session.scalars(select(OutboxMessage).where(OutboxMessage.topic == PUSH_TOPIC)
                                       .order_by(OutboxMessage.seq)):
            found.setdefault(message.payload["user_id"], []).append((message.status, message.attempts))
        return found


@pytest.fixture
def two_participants(client, approval_world):
    """The world's participant and a second one (E2), signed up."""
    second = scenario.sign_up(client, approval_world.employees["E2"], "2006-03-10", "4321")
    return approval_world.participant, second


def test_an_approval_reaches_each_of_the_participants_phones_with_its_deep_link(client, plumb, approval_world,
                                                                                fake_fcm, outbox):
    register(client, approval_world.participant, "phone-token")
    register(client, approval_world.participant, "tablet-token")
    election = approve_an_election(client, approval_world)
    drain(plumb, outbox)
    received = fake_fcm.received()
    assert sorted(r["message"]["token"] for r in received) == ["phone-token", "tablet-token"]
    message = received[0]["message"]
    assert message["notification"] == {"title": "Election approved",
                                       "body": "Your employer approved your contribution election."}
    assert json.loads(message["data"]["link"]) == {"screen": "election", "election_id": election["id"]}
    assert message["data"]["kind"] == "election_approved" and message["data"]["notification_id"].startswith("ntf_")
    assert push_statuses(plumb) == ["delivered"]


def test_a_token_fcm_reports_gone_is_removed_and_the_other_device_still_gets_the_push(client, plumb, approval_world,
                                                                                     fake_fcm, outbox):
    register(client, approval_world.participant, "old-phone")
    register(client, approval_world.participant, "new-phone")
    fake_fcm.answer(**{"old-phone": "UNREGISTERED"})
    approve_an_election(client, approval_world)
    drain(plumb, outbox)
    with plumb.db.transaction() as session:
        assert list(session.scalars(select(Device.token))) == ["new-phone"]
    assert push_statuses(plumb) == ["delivered"]


def test_fcm_asking_to_wait_keeps_the_push_for_later_and_the_feed_entry_stays(client, plumb, approval_world,
                                                                             fake_fcm, outbox):
    register(client, approval_world.participant, "busy-phone")
    fake_fcm.answer(**{"busy-phone": "UNAVAILABLE"})
    approve_an_election(client, approval_world)
    outbox.run_once()
    assert push_statuses(plumb) == ["pending"]
    feed = client.get("/mobile/v1/me/notifications", headers=approval_world.participant).json
    assert [e["kind"] for e in feed["data"]] == ["election_approved"]
    fake_fcm.answer()
    drain(plumb, outbox)
    assert push_statuses(plumb) == ["delivered"]


def test_a_push_whose_device_was_removed_before_it_went_out_is_settled_and_the_entry_stays_in_the_feed(
        client, plumb, approval_world, outbox):
    device = client.post("/mobile/v1/devices", headers=approval_world.participant,
                         json={"token": "tok-signed-out", "platform": "ios"}).json
    approve_an_election(client, approval_world)
    assert client.delete(f"/mobile/v1/devices/{device['id']}", headers=approval_world.participant).status_code == 204
    drain(plumb, outbox)
    assert push_statuses(plumb) == ["delivered"]


def test_the_pushes_of_several_participants_reach_fcm_in_one_send_each_call_each_to_its_own_devices(
        client, plumb, approval_world, two_participants, fake_fcm, outbox, calls):
    first, second = two_participants
    register(client, first, "first-phone")
    register(client, first, "first-tablet")
    register(client, second, "second-phone")
    elections = [approve_an(client, approval_world, headers) for headers in (first, second)]
    outbox.run_once()
    assert calls.calls == [3]  # one load, one call: both users' three devices
    links = {r["message"]["token"]: json.loads(r["message"]["data"]["link"])["election_id"]
             for r in fake_fcm.received()}
    assert links == {"first-phone": elections[0]["id"], "first-tablet": elections[0]["id"],
                     "second-phone": elections[1]["id"]}
    assert push_statuses(plumb) == ["delivered", "delivered"]


def test_in_a_load_only_the_push_fcm_asked_to_wait_is_tried_again_and_the_others_are_not_sent_twice(
        client, plumb, approval_world, two_participants, fake_fcm, outbox, calls):
    first, second = two_participants
    register(client, first, "busy-phone")
    register(client, second, "fine-phone")
    fake_fcm.answer(**{"busy-phone": {"error": "QUOTA_EXCEEDED", "retry_after": "30"}})
    for headers in two_participants:
        approve_an(client, approval_world, headers)
    outbox.run_once()
    assert sorted(pushes_by_user(plumb).values()) == [[("delivered", 1)], [("pending", 1)]]
    fake_fcm.answer()  # FCM has room again (and the fake forgets what it received)
    drain(plumb, outbox)
    assert [r["message"]["token"] for r in fake_fcm.received()] == ["busy-phone"]
    assert sorted(pushes_by_user(plumb).values()) == [[("delivered", 1)], [("delivered", 2)]]


def test_in_a_load_a_gone_token_is_removed_and_a_push_refused_on_every_device_is_settled_without_holding_the_next(
        client, plumb, approval_world, two_participants, fake_fcm, outbox):
    first, second = two_participants
    register(client, first, "old-phone")
    register(client, first, "new-phone")
    register(client, second, "odd-phone")
    fake_fcm.answer(**{"old-phone": "UNREGISTERED", "odd-phone": "INVALID_PAYLOAD"})
    for headers in two_participants:
        approve_an(client, approval_world, headers)
    drain(plumb, outbox)
    assert sorted(pushes_by_user(plumb).values()) == [[("delivered", 1)], [("delivered", 1)]]
    with plumb.db.transaction() as session:
        # The refusal was about the message, not the token: that device stays.
        assert sorted(session.scalars(select(Device.token))) == ["new-phone", "odd-phone"]
    feed = client.get("/mobile/v1/me/notifications", headers=second).json
    assert [e["kind"] for e in feed["data"]] == ["election_approved"]
    # The next push to the same user is not held behind the refused one.
    fake_fcm.answer()
    approve_an(client, approval_world, second)
    drain(plumb, outbox)
    assert [r["message"]["token"] for r in fake_fcm.received()] == ["odd-phone"]


def test_a_participants_second_push_waits_for_the_first_whatever_the_load(client, plumb, approval_world, fake_fcm,
                                                                           outbox):
    register(client, approval_world.participant, "phone")
    earlier = approve_an(client, approval_world, approval_world.participant)
    later = approve_an(client, approval_world, approval_world.participant)
    outbox.run_once()
    assert [json.loads(r["message"]["data"]["link"])["election_id"] for r in fake_fcm.received()] == [earlier["id"]]
    drain(plumb, outbox)
    assert [json.loads(r["message"]["data"]["link"])["election_id"] for r in fake_fcm.received()] == [
        earlier["id"], later["id"]]
    assert push_statuses(plumb) == ["delivered", "delivered"]
