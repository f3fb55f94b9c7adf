"""A large pay run tells its participants from a job it queues in its own transaction (durable: it commits with the
pay run), which writes the feed entries and their pushes together; a small one tells them at once. A job run again
tells nobody twice."""
from sqlalchemy import select

from backend.jobs import Job, JobRow, JobRunner
from notifications import pay_runs
from tests import scenario

SIX = {"lines": [{"money_type": "pretax", "percent": "6"}]}


def contribution_entries(client, headers) -> list[dict]:
    page = client.get("/mobile/v1/me/notifications", headers=headers).json
    return [e for e in page["data"] if e["kind"] == "contribution_posted"]


def test_a_pay_run_above_the_inline_limit_tells_its_participants_from_jobs_once(
        client, plumb, world, connection, monkeypatch):
    monkeypatch.setattr(pay_runs, "INLINE_LIMIT", 0)  # every run counts as large here
    client.post("/mobile/v1/elections", headers=world.participant, json=SIX)
    posted = scenario.signed_post(client, connection, scenario.pay_run("R1", "2026-12-04", [
        scenario.statement("E1", 276923, pretax=16615)]))
    assert posted.status_code == 200 and posted.json["held"] == 0, posted.json
    # Not told yet: the job was queued with the pay run.
    assert contribution_entries(client, world.participant) == []
    with plumb.db.transaction() as session:
        [job] = session.scalars(select(JobRow).where(JobRow.kind == pay_runs.JOB)).all()
        run_id = posted.json["pay_run"]["id"]
        assert (job.status, job.subject, job.payload["part"]) == ("queued", f"{run_id}/0", [0, pay_runs.PART_SIZE])
        assert session.scalars(select(JobRow.subject).where(JobRow.kind == pay_runs.NUDGES_JOB)).all() == [run_id]
    runner = JobRunner(plumb.db, plumb.jobs)
    while runner.run_once():
        pass
    [entry] = contribution_entries(client, world.participant)
    assert "$166.15" in entry["body"]
    # The same run's job again (a retry after a crash, say) tells nobody twice.
    with plumb.db.transaction() as session:
        pay_runs.run_job(session, Job(job.id, job.kind, job.subject, job.payload, 2))
    assert len(contribution_entries(client, world.participant)) == 1


def test_a_small_pay_run_tells_its_participants_in_its_own_transaction(client, plumb, world, connection):
    client.post("/mobile/v1/elections", headers=world.participant, json=SIX)
    scenario.signed_post(client, connection, scenario.pay_run("R1", "2026-12-04", [
        scenario.statement("E1", 276923, pretax=16615)]))
    assert len(contribution_entries(client, world.participant)) == 1
    with plumb.db.transaction() as session:
        assert session.scalars(select(JobRow).where(JobRow.kind.in_((pay_runs.JOB, pay_runs.NUDGES_JOB)))).all() == []



def test_a_large_run_is_told_in_parts_each_telling_its_own_statements(client, plumb, world, connection, monkeypatch):
    monkeypatch.setattr(pay_runs, "INLINE_LIMIT", 0)
    monkeypatch.setattr(pay_runs, "PART_SIZE", 1)
    client.post("/mobile/v1/elections", headers=world.participant, json=SIX)
    posted = scenario.signed_post(client, connection, scenario.pay_run("R1", "2026-12-04", [
        scenario.statement("E2", 119231), scenario.statement("E1", 276923, pretax=16615)]))
    assert posted.status_code == 200 and posted.json["posted"] == 2, posted.json
    with plumb.db.transaction() as session:
        parts = session.scalars(select(JobRow.payload).where(JobRow.kind == pay_runs.JOB)).all()
    assert sorted(p["part"][0] for p in parts) == [0, 1]
    runner = JobRunner(plumb.db, plumb.jobs)
    while runner.run_once():
        pass
    # E1's statement, second on the run, was told by the second part; E2 (nothing deferred) by none.
    assert len(contribution_entries(client, world.participant)) == 1
