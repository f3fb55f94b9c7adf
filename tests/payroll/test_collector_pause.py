"""A pay run pauses CPython's cyclic garbage collector while it is read, checked and posted (a process-wide switch):
the collector must be running again after every run, posted or refused, and must never be switched on by a run
when something else had switched it off."""
import gc

import pytest

from backend.memory import collector_paused
from tests import scenario
from tests.support.problems import assert_problem


@pytest.fixture
def collector_on():
    was = gc.isenabled()
    gc.enable()
    yield
    (gc.enable if was else gc.disable)()


def test_the_collector_runs_again_after_a_posted_run_and_a_refused_one(client, connection, collector_on):
    posted = scenario.signed_post(client, connection, scenario.pay_run("R-1", "2026-11-20", [
        scenario.statement("E1", 300000, pretax=9000)]))
    assert posted.status_code == 200, posted.json
    assert gc.isenabled()
    # Refused inside the run (no IRS limits for 2099), after the pause began.
    refused = scenario.signed_post(client, connection, scenario.pay_run("R-2", "2099-11-20", [
        scenario.statement("E1", 300000, pretax=9000)]))
    assert_problem(refused, 422, "validation")
    assert gc.isenabled()


def test_the_collector_resumes_only_when_the_last_run_in_progress_ends(collector_on):
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():  # a second run, in another thread, overlapping the first
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_collector_switched_off_elsewhere_stays_off_after_a_run(collector_on):
    gc.disable()
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("a run that fails")
    assert not gc.isenabled()
