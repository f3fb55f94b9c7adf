"""The whole channel, as the issue's story: a participant registers a phone, enrolls, is approved, payroll confirms
the change, a pay run posts; the (fake) FCM receives the approval, confirmation and contribution pushes in that order
with their deep links, through the real firebase-admin SDK; the feed shows the same with amounts; a participant whose
phone speaks Spanish gets all of it in Spanish."""
import json
from functools import partial

from backend.outbox import Dispatcher
from notifications.delivery import deliver_push
from notifications.service import PUSH_TOPIC
from tests import scenario
from tests.support.outbox import drain

SIX = {"lines": [{"money_type": "pretax", "percent": "6"}]}
SOFIA = scenario.census_row("E3", "1980-05-02", "2020-01-06", "555-12-3434", pay="62000.00", first_name="Sofia")


def test_enroll_approve_confirm_and_pay_reach_the_phone_in_order_and_the_feed_with_amounts_in_each_language(
        app, client, plumb, receiver, fake_fcm, sender):
    world = scenario.World(app, client, requires_approval=True)
    connection = scenario.connect_payroll(client, world.sponsor, world.employer_id, endpoint_url=receiver.url)
    receiver.start(connection["secret"])
    maria = world.participant
    assert scenario.upload_csv(client, world.sponsor, world.employer_id, [SOFIA]).status_code == 200
    e3 = scenario.employees_by_external_id(client, world.sponsor, world.employer_id)["E3"]
    sofia = scenario.sign_up(client, e3, "1980-05-02", "3434")
    phones = {"maria-phone": (maria, "en-US"), "sofia-phone": (sofia, "es-MX")}
    for token, (headers, locale) in phones.items():
        response = client.post("/mobile/v1/devices", headers=headers, json={
            "token": token, "platform": "android", "locale": locale, "time_zone": "America/Denver"})
        assert response.status_code == 200, response.json

    # Enroll; the sponsor approves both from the queue.
    elections = [client.post("/mobile/v1/elections", headers=h, json=SIX).json for h in (maria, sofia)]
    for election in elections:
        approved = client.post(f"/v1/elections/{election['id']}/approve", json={},
                               headers={**world.sponsor, "If-Match": f'"{election["etag"]}"'})
        assert approved.status_code == 200, approved.json

    dispatcher = Dispatcher(plumb.db, {**plumb.deliverers, PUSH_TOPIC: partial(deliver_push, db=plumb.db,
                                                                                sender=sender)}, base_delay=0)
    try:
        # The worker sends the changes to payroll (the receiver acknowledges them: "confirmed") and the pushes.
        drain(plumb, dispatcher)
        assert len(receiver.received()["applied"]) == 2
        posted = scenario.signed_post(client, connection, scenario.pay_run("R1", "2026-12-04", [
            scenario.statement("E1", 276923, pretax=16615), scenario.statement("E3", 238462, pretax=14308)]))
        assert posted.status_code == 200 and posted.json["held"] == 0, posted.json
        drain(plumb, dispatcher)
    finally:
        dispatcher.close()

    received = fake_fcm.received()
    pushed = {token: [r["message"] for r in received if r["message"]["token"] == token] for token in phones}
    for token, messages in pushed.items():
        kinds = [m["data"]["kind"] for m in messages]
        assert kinds == ["election_approved", "change_confirmed", "contribution_posted"], (token, kinds)
        screens = [json.loads(m["data"]["link"])["screen"] for m in messages]
        assert screens == ["election", "election", "balance"]
        # A lock screen shows no amount.
        assert not any("$" in m["notification"]["body"] + m["notification"]["title"] for m in messages)
    assert [m["notification"]["title"] for m in pushed["maria-phone"]] == [
        "Election approved", "Change confirmed", "Contribution posted"]
    assert [m["notification"]["title"] for m in pushed["sofia-phone"]] == [
        "Elección aprobada", "Cambio confirmado", "Aportación registrada"]

    # The feed has the same entries, newest first, the contribution with its amount in the reader's language.
    maria_feed = client.get("/mobile/v1/me/notifications", headers=maria).json["data"]
    assert [e["kind"] for e in maria_feed][:3] == ["contribution_posted", "change_confirmed", "election_approved"]
    assert "$166.15" in maria_feed[0]["body"] and "December 4, 2026" in maria_feed[0]["body"]
    sofia_feed = client.get("/mobile/v1/me/notifications", headers=sofia).json["data"]
    assert sofia_feed[0]["kind"] == "contribution_posted"
    assert "$143.08" in sofia_feed[0]["body"] and "4 de diciembre de 2026" in sofia_feed[0]["body"]
    # Each push names its feed entry, so the app opens the entry the push was about.
    ids = {e["id"] for e in maria_feed}
    assert {m["data"]["notification_id"] for m in pushed["maria-phone"]} <= ids
