"""Running the worker's two loops by hand: the outbox dispatcher and the job runner, until neither has anything
left to do (what a `plumb worker` would do moments after each change)."""
import os
import sys
from pathlib import Path

from backend.jobs import JobRunner
from backend.outbox import Dispatcher

ROOT = Path(__file__).resolve().parents[2]


def dispatcher(plumb, **settings) -> Dispatcher:
    """A dispatcher on the test's database and wiring, retrying at once (no backoff) unless told otherwise."""
    return Dispatcher(plumb.db, plumb.deliverers, **{"base_delay": 0, **settings})


def job_runner(plumb, **settings) -> JobRunner:
    """A job runner on the test's database and wiring, retrying at once (no backoff) unless told otherwise."""
    return JobRunner(plumb.db, plumb.jobs, **{"base_delay": 0, **settings})


def drain(plumb, outbox: Dispatcher | None = None, jobs: JobRunner | None = None, passes: int = 50) -> int:
    """Deliver and run jobs until both are idle (at most `passes` rounds, so a message that keeps failing cannot
    hold a test forever); how many messages and jobs were tried."""
    made_here = outbox is None
    outbox, jobs = outbox or dispatcher(plumb), jobs or job_runner(plumb)
    tried = 0
    for _ in range(passes):
        busy = outbox.run_once()
        while jobs.run_once():
            busy += 1
        if not busy:
            break
        tried += busy
    if made_here:
        outbox.close()  # its courier threads go with it
    return tried


def elections_in_rounds(client, participants: list[dict], rounds: int) -> dict[str, list[str]]:
    """Each participant elects 3%, then 4%, ... (`rounds` changes each), approved at once: the percents in the
    order payroll must apply them, by employee id."""
    expected: dict[str, list[str]] = {}
    for round_ in range(rounds):
        for headers in participants:
            percent = str(3 + round_)
            response = client.post("/mobile/v1/elections", headers=headers,
                                   json={"lines": [{"money_type": "pretax", "percent": percent}]})
            assert response.status_code == 201, response.json
            expected.setdefault(response.json["employee_id"], []).append(percent)
    return expected


def worker_process(plumb, database_url: str, *options: str) -> tuple[list[str], dict]:
    """The command and environment of a `plumb worker` process on the test's database and secrets."""
    env = {**os.environ, "DATABASE_URL": database_url, "PLUMB_PII_KEY": plumb.config.pii_key,
           "PLUMB_JWT_SECRET": plumb.config.jwt_secret, "PLUMB_INSTANCE_DIR": str(ROOT / "instance"),
           # The test's receivers are on loopback, over http, as the test's own app allows.
           "PLUMB_ALLOW_LOOPBACK_HTTP": "1" if plumb.config.allow_loopback_http else "0"}
    return [str(Path(sys.executable).parent / "plumb"), "worker", "--idle", "0.05", *options], env
