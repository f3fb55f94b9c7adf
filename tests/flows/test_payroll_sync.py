"""Issue 4's story: a change made on the phone reaches a payroll provider (a real HTTP server in its own process)
by signed API, in order, exactly once in effect, whatever fails on the way."""
import json
import os
import signal
import subprocess
import time

import pytest

from tests import scenario
from tests.support.outbox import dispatcher, drain, elections_in_rounds, worker_process
from tests.support.receivers import connected_world

def test_change_on_the_phone_is_confirmed_by_payroll(app, client, plumb, receiver):
    world = connected_world(app, client, receiver, requires_approval=True)
    first = client.post("/mobile/v1/elections", headers=world.participant,
                        json={"lines": [{"money_type": "pretax", "percent": "6"}]}).json
    client.post(f"/v1/elections/{first['id']}/approve", json={}, headers={**world.sponsor, "If-Match": first["etag"]})
    assert client.get("/mobile/v1/elections", headers=world.participant).json[0]["payroll"]["stage"] == "approved"
    drain(plumb)
    second = client.post("/mobile/v1/elections", headers=world.participant,
                         json={"lines": [{"money_type": "pretax", "percent": "9"}]}).json
    approved = client.post(f"/v1/elections/{second['id']}/approve", json={},
                           headers={**world.sponsor, "If-Match": second["etag"]})
    assert approved.status_code == 200
    drain(plumb)

    applied = receiver.received()["applied"]
    assert [(m["employee_id"], m["lines"][0]["percent"], m["effective_date"]) for m in applied] == [
        (world.employee["id"], "6", "2026-12-04"), (world.employee["id"], "9", "2026-12-04")]
    assert applied[0]["external_id"] == "E1" and applied[0]["type"] == "deferral_change"
    stages = [e["payroll"]["stage"] for e in client.get("/mobile/v1/elections", headers=world.participant).json]
    assert stages == ["confirmed", "confirmed"]


def test_failures_are_retried_in_order_and_dead_letters_can_be_retried(app, client, plumb, receiver):
    world = connected_world(app, client, receiver, requires_approval=False)
    receiver.mode("fail")
    for percent in ("4", "5", "6"):
        client.post("/mobile/v1/elections", headers=world.participant,
                    json={"lines": [{"money_type": "pretax", "percent": percent}]})
    d = dispatcher(plumb, max_attempts=3)
    drain(plumb, d)
    # The first change died after three tries; the later ones wait behind it rather than overtake it.
    dead = client.get(f"/v1/employers/{world.employer_id}/payroll-messages", headers=world.sponsor).json["data"]
    assert len(dead) == 1 and dead[0]["attempts"] == 3 and "HTTP 500" in dead[0]["last_error"]
    pending = client.get(f"/v1/employers/{world.employer_id}/payroll-messages?status=pending", headers=world.sponsor).json["data"]
    assert [m["attempts"] for m in pending] == [0, 0]
    history = client.get("/mobile/v1/elections", headers=world.participant).json
    assert [e["payroll"]["stage"] for e in history] == ["approved", "approved", "failed"]
    assert receiver.received()["applied"] == []

    receiver.mode("ok")
    retried = client.post(f"/v1/payroll-messages/{dead[0]['id']}/retry", headers=world.sponsor)
    assert retried.status_code == 200 and retried.json["status"] == "pending"
    drain(plumb, d)
    assert [m["lines"][0]["percent"] for m in receiver.received()["applied"]] == ["4", "5", "6"]
    assert client.post(f"/v1/payroll-messages/{dead[0]['id']}/retry", headers=world.sponsor).status_code == 409


def test_a_transient_failure_is_retried_with_backoff(app, client, plumb, receiver):
    world = connected_world(app, client, receiver, requires_approval=False)
    receiver.mode("fail", count=2)
    client.post("/mobile/v1/elections", headers=world.participant, json={"lines": [{"money_type": "roth", "percent": "3"}]})
    d = dispatcher(plumb, base_delay=0.05)
    deadline = time.monotonic() + 10
    while not receiver.received()["applied"]:
        assert time.monotonic() < deadline
        d.run_once()
        time.sleep(0.02)
    received = receiver.received()
    assert len(received["deliveries"]) == 3 and len(received["applied"]) == 1


def test_the_pull_feed(app, client, plumb):
    world = scenario.World(app, client, requires_approval=False)
    connection = scenario.connect_payroll(client, world.sponsor, world.employer_id, provider="pull")
    election = client.post("/mobile/v1/elections", headers=world.participant,
                           json={"lines": [{"money_type": "pretax", "percent": "7"}]}).json
    drain(plumb)

    def signed_get(path):
        from datetime import datetime, timezone

        from standardwebhooks.webhooks import Webhook

        now = datetime.now(timezone.utc)
        return {"plumb-connection-id": connection["id"], "webhook-id": f"pull-{time.monotonic_ns()}",
                "webhook-timestamp": str(int(now.timestamp()))}, Webhook(connection["secret"]), now

    headers, webhook, now = signed_get("/v1/payroll/deferral-changes")
    headers["webhook-signature"] = webhook.sign(headers["webhook-id"], now, "{}")
    page = client.get("/v1/payroll/deferral-changes", headers=headers)
    assert page.status_code == 200, page.json
    assert [(c["election_id"], c["acknowledged"]) for c in page.json["data"]] == [(election["id"], False)]
    assert client.get("/v1/payroll/deferral-changes", headers={**headers, "webhook-signature": "v1,AAAA"}).status_code == 401

    body = json.dumps({"ids": [page.json["data"][0]["id"]]})
    ack_headers = {**headers, "webhook-id": "ack-1"}
    ack_headers["webhook-signature"] = webhook.sign("ack-1", now, body)
    ack = client.post("/v1/payroll/deferral-changes/ack", data=body, content_type="application/json", headers=ack_headers)
    assert ack.status_code == 200 and ack.json == {"acknowledged": 1}
    stage = client.get("/mobile/v1/elections", headers=world.participant).json[0]["payroll"]["stage"]
    assert stage == "confirmed"


@pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgresql"),
                    reason="several workers share the outbox on PostgreSQL (FOR UPDATE SKIP LOCKED)")
def test_two_workers_and_a_killed_one_deliver_everything_once_in_order(app, client, plumb, receiver, database_url):
    world = connected_world(app, client, receiver, requires_approval=False)
    participants = [world.participant, scenario.sign_up(client, world.employees["E2"], "2006-03-10", "4321")]
    expected = elections_in_rounds(client, participants, 6)
    receiver.mode("slow", seconds=0.3)
    command, env = worker_process(plumb, database_url, "--base-delay", "0.05", "--lease", "4")
    first = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    time.sleep(0.8)
    first.send_signal(signal.SIGKILL)  # mid-delivery: what it claimed is taken over when its lease runs out
    first.wait(10)
    workers = [subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL) for _ in range(2)]
    try:
        deadline = time.monotonic() + 60
        while len(receiver.received()["applied"]) < 12:
            assert time.monotonic() < deadline, receiver.received()
            time.sleep(0.2)
    finally:
        for worker in workers:
            worker.terminate()
            worker.wait(10)
    received = receiver.received()
    by_employee: dict[str, list[str]] = {}
    for message in received["applied"]:
        by_employee.setdefault(message["employee_id"], []).append(message["lines"][0]["percent"])
    assert by_employee == expected  # each change once, in the order made, per employee
    assert received["max_concurrent_same_id"] == 1  # never delivered twice at the same time


def test_a_receiver_that_is_down_gets_the_change_when_it_is_back(app, client, plumb, receiver):
    world = connected_world(app, client, receiver, requires_approval=False)
    receiver.stop()
    client.post("/mobile/v1/elections", headers=world.participant, json={"lines": [{"money_type": "pretax", "percent": "8"}]})
    d = dispatcher(plumb, max_attempts=5)
    d.run_once()
    waiting = client.get(f"/v1/employers/{world.employer_id}/payroll-messages?status=pending", headers=world.sponsor).json["data"]
    assert waiting[0]["attempts"] == 1 and waiting[0]["last_error"] == "connection refused"
    assert client.get("/mobile/v1/elections", headers=world.participant).json[0]["payroll"]["stage"] == "sent"
    receiver.start(receiver.secret)
    drain(plumb, d)
    assert [m["lines"][0]["percent"] for m in receiver.received()["applied"]] == ["8"]


def test_provider_events_are_verified_and_acted_on_once(app, client, plumb):
    from datetime import datetime, timezone

    from standardwebhooks.webhooks import Webhook

    world = scenario.World(app, client, requires_approval=False)
    connection = scenario.connect_payroll(client, world.sponsor, world.employer_id, provider="pull")
    client.post("/mobile/v1/elections", headers=world.participant, json={"lines": [{"money_type": "pretax", "percent": "5"}]})
    drain(plumb)
    message = client.get(f"/v1/employers/{world.employer_id}/payroll-messages?status=awaiting_pull",
                         headers=world.sponsor).json["data"][0]
    body = json.dumps({"type": "deferral_change.applied", "data": {"message_id": message["id"]}})

    def post(event_id, signature_body=body):
        now = datetime.now(timezone.utc)
        return client.post(f"/v1/payroll/connections/{connection['id']}/events", data=body,
                           content_type="application/json", headers={
                               "webhook-id": event_id, "webhook-timestamp": str(int(now.timestamp())),
                               "webhook-signature": Webhook(connection["secret"]).sign(event_id, now, signature_body)})

    assert post("evt_1", signature_body=body + " ").status_code == 401
    assert client.get("/mobile/v1/elections", headers=world.participant).json[0]["payroll"]["stage"] == "sent"
    first = post("evt_1")
    assert first.status_code == 200 and first.json == {"event_id": "evt_1", "duplicate": False,
                                                       "outcome": f"confirmed {message['id']}"}
    assert post("evt_1").json["duplicate"] is True
    assert client.get("/mobile/v1/elections", headers=world.participant).json[0]["payroll"]["stage"] == "confirmed"


def test_a_timed_out_delivery_is_retried_and_applied_once(app, client, plumb, receiver, monkeypatch):
    world = connected_world(app, client, receiver, requires_approval=False)
    monkeypatch.setattr(plumb.payroll_adapters["plumb_webhook"], "timeout", 0.3)
    receiver.mode("slow", seconds=1.0, count=1)  # the first answer comes after Plumb stopped waiting
    client.post("/mobile/v1/elections", headers=world.participant,
                json={"lines": [{"money_type": "roth", "percent": "4"}]})
    d = dispatcher(plumb)
    d.run_once()
    pending = client.get(f"/v1/employers/{world.employer_id}/payroll-messages?status=pending",
                         headers=world.sponsor).json["data"]
    assert pending[0]["last_error"] == "timed out"
    time.sleep(1.0)  # the slow request finishes on the receiver's side: it did apply the change
    drain(plumb, d)
    received = receiver.received()
    assert len(received["deliveries"]) == 2 and len(received["applied"]) == 1  # twice sent, once in effect
    assert client.get("/mobile/v1/elections", headers=world.participant).json[0]["payroll"]["stage"] == "confirmed"


def test_finch_webhooks_are_verified_with_finchs_own_scheme(app, client, plumb):
    import base64
    from datetime import datetime, timezone

    from standardwebhooks.webhooks import Webhook

    world = scenario.World(app, client, requires_approval=False)
    secret = base64.b64encode(b"finch-webhook-secret-0123456789ab").decode()
    created = client.post(f"/v1/employers/{world.employer_id}/payroll-connections", headers=world.sponsor, json={
        "provider": "finch", "endpoint_url": "http://127.0.0.1:9", "config": {"access_token": "tok", "webhook_secret": secret}})
    assert created.status_code == 201
    body = json.dumps({"type": "job.benefit_enroll.completed", "data": {"job_id": "job_1"}})
    now = datetime.now(timezone.utc)

    def post(signature):
        return client.post(f"/v1/payroll/connections/{created.json['id']}/events", data=body,
                           content_type="application/json",
                           headers={"finch-event-id": "fin_evt_1", "finch-timestamp": str(int(now.timestamp())),
                                    "finch-signature": signature})

    assert post("v1,AAAA").status_code == 401
    signed = post(Webhook(secret).sign("fin_evt_1", now, body))
    assert signed.status_code == 200 and signed.json["duplicate"] is False
    assert post(Webhook(secret).sign("fin_evt_1", now, body)).json["duplicate"] is True
