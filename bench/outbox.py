"""Benchmark: 10,000 deferral changes delivered through the outbox to a local payroll receiver (a real HTTP server
in its own process, verifying every signature), by one `plumb worker` and then by two.

    DATABASE_URL=postgresql+psycopg://user@host/db python bench/outbox.py

First it measures the receiver's own ceiling: a plain client posting signed changes to it with as many requests in
flight as a worker keeps (its --concurrency), so the worker's rate can be read as a share of what the receiver
can take on this machine. Then, for one worker and for two: a burst of 10,000 changes, timed from the first
commit to the last delivery, and the p99 time from commit to delivery of a steady stream of 100 changes a second.
The last line is one JSON object."""
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import date, datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from cryptography.fernet import Fernet  # noqa: E402

from backend.app import create_app  # noqa: E402
from backend.config import Config  # noqa: E402
from backend.db import bulk_insert, migrate, new_id, utcnow  # noqa: E402
from backend.enrollment import service as enrollment  # noqa: E402
from backend.audit import Actor  # noqa: E402
from backend.outbox import OutboxMessage  # noqa: E402
from backend.identity.service import Principal  # noqa: E402
from backend.payroll import service as payroll  # noqa: E402
from backend.plans import service as plans  # noqa: E402
from scratch import ScratchDatabase  # noqa: E402

MESSAGES = int(os.environ.get("BENCH_MESSAGES", 10000))
EMPLOYEES = 2000  # five changes each, so per-employee ordering is exercised
CONCURRENCY = 32  # deliveries a worker keeps in flight (plumb worker --concurrency), and the plain client's too
CEILING_MESSAGES = 10000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port: int, path: str):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as response:
        return json.loads(response.read())


def setup(app, endpoint_url: str) -> tuple[str, str, list[str]]:
    plumb = app.extensions["plumb"]
    vault = plumb.vault
    with plumb.db.transaction() as session:
        platform = Principal("usr_bench", "platform_admin", None, None)
        result = plans.setup_plan(session, vault, Actor.system("bench"), platform, {
            "template": "starter",
            "employer": {"name": "Outbox Bench", "ein": "98-7654321",
                         "address": {"line1": "1 Main", "city": "Provo", "state": "UT", "postal_code": "84601"},
                         "payroll": {"frequency": "biweekly", "anchor_pay_date": date(2026, 1, 2)}},
            "sponsor_admin": {"email": "outbox-bench@example.com"}, "plan": {"effective_date": date(2026, 1, 1)}})
        connection, secret = payroll.create_connection(session, vault, Actor.system("bench"), result.employer,
                                                       "plumb_webhook", endpoint_url, principal=platform,
                                                       outbound=plumb.outbound)
        return result.employer.id, secret, [f"emp_bench{i:05d}" for i in range(EMPLOYEES)]


def enqueue_changes(app, employer_id: str, employees: list[str], tag: str, count: int, per_commit: int = 500,
                    pause: float = 0.0) -> None:
    """Changes as approvals make them, `per_commit` to a transaction: the rows `enqueue` writes, written with
    COPY, so that a burst arrives as fast as the database takes it and the time measured is the outbox's, not
    this one process's (many requests enqueue at once in production)."""
    plumb = app.extensions["plumb"]
    for start in range(0, count, per_commit):
        now = utcnow()
        rows = []
        for n in range(start, min(start + per_commit, count)):
            employee = employees[n % len(employees)]
            rows.append({"id": new_id("msg"), "topic": "payroll.deferral_change",
                         "recipient": enrollment.payroll_recipient(employer_id, employee), "employer_id": employer_id,
                         "subject_id": f"{tag}-{n}", "status": "pending", "attempts": 0, "next_attempt_at": now,
                         "created_at": now,
                         "payload": {"action": "set", "employee_id": employee, "external_id": employee,
                                     "effective_date": "2026-12-04", "run": tag, "sequence": n,
                                     "lines": [{"money_type": "pretax", "percent": str(n % 15),
                                                "amount_cents": None}]}})
        with plumb.db.transaction() as session:
            bulk_insert(session, OutboxMessage.__table__, rows)
        if pause:
            time.sleep(pause)


def receiver_ceiling(port: int, secret: str, count: int) -> float:
    """Messages per second the receiver takes from a plain client (http.client, kept-alive connections, each
    change signed as Plumb signs it) keeping CONCURRENCY requests in flight."""
    from standardwebhooks.webhooks import Webhook

    webhook, numbers, lock = Webhook(secret), iter(range(count)), threading.Lock()

    def post_until_done() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            with lock:
                n = next(numbers, None)
            if n is None:
                break
            message_id = f"msg_ceiling{n:06d}"
            body = json.dumps({"type": "deferral_change", "id": message_id, "action": "set", "sequence": n,
                               "lines": [{"money_type": "pretax", "percent": str(n % 15), "amount_cents": None}]})
            for _ in range(5):  # a reset connection is tried again on a new one, as the worker does
                now = datetime.now(timezone.utc)
                try:
                    connection.request("POST", "/deferrals", body=body, headers={
                        "webhook-id": message_id, "webhook-timestamp": str(int(now.timestamp())),
                        "webhook-signature": webhook.sign(message_id, now, body), "content-type": "application/json"})
                    response = connection.getresponse()
                    response.read()
                except (OSError, http.client.HTTPException):
                    connection.close()
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                    continue
                assert response.status == 200, response.status
                break
        connection.close()

    threads = [threading.Thread(target=post_until_done) for _ in range(CONCURRENCY)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return count / (time.perf_counter() - started)


class Workers:
    """`plumb worker` processes, started and given time to boot before the clock starts."""

    def __init__(self, count: int, env: dict):
        command = [str(Path(sys.executable).parent / "plumb"), "worker", "--idle", "0.02",
                   "--concurrency", str(CONCURRENCY)]
        self.processes = [subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL) for _ in range(count)]
        time.sleep(4)

    def stop(self) -> None:
        for worker in self.processes:
            worker.terminate()
            worker.wait(30)


def wait_for(port: int, expected: int) -> float:
    started = time.perf_counter()
    while get(port, "/_count")["applied"] < expected:
        if time.perf_counter() - started > 900:
            raise SystemExit("deliveries did not finish in 15 minutes")
        time.sleep(0.05)
    return time.perf_counter()


def latencies_ms(app, port: int, tag: str) -> list[float]:
    timings = get(port, "/_timings")
    with app.extensions["plumb"].db.transaction() as session:
        rows = session.query(OutboxMessage.id, OutboxMessage.created_at).filter(
            OutboxMessage.subject_id.like(f"{tag}-%")).all()
    return sorted((timings[m_id] - created.timestamp()) * 1000 for m_id, created in rows if m_id in timings)


def p99(values: list[float]) -> float:
    return round(values[max(0, int(len(values) * 0.99) - 1)], 1)


def main() -> None:
    scratch = ScratchDatabase(os.environ.get("DATABASE_URL"))
    tmp = tempfile.TemporaryDirectory()
    receiver = None
    try:
        migrate(scratch.url)
        pii_key = Fernet.generate_key().decode()
        # The bench's receiver is on loopback, over http.
        app = create_app(Config(database_url=scratch.url, jwt_secret="bench" * 8, pii_key=pii_key,
                                allow_loopback_http=True))
        port = free_port()
        employer_id, secret, employees = setup(app, f"http://127.0.0.1:{port}/deferrals")
        ready = Path(tmp.name) / "ready"
        receiver = subprocess.Popen([sys.executable, str(ROOT / "tests" / "receivers" / "payroll_receiver.py"),
                                     "--port", str(port), "--secret", secret, "--ready-file", str(ready)])
        while not (ready.exists() and ready.read_text()):
            time.sleep(0.05)
        env = {**os.environ, "DATABASE_URL": scratch.url, "PLUMB_PII_KEY": pii_key, "PLUMB_JWT_SECRET": "bench" * 8,
               "PLUMB_INSTANCE_DIR": tmp.name}
        print(f"database: {app.extensions['plumb'].db.dialect}; {MESSAGES:,} changes for {EMPLOYEES:,} employees")
        figures = {}
        ceiling = receiver_ceiling(port, secret, CEILING_MESSAGES)
        delivered = CEILING_MESSAGES
        wait_for(port, delivered)
        print(f"  the receiver's ceiling: {ceiling:,.0f} messages/s from a plain client with {CONCURRENCY} in flight")
        for workers in (1, 2):
            if workers > 1 and app.extensions["plumb"].db.dialect != "postgresql":
                print("  (two workers need PostgreSQL; skipped)")
                continue
            key = "1_worker" if workers == 1 else "2_workers"
            running = Workers(workers, env)
            try:
                # Throughput: a burst of changes, timed from the first commit to the last delivery.
                started = time.perf_counter()
                enqueue_changes(app, employer_id, employees, f"burst{workers}", MESSAGES)
                delivered += MESSAGES
                seconds = wait_for(port, delivered) - started
                # Latency: a steady stream well under capacity, so the figure is the path's, not the queue's.
                enqueue_changes(app, employer_id, employees, f"stream{workers}", 500, per_commit=5, pause=0.05)
                delivered += 500
                wait_for(port, delivered)
            finally:
                running.stop()
            rate = MESSAGES / seconds
            figures[f"messages_per_s_{key}"] = round(rate)
            if workers == 1:
                figures[f"burst_drain_seconds_{MESSAGES}"] = round(seconds, 2)
                figures["receiver_ceiling_per_s"] = round(ceiling)
                figures["share_of_receiver_ceiling"] = round(rate / ceiling, 2)
            figures[f"p99_commit_to_delivery_ms_{key}"] = p99(latencies_ms(app, port, f"stream{workers}"))
            figures[f"p99_burst_commit_to_delivery_ms_{key}"] = p99(latencies_ms(app, port, f"burst{workers}"))
            print(f"  {workers} worker(s): a burst of {MESSAGES:,} delivered in {seconds:.2f} s = {rate:,.0f} messages/s "
                  f"= {rate / ceiling:.0%} of the receiver's ceiling "
                  f"(p99 {figures[f'p99_burst_commit_to_delivery_ms_{key}']:,.0f} ms behind the backlog); "
                  f"a steady 100/s stream: p99 commit-to-delivery {figures[f'p99_commit_to_delivery_ms_{key}']:,.0f} ms")
        received = get(port, "/_received")
        assert received["refused"] == 0 and len(received["applied"]) == delivered
        last: dict[tuple, int] = {}
        for change in received["applied"]:  # each employee's changes arrived in the order they were made
            if "run" in change:
                line = (change["run"], change["employee_id"])
                assert change["sequence"] > last.get(line, -1), change
                last[line] = change["sequence"]
        assert len(received["deliveries"]) >= delivered
        figures["p99_commit_to_delivery_ms"] = figures.get("p99_commit_to_delivery_ms_2_workers",
                                                           figures["p99_commit_to_delivery_ms_1_worker"])
        app.extensions["plumb"].db.engine.dispose()
        print(json.dumps(figures))
    finally:
        if receiver:
            receiver.terminate()
        scratch.drop()
        tmp.cleanup()


if __name__ == "__main__":
    main()
