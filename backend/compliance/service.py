"""The plan's compliance from its live data, kept current: the package's public face.

The subjects live in their own modules, re-exported here for the API, the wiring and the other packages:
- live_input.py: the engine's input gathered from the one database (no census to export), and projection.py,
  the year-end projection of each election on the remaining pay dates;
- state.py: the stored state (compute, store, assess the status, the warning margin, daily staleness) and
  early_warning.py, the warning raised once per change of status;
- incremental.py (with ratios.py): the update after one election, without testing the whole plan again;
- correction_plan.py: the correction plan and the PDF report's data.
The tests themselves are the pure engine (report.run_plan_tests). What asks for a recompute, and what reacts to
the events that move the plan, is below.
"""
from datetime import date

from sqlalchemy.orm import Session

from backend.compliance.correction_plan import compliance_report, correction_plan
from backend.compliance.incremental import update_after_election
from backend.compliance.live_input import plan_year_inputs
from backend.compliance.state import (compliance_state, jsonable, recompute, set_warning_margin, stale_plans,
                                      stored_state)
from backend.events import CensusChanged, ElectionApproved, PayRunPosted
from backend.jobs import Job, request_job
from backend.plans import service as plans
from backend.plans.models import Plan
from backend.plans.pii import PiiVault

__all__ = ["RECOMPUTE_JOB", "compliance_report", "compliance_state", "correction_plan", "jsonable",
           "move_after_election", "plan_year_inputs", "recompute", "recompute_after_census", "recompute_after_pay_run",
           "run_recompute", "refresh_stale", "request_recompute", "set_warning_margin", "stored_state",
           "update_after_election"]


# ---- kept current --------------------------------------------------------------------------------------------

RECOMPUTE_JOB = "compliance.recompute"


def request_recompute(session: Session, plan_id: str, trigger: str, as_of: date) -> None:
    """Ask for the plan's state to be recomputed, in the same transaction as the change that moves it. The job
    runner does it moments later. A request while one for the plan's year is queued merges into it, carrying the
    newest as-of date; the year is part of the subject because each year's state is kept on its own, so a
    request on New Year's Day does not swallow the last one of December."""
    request_job(session, RECOMPUTE_JOB, {"plan_id": plan_id, "trigger": trigger, "as_of": as_of.isoformat()},
                subject=f"{plan_id}:{as_of.year}", merge=_newest_as_of)


def _newest_as_of(queued: dict, asked: dict) -> dict:
    return asked if asked["as_of"] >= queued["as_of"] else queued


def refresh_stale(session: Session, today: date) -> int:
    """Ask for a recompute of every plan whose state for this year is missing or older than `today`; how many."""
    stale = stale_plans(session, today)
    for plan_id in stale:
        request_recompute(session, plan_id, "daily", today)
    return len(stale)


def run_recompute(session: Session, job: Job, vault: PiiVault) -> None:
    """The job runner's full recompute, asked for by `request_recompute`; it commits with the job's completion."""
    plan = session.get(Plan, job.payload["plan_id"])
    if plan is not None:  # (a plan removed since has nothing left to compute)
        recompute(session, vault, plan, date.fromisoformat(job.payload["as_of"]), job.payload["trigger"])


def recompute_after_pay_run(session: Session, event: PayRunPosted) -> None:
    """Every pay run moves year-to-date figures for everyone paid: the worker recomputes the whole plan."""
    request_recompute(session, event.plan_id, f"pay_run:{event.pay_run_id}", event.on)


def recompute_after_census(session: Session, event: CensusChanged) -> None:
    """Pay, ownership and officers decide HCE and key-employee status."""
    for plan_id in plans.plan_ids(session, employer_id=event.employer_id):
        request_recompute(session, plan_id, "census", event.on)


def move_after_election(session: Session, event: ElectionApproved, vault: PiiVault) -> None:
    """The averages move at once (incremental); the corrections follow with the worker's full computation."""
    update_after_election(session, vault, session.get(Plan, event.plan_id), event.employee_id, event.on)
    request_recompute(session, event.plan_id, f"election:{event.election_id}", event.on)
