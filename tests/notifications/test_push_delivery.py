"""Pushes leave the outbox for the user's devices through the real firebase-admin SDK (to the local fake FCM): the
approval reaches the phone with its deep link, a token FCM reports gone is removed, and FCM asking to wait keeps
the push for later. The feed entry stays whatever happens to the push."""
import json
from functools import partial

import pytest
from sqlalchemy import select

from backend.outbox import Dispatcher, OutboxMessage
from notifications.delivery import deliver_push
from notifications.models import Device
from notifications.service import PUSH_TOPIC
from tests import scenario
from tests.support.outbox import drain


@pytest.fixture
def outbox(plumb, sender):
    """The app's dispatcher, its push deliverer given the FCM sender that talks to the fake (the SDK is real)."""
    deliverers = {**plumb.deliverers, PUSH_TOPIC: partial(deliver_push, db=plumb.db, sender=sender)}
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


def approve_an_election(client, world) -> dict:
    election = client.post("/mobile/v1/elections", headers=world.participant,
                           json={"lines": [{"money_type": "pretax", "percent": "6"}]}).json
    approved = client.post(f"/v1/elections/{election['id']}/approve", json={},
                           headers={**world.sponsor, "If-Match": f'"{election["etag"]}"'})
    assert approved.status_code == 200, approved.json
    return election


def push_statuses(plumb) -> list[str]:
    with plumb.db.transaction() as session:
        return list(session.scalars(select(OutboxMessage.status).where(OutboxMessage.topic == PUSH_TOPIC)))


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
