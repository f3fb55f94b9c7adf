"""`plumb worker` as an operator runs it, killed with SIGKILL while it holds claims: another worker takes them over
once their lease runs out, and every change reaches payroll once, in order (SQLite and PostgreSQL alike)."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select

from backend.outbox import OutboxMessage
from tests import scenario
from tests.flows.test_payroll_sync import connected_world, receiver  # noqa: F401 (the receiver fixture)

ROOT = Path(__file__).resolve().parents[2]


def leased_and_undelivered(plumb) -> list[str]:
    with plumb.db.transaction() as session:
        return list(session.scalars(select(OutboxMessage.id).where(OutboxMessage.claim.is_not(None),
                                                                   OutboxMessage.status == "pending")))


def test_a_worker_killed_while_holding_claims_has_them_taken_over_after_the_lease(app, client, plumb, receiver,
                                                                                  database_url):
    world = connected_world(app, client, receiver, requires_approval=False)
    participants = [world.participant, scenario.sign_up(client, world.employees["E2"], "2006-03-10", "4321")]
    expected: dict[str, list[str]] = {}
    for round_ in range(3):
        for headers in participants:
            percent = str(3 + round_)
            response = client.post("/mobile/v1/elections", headers=headers,
                                   json={"lines": [{"money_type": "pretax", "percent": percent}]})
            assert response.status_code == 201, response.json
            expected.setdefault(response.json["employee_id"], []).append(percent)
    receiver.mode("slow", seconds=1.0)  # each delivery takes a second: the worker is killed in the middle of one
    env = {**os.environ, "DATABASE_URL": database_url, "PLUMB_PII_KEY": plumb.config.pii_key,
           "PLUMB_JWT_SECRET": plumb.config.jwt_secret, "PLUMB_INSTANCE_DIR": str(ROOT / "instance")}
    command = [str(Path(sys.executable).parent / "plumb"), "worker", "--idle", "0.05", "--lease", "4"]
    first = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not receiver.received()["deliveries"]:
            assert time.monotonic() < deadline, "the first worker never delivered"
            time.sleep(0.05)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    held = leased_and_undelivered(plumb)
    assert held  # it died holding claims: nobody may take them until the lease runs out

    receiver.mode("ok")
    second = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while len(receiver.received()["applied"]) < 6:
            assert time.monotonic() < deadline, receiver.received()
            time.sleep(0.1)
    finally:
        second.terminate()
        second.wait(10)
    received = receiver.received()
    by_employee: dict[str, list[str]] = {}
    for change in received["applied"]:
        by_employee.setdefault(change["employee_id"], []).append(change["lines"][0]["percent"])
    assert by_employee == expected  # each change once, in the order made, per employee
    assert set(held) <= set(received["deliveries"])  # what the dead worker held was delivered by the other
    with plumb.db.transaction() as session:
        assert set(session.scalars(select(OutboxMessage.status))) == {"delivered"}
