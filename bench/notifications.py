"""Benchmark: a 10,000-employee pay run tells each of its 10,000 participants (every one signed up, one device
each) that their contribution posted, and one outbox worker delivers the 10,000 pushes to a local fake FCM through
the firebase-admin SDK (the real SDK and its real HTTP requests, answered by tests/support/fake_fcm.py).

    DATABASE_URL=postgresql+psycopg://user@host/db python bench/notifications.py

Two figures:
- the fan-out: from the pay run's commit (its response) to the last of its pushes recorded delivered, by one
  worker started at that moment with its default settings: the job runner writes the run's notices (a large run
  tells from a job it queued) and the dispatcher delivers them (`fanout_seconds_10000`, `pushes_per_s`);
- the overhead: the same plan's pay runs posted alternately without the notifications subscriber and with it
  (`BENCH_ROUNDS` of each, after a first run that opens every account), the median with over the median without
  (`pay_run_overhead_ratio`).

Creates a scratch database next to the one in DATABASE_URL (or a temporary SQLite file) and drops it afterwards.
Prints figures as it goes; the last line is one JSON object of the figures."""
import gc
import json
import os
import secrets
import statistics
import sys
import tempfile
import threading
import time
from functools import partial
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# This file's name is the notifications package's: the project comes first on the path, the benchmarks' helpers
# (pay_run, scratch) after it.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != HERE] + [str(HERE)]

from cryptography.fernet import Fernet  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402

from backend.app import create_app  # noqa: E402
from backend.clock import Clock  # noqa: E402
from backend.config import Config  # noqa: E402
from backend.db import migrate, new_id, utcnow  # noqa: E402
from backend.events import PayRunPosted  # noqa: E402
from backend.identity.models import User  # noqa: E402
from backend.jobs import JobRunner  # noqa: E402
from backend.outbox import BatchDeliverer, Dispatcher, OutboxMessage  # noqa: E402
from backend.plans.models import Employee  # noqa: E402
from notifications import push  # noqa: E402
from notifications import service as notifications  # noqa: E402
from notifications.delivery import deliver_pushes  # noqa: E402
from notifications.models import Device  # noqa: E402
from notifications.push import FcmSender  # noqa: E402
from pay_run import PAY_DATE, make_plan, post_run, run_payload  # noqa: E402
from scratch import ScratchDatabase  # noqa: E402
from tests.support.fake_fcm import FakeFcm, OfflineCredential, ToFakeFcm  # noqa: E402
from tests.support.receivers import free_port  # noqa: E402

EMPLOYEES = int(os.environ.get("BENCH_EMPLOYEES", 10000))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", 2))


def sign_everyone_up(plumb, employer_external_ids: list[str]) -> int:
    """Every employee of the plan gets a participant account and one Android device (a token as long as FCM's)."""
    with plumb.db.transaction() as session:
        employees = session.execute(select(Employee.id, Employee.employer_id)
                                    .where(Employee.external_id.in_(employer_external_ids))).all()
        now = utcnow()
        users = [{"id": new_id("usr"), "email": f"p{i}@bench.example", "password_hash": "!", "role": "participant",
                  "employer_id": e.employer_id, "employee_id": e.id, "disabled": False, "created_at": now}
                 for i, e in enumerate(employees)]
        session.execute(insert(User), users)
        session.execute(insert(Device), [
            {"id": new_id("dev"), "user_id": u["id"], "token": f"bench-{secrets.token_urlsafe(120)}",
             "platform": "android", "app_version": "1.4.2", "locale": "en-US", "time_zone": "America/Denver",
             "created_at": now, "last_seen_at": now} for u in users])
    return len(users)


def fan_out(plumb, sender, expected: int, before: int) -> float:
    """One worker, as `plumb worker` runs: its job runner (a large pay run's notices are written by a job the pay
    run queued) and one dispatcher (the worker's defaults, pushes to the fake FCM), until the run's pushes are all
    delivered: seconds."""
    deliverers = {**plumb.deliverers, notifications.PUSH_TOPIC: BatchDeliverer(
        partial(deliver_pushes, db=plumb.db, sender=sender), max_batch=push.BATCH_SIZE)}
    dispatcher = Dispatcher(plumb.db, deliverers)
    gc.freeze()  # as `plumb worker` does once it has loaded: the collector no longer walks what was loaded before
    stop = threading.Event()
    started = time.perf_counter()
    threads = [threading.Thread(target=dispatcher.run_forever, args=(stop,), kwargs={"idle_seconds": 0.01}),
               threading.Thread(target=JobRunner(plumb.db, plumb.jobs).run_forever, args=(stop,),
                                kwargs={"idle_seconds": 0.01})]
    for thread in threads:
        thread.start()
    try:
        while delivered_count(plumb) - before < expected:
            time.sleep(0.02)
        return time.perf_counter() - started
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)


def delivered_count(plumb) -> int:
    with plumb.db.transaction() as session:
        return session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.topic == notifications.PUSH_TOPIC, OutboxMessage.status == "delivered"))


def _notifies(handler) -> bool:
    """Whether an event handler belongs to the notifications package (a partial's function counts)."""
    function = getattr(handler, "func", handler)
    return function.__module__.split(".")[0] == "notifications"


def main() -> None:
    scratch = ScratchDatabase(os.environ.get("DATABASE_URL"))
    fake = FakeFcm(Path(tempfile.mkdtemp()), free_port()).start()
    sender = None
    try:
        migrate(scratch.url)
        app = create_app(Config(database_url=scratch.url, jwt_secret="bench" * 8,
                                pii_key=Fernet.generate_key().decode()), clock=Clock(fixed_today=PAY_DATE))
        plumb = app.extensions["plumb"]
        client = app.test_client()
        print(f"database: {plumb.db.dialect}")
        with plumb.db.transaction() as session:
            bus = session.info["bus"]
        with_notifications = bus.handlers[PayRunPosted]
        # Without every notifications subscriber (the contribution notices, the participants' limits and nudges, the
        # sponsor's exceptions): what the pay run costs with nobody told.
        without_notifications = tuple(h for h in with_notifications if not _notifies(h))
        assert notifications.tell_contributions_posted not in without_notifications

        transport = ToFakeFcm(fake.base_url, pool_connections=push.BATCH_SIZE, pool_maxsize=push.BATCH_SIZE,
                              max_retries=push.RETRIES)
        sender = FcmSender(OfflineCredential(), "plumb-bench", app_name="plumb-bench", transport=transport)

        print(f"setting up a plan of {EMPLOYEES:,} employees, each signed up with one device …", flush=True)
        connection_id, secret, external_ids = make_plan(app, EMPLOYEES, "N")
        signed_up = sign_everyone_up(plumb, external_ids)
        assert signed_up == EMPLOYEES, signed_up

        bus.handlers[PayRunPosted] = without_notifications
        first, _ = post_run(client, connection_id, secret, run_payload(external_ids, "RUN-N-0"))
        print(f"  first run (opens every account), without notifications: {first:.3f} s")
        timings = {False: [], True: []}
        fanouts = []
        for turn in range(1, ROUNDS + 1):
            for notified in (False, True):
                bus.handlers[PayRunPosted] = with_notifications if notified else without_notifications
                seconds, result = post_run(client, connection_id, secret,
                                           run_payload(external_ids, f"RUN-N-{turn}-{notified}"))
                assert result["posted"] == EMPLOYEES, result["posted"]
                timings[notified].append(seconds)
                print(f"  run {turn} {'with' if notified else 'without'} notifications: posted in {seconds:.3f} s",
                      flush=True)
                if notified:
                    before = delivered_count(plumb)
                    fake.answer()  # (forgets what it received)
                    fanout = fan_out(plumb, sender, EMPLOYEES, before)
                    delivered = delivered_count(plumb) - before
                    received = fake.received()
                    assert delivered == EMPLOYEES, delivered
                    assert len({r["message"]["token"] for r in received}) == EMPLOYEES == len(received)
                    fanouts.append(fanout)
                    print(f"    {delivered:,} pushes delivered to the fake FCM by one worker in {fanout:.3f} s "
                          f"({delivered / fanout:,.0f}/s)", flush=True)
        bus.handlers[PayRunPosted] = with_notifications

        without, with_ = statistics.median(timings[False]), statistics.median(timings[True])
        fanout = statistics.median(fanouts)
        figures = {
            "employees": EMPLOYEES,
            "first_run_seconds": round(first, 3),
            "pay_run_seconds_without_notifications": round(without, 3),
            "pay_run_seconds_with_notifications": round(with_, 3),
            "pay_run_overhead_ratio": round(with_ / without, 3),
            f"fanout_seconds_{EMPLOYEES}": round(fanout, 3),
            "fanout_seconds_each": [round(f, 3) for f in fanouts],
            "pushes_per_s": round(EMPLOYEES / fanout),
        }
        print(f"  notifications add {100 * (with_ / without - 1):.1f}% to posting the pay run "
              f"(medians of {ROUNDS}: {with_:.3f} s with, {without:.3f} s without); "
              f"{EMPLOYEES:,} pushes fan out in {fanout:.3f} s (median of {ROUNDS})")
        plumb.db.engine.dispose()
        print(json.dumps(figures))
    finally:
        if sender is not None:
            sender.close()
        fake.stop()
        scratch.drop()


if __name__ == "__main__":
    main()
