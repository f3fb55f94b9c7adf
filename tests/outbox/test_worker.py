"""`plumb worker` as an operator runs it, killed with SIGKILL while it holds claims: another worker takes them over
once their lease runs out, and every change reaches payroll once, in order (SQLite and PostgreSQL alike)."""
import signal
import subprocess
import time

from sqlalchemy import select

from backend.outbox import OutboxMessage
from backend.payroll.sync import TOPIC as PAYROLL_TOPIC
from tests import scenario
from tests.support.outbox import elections_in_rounds, worker_process
from tests.support.receivers import connected_world



def leased_and_undelivered(plumb) -> list[str]:
    with plumb.db.transaction() as session:
        # Payroll messages only: the participants' notices (pushes, emails) go elsewhere, not to this receiver.
        return list(session.scalars(select(OutboxMessage.id).where(OutboxMessage.claim.is_not(None),
                                                                   OutboxMessage.status == "pending",
                                                                   OutboxMessage.topic == PAYROLL_TOPIC)))


def test_a_worker_killed_while_holding_claims_has_them_taken_over_after_the_lease(app, client, plumb, receiver,
                                                                                  database_url):
    world = connected_world(app, client, receiver, requires_approval=False)
    participants = [world.participant, scenario.sign_up(client, world.employees["E2"], "2006-03-10", "4321")]
    expected = elections_in_rounds(client, participants, 3)
    receiver.mode("slow", seconds=1.0)  # each delivery takes a second: the worker is killed in the middle of one
    command, env = worker_process(plumb, database_url, "--lease", "4")
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
        # Only the payroll messages are owed to this receiver (the approval notices are the notifications tests').
        assert set(session.scalars(select(OutboxMessage.status)
                                   .where(OutboxMessage.topic == PAYROLL_TOPIC))) == {"delivered"}
