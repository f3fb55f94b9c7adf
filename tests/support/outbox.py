"""Running the worker's two loops by hand: the outbox dispatcher and the job runner, until neither has anything
left to do (what a `plumb worker` would do moments after each change)."""
from backend.jobs import JobRunner
from backend.outbox import Dispatcher


def dispatcher(plumb, **settings) -> Dispatcher:
    """A dispatcher on the test's database and wiring, retrying at once (no backoff) unless told otherwise."""
    return Dispatcher(plumb.db, plumb.deliverers, **{"base_delay": 0, **settings})


def job_runner(plumb, **settings) -> JobRunner:
    """A job runner on the test's database and wiring, retrying at once (no backoff) unless told otherwise."""
    return JobRunner(plumb.db, plumb.jobs, **{"base_delay": 0, **settings})


def drain(plumb, outbox: Dispatcher | None = None, jobs: JobRunner | None = None, passes: int = 50) -> int:
    """Deliver and run jobs until both are idle (at most `passes` rounds, so a message that keeps failing cannot
    hold a test forever); how many messages and jobs were tried."""
    outbox, jobs = outbox or dispatcher(plumb), jobs or job_runner(plumb)
    tried = 0
    for _ in range(passes):
        busy = outbox.run_once()
        while jobs.run_once():
            busy += 1
        if not busy:
            break
        tried += busy
    return tried
