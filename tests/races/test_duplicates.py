"""Duplicates sent at once: a provider's retries of one signed pay run answer the first result (a replay), one
held exception accepted from several requests is posted once (the others get 409), and a constraint that refuses
a duplicate row inside a view answers a 409 problem with nothing stored — never a 500."""

from sqlalchemy import func, select

from backend.accounts.models import LedgerEntry
from backend.payroll.models import PayRun
from tests import scenario
from tests.support import run_cli
from tests.support.served import all_at_once, race_trials

PARALLEL = 6


def _signed(served, connection: dict, run: dict):
    """The same signed request each time it is called: what a provider's retry sends."""
    body, headers = scenario.signed_request(connection, run)
    return lambda _i: served.client.post(connection["pay_runs_url"], content=body, headers=headers)


def _count(plumb, query) -> int:
    with plumb.db.transaction() as session:
        return session.scalar(query)


def test_a_pay_run_retried_in_parallel_is_stored_once_and_the_retries_are_replays(app, world, connection, served,
                                                                                   plumb):
    for trial in range(race_trials()):
        run = scenario.pay_run(f"R-{trial}", "2026-11-20", [scenario.statement("E1", 300000, pretax=9000)])
        answers = all_at_once(PARALLEL, _signed(served, connection, run))
        statuses = [a.status_code for a in answers]
        assert statuses == [200] * PARALLEL, (trial, statuses, [a.text[:200] for a in answers])
        replayed = sorted(a.json()["replayed"] for a in answers)
        assert replayed == [False] + [True] * (PARALLEL - 1), (trial, replayed)
        assert len({a.json()["pay_run"]["id"] for a in answers}) == 1
        assert _count(plumb, select(func.count()).select_from(PayRun)
                      .where(PayRun.provider_run_id == f"R-{trial}")) == 1
    assert run_cli(app, args=["ledger", "check"]).exit_code == 0


def test_one_held_exception_accepted_by_parallel_requests_is_posted_once(app, client, world, connection, served,
                                                                         plumb):
    e2 = world.employees["E2"]["id"]
    for trial in range(race_trials()):
        run = scenario.pay_run(f"H-{trial}", "2026-11-20", [scenario.statement("E2", 100000, pretax=3000, hours="40")])
        posted = _signed(served, connection, run)(0)
        assert posted.status_code == 200 and posted.json()["held"] == 1, posted.text
        [held] = [e for e in client.get(f"/v1/employers/{world.employer_id}/payroll-exceptions?status=open",
                                        headers=world.sponsor).json["data"]
                  if e["pay_run_id"] == posted.json()["pay_run"]["id"]]
        answers = all_at_once(PARALLEL, lambda _i: served.client.post(
            f"/v1/payroll-exceptions/{held['id']}/resolve", json={"action": "accept"}, headers=world.sponsor))
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [200] + [409] * (PARALLEL - 1), (trial, statuses)
        assert all(a.headers["Content-Type"] == "application/problem+json" for a in answers if a.status_code == 409)
        key = f"contribution:{posted.json()['pay_run']['id']}:{e2}"
        assert _count(plumb, select(func.count()).select_from(LedgerEntry)
                      .where(LedgerEntry.idempotency_key == key)) == 1, trial
    assert run_cli(app, args=["ledger", "check"]).exit_code == 0


def test_a_duplicate_row_refused_by_a_constraint_inside_a_view_is_a_409_problem_and_nothing_is_stored(app, plumb,
                                                                                                      caplog):
    from backend.identity.models import User
    from backend.web import context

    def insert_twice():
        session = context.session()
        session.add(User(email="kept@example.com", password_hash="x", role="advisor"))
        session.flush()
        session.add(User(email="twice@example.com", password_hash="x", role="advisor"))
        session.add(User(email="twice@example.com", password_hash="x", role="advisor"))
        session.flush()
        return {"stored": True}

    caplog.set_level("DEBUG")
    # A view of the test's own: the same path any view takes when a flush meets a unique index.
    app.add_url_rule("/test-only/duplicate", "test_only_duplicate", insert_twice, methods=["POST"])
    response = app.test_client().post("/test-only/duplicate")
    assert response.status_code == 409, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json["type"].endswith("/conflict")
    with plumb.db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(User)
                              .where(User.email.in_(["kept@example.com", "twice@example.com"]))) == 0
    assert "twice@example.com" not in caplog.text
