"""Jobs: a job's effect and its completion commit together; a failing one is rolled back, retried with backoff and
then kept dead until retried; a job about a subject has one live row, so requests coalesce (a recompute carries
the newest as-of date) and one asked for while it runs makes it run again."""
import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from backend.audit import AuditEvent
from backend.compliance.service import RECOMPUTE_JOB, request_recompute
from backend.db import utcnow
from backend.errors import Conflict
from backend.jobs import JobRow, JobRunner, dead_jobs, request_job, retry_job
from tests.support import run_cli
from tests.support.races import race


def jobs(plumb) -> list[JobRow]:
    with plumb.db.transaction() as session:
        return list(session.scalars(select(JobRow).order_by(JobRow.seq)))


def audit_count(plumb) -> int:
    with plumb.db.transaction() as session:
        return session.scalar(select(func.count()).select_from(AuditEvent))


def writes_then(fail: list[bool]):
    """A job that writes an audit record, then fails while `fail` says so (after its write)."""
    def run(session, job):
        session.add(AuditEvent(actor_role="system", action="job.ran", subject_type="job", subject_id=job.id))
        session.flush()
        if fail and fail.pop(0):
            raise RuntimeError("the job broke after writing")
    return run


def test_a_jobs_effect_commits_with_its_completion_or_not_at_all(plumb):
    with plumb.db.transaction() as session:
        request_job(session, "test.write", {})
    runner = JobRunner(plumb.db, {"test.write": writes_then([True])}, base_delay=0)
    assert runner.run_once() == 1
    (job,) = jobs(plumb)
    assert (job.status, job.attempts, job.last_error) == ("queued", 1, "RuntimeError: the job broke after writing")
    assert audit_count(plumb) == 0  # its write went with it
    assert runner.run_once() == 1
    (job,) = jobs(plumb)
    assert (job.status, job.attempts, job.last_error) == ("done", 2, None) and job.finished_at is not None
    assert audit_count(plumb) == 1
    assert runner.run_once() == 0


def test_a_failing_job_is_retried_with_backoff_then_kept_dead_until_retried(plumb):
    with plumb.db.transaction() as session:
        request_job(session, "test.write", {"n": 1})
    clock = [utcnow()]
    runner = JobRunner(plumb.db, {"test.write": writes_then([True, True, True])}, max_attempts=3, base_delay=10,
                       now=lambda: clock[0])
    runner.run_once()
    (job,) = jobs(plumb)
    assert timedelta(seconds=8) <= job.run_after - clock[0] <= timedelta(seconds=12)
    assert runner.run_once() == 0  # not due yet
    clock[0] += timedelta(seconds=13)
    runner.run_once()
    clock[0] += timedelta(seconds=25)
    runner.run_once()
    (job,) = jobs(plumb)
    assert (job.status, job.attempts) == ("dead", 3)
    clock[0] += timedelta(days=1)
    assert runner.run_once() == 0  # dead jobs stay put
    with plumb.db.transaction() as session:
        assert [j.id for j in dead_jobs(session)] == [job.id]
        retry_job(session, job.id)
    runner.run_once()
    (job,) = jobs(plumb)
    assert (job.status, job.attempts) == ("done", 1)
    assert audit_count(plumb) == 1
    with plumb.db.transaction() as session, pytest.raises(Conflict):
        retry_job(session, job.id)  # only dead jobs are retried


def test_a_recompute_asked_for_while_one_is_queued_carries_the_newest_as_of_date(plumb):
    with plumb.db.transaction() as session:
        request_recompute(session, "pln_1", "census", date(2026, 11, 24))
        request_recompute(session, "pln_1", "pay_run:prn_1", date(2026, 11, 25))
    with plumb.db.transaction() as session:
        request_recompute(session, "pln_1", "daily", date(2026, 11, 23))  # an older date does not win
        request_recompute(session, "pln_2", "census", date(2026, 11, 24))
    assert [(j.kind, j.subject, j.status, j.payload) for j in jobs(plumb)] == [
        (RECOMPUTE_JOB, "pln_1:2026", "queued", {"plan_id": "pln_1", "trigger": "pay_run:prn_1",
                                                 "as_of": "2026-11-25"}),
        (RECOMPUTE_JOB, "pln_2:2026", "queued", {"plan_id": "pln_2", "trigger": "census", "as_of": "2026-11-24"})]


def test_the_last_recompute_of_a_year_is_not_swallowed_by_the_first_of_the_next(plumb):
    # Each year's compliance is kept on its own: New Year's request does not replace December's.
    with plumb.db.transaction() as session:
        request_recompute(session, "pln_1", "daily", date(2026, 12, 31))
        request_recompute(session, "pln_1", "daily", date(2027, 1, 1))
    assert [j.payload["as_of"] for j in jobs(plumb)] == ["2026-12-31", "2027-01-01"]


def test_a_request_while_the_job_runs_makes_it_run_again_with_the_newest_payload(plumb):
    ran, asked_meanwhile = [], threading.Event()

    def recompute(session, job):
        ran.append(job.payload["as_of"])
        if len(ran) == 1:
            with plumb.db.transaction() as other:  # someone asks again while this run is under way
                request_recompute(other, "pln_1", "election:ele_1", date(2026, 11, 26))
            asked_meanwhile.set()

    with plumb.db.transaction() as session:
        request_recompute(session, "pln_1", "census", date(2026, 11, 25))
    runner = JobRunner(plumb.db, {RECOMPUTE_JOB: recompute})
    runner.run_once()
    assert asked_meanwhile.is_set()
    (job,) = jobs(plumb)  # still one row: queued again with the newest request, as a fresh one
    assert (job.status, job.attempts, job.payload["as_of"], job.next_payload) == ("queued", 0, "2026-11-26", None)
    runner.run_once()
    assert ran == ["2026-11-25", "2026-11-26"]
    assert [j.status for j in jobs(plumb)] == ["done"]


def test_a_job_whose_runner_died_is_taken_over_after_its_lease_and_the_late_run_is_rolled_back(plumb):
    with plumb.db.transaction() as session:
        request_job(session, "test.write", {}, subject="s1")
    clock = [utcnow()]
    first = JobRunner(plumb.db, {"test.write": writes_then([])}, lease_seconds=60, now=lambda: clock[0])
    second = JobRunner(plumb.db, {"test.write": writes_then([])}, lease_seconds=60, now=lambda: clock[0])
    held = first.claim()  # ... and then its worker is killed, or stalls
    assert held is not None and second.run_once() == 0
    clock[0] += timedelta(seconds=61)
    assert second.run_once() == 1
    assert (jobs(plumb)[0].status, jobs(plumb)[0].attempts, audit_count(plumb)) == ("done", 2, 1)
    first.run(held)  # the stalled runner finishes its run: its write must not commit
    assert audit_count(plumb) == 1
    assert (jobs(plumb)[0].status, jobs(plumb)[0].attempts) == ("done", 2)


def test_two_transactions_racing_to_ask_for_the_same_job_end_in_one_row(plumb):
    race(plumb, lambda session: request_recompute(session, "pln_1", "census", date(2026, 11, 24)),
         lambda session: request_recompute(session, "pln_1", "election:ele_1", date(2026, 11, 25)))
    assert [(j.status, j.payload["as_of"]) for j in jobs(plumb)] == [("queued", "2026-11-25")]


def test_an_operator_lists_dead_jobs_and_retries_one_from_the_command_line(app, plumb):
    with plumb.db.transaction() as session:
        request_job(session, "test.write", {"n": 1}, subject="pln_1")
    runner = JobRunner(plumb.db, {"test.write": writes_then([True])}, max_attempts=1, base_delay=0)
    runner.run_once()
    (job,) = jobs(plumb)
    listed = run_cli(app, ["jobs", "dead"])
    assert listed.exit_code == 0 and f"{job.id}  test.write  pln_1  1 attempts  RuntimeError" in listed.output
    assert "1 dead job" in listed.output
    assert run_cli(app, ["jobs", "retry", job.id]).output == f"{job.id} queued again\n"
    refused = run_cli(app, ["jobs", "retry", job.id])
    assert refused.exit_code == 1 and "Only dead jobs are retried; this one is queued." in refused.output
    runner.run_once()
    assert [j.status for j in jobs(plumb)] == ["done"] and "0 dead jobs" in run_cli(app, ["jobs", "dead"]).output
