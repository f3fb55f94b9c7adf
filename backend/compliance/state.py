"""The plan's compliance state: computed from the live data, assessed (on track, narrow margin, at risk), stored
with a history point, read back, re-assessed when the sponsor changes the warning margin, and found stale once a
day has passed.

The stored state is two parts (models.ComplianceState): the last full computation, and the headline an election
moves incrementally (incremental.py), laid over it when read."""
import json
from collections.abc import Callable
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.audit import record_audit
from backend.compliance.early_warning import raise_warning
from backend.compliance.engine_input import PlanTestInput
from backend.compliance.live_input import plan_year_inputs
from backend.compliance.models import ComplianceSnapshot, ComplianceState
from backend.compliance.ratios import store_ratios
from backend.compliance.report import run_plan_tests
from backend.db import utcnow
from backend.events import ComplianceStateStored, publish
from backend.memory import collector_paused
from backend.money import percent_str
from backend.payroll.pay_history import payroll_covers_year
from backend.plans import service as plans
from backend.plans.models import Plan
from backend.plans.pii import PiiVault

WARNING_STATUSES = ("at_risk", "narrow_margin")
RATIO_TESTS = ("adp", "acp")
# What the headline keeps of each projected ratio test: what an election moves and what its update reads.
HEADLINE_FIGURES = ("exempt", "nhce_basis", "hce_average", "nhce_average", "limit", "margin", "passed")


def compliance_state(session: Session, vault: PiiVault, plan: Plan, as_of: date,
                     what_if: dict[str, Decimal] | None = None) -> dict:
    """Year-to-date and projected results of every test, with what would fix a failing projection, and the
    plan's status: at risk when the projection fails, narrow margin when it passes by less than the plan's
    warning margin. Computed now; nothing is stored."""
    with collector_paused():
        return state_of(session, plan, as_of, *plan_year_inputs(session, vault, plan, as_of, what_if))


def state_of(session: Session, plan: Plan, as_of: date, today_input: PlanTestInput, projected_input: PlanTestInput,
             members: dict | None = None) -> dict:
    """The state from the engine's two inputs; `members` receives the projection's ADP and ACP members."""
    today_result, projected = run_plan_tests(today_input), run_plan_tests(projected_input, members)
    state = {"as_of": as_of.isoformat(), "year": as_of.year, "year_to_date": today_result, "projection": projected,
             "prior_year_compensation": prior_year_basis(session, plan, as_of.year)}
    state.update(assess(projected, plan.compliance_warning_margin))
    return state


def assess(projection: dict, warning_margin: Decimal) -> dict:
    """The status of a projection: `at_risk` when ADP or ACP fails; `narrow_margin` when every test passes but
    one passes by less than `warning_margin` percentage points; `on_track` otherwise."""
    failing = [name for name in RATIO_TESTS if not projection[name]["passed"]]
    narrow = [name for name in RATIO_TESTS if projection[name]["passed"] and not projection[name]["exempt"]
              and projection[name]["margin"] is not None and Decimal(str(projection[name]["margin"])) < warning_margin]
    status = "at_risk" if failing else "narrow_margin" if narrow else "on_track"
    return {"status": status, "failing_tests": failing, "narrow_margin_tests": narrow,
            "warning_margin": percent_str(warning_margin)}


def prior_year_basis(session: Session, plan: Plan, year: int) -> str:
    """Where last year's pay (HCE look-back, IRC 414(q)) comes from: the plan's own payroll when it covers the
    whole of last year, otherwise the census's annual pay."""
    return "payroll" if payroll_covers_year(session, plan.id, year - 1) else "census"


def jsonable(value):
    """As the API shows it and as it is stored: Decimals as their exact digits in strings, dates as ISO text."""
    return json.loads(json.dumps(value, default=str))


def recompute(session: Session, vault: PiiVault, plan: Plan, as_of: date, trigger: str) -> dict:
    """Compute, store the state, the ratios the incremental update moves and a history point, and raise an early
    warning when the status turns at risk or narrow (once per change of status, never on every pay run while it
    stays so)."""
    members: dict = {}
    with collector_paused():
        state = state_of(session, plan, as_of, *plan_year_inputs(session, vault, plan, as_of), members)
        sums = store_ratios(session, plan.id, as_of.year, members["adp"], members["acp"])
        state = jsonable(state)
    state["refresh"] = "full"
    headline = {key: state[key] for key in ("as_of", "refresh", "status", "failing_tests", "narrow_margin_tests",
                                           "warning_margin")}
    headline["projection"] = {test: {key: state["projection"][test][key] for key in HEADLINE_FIGURES}
                              for test in RATIO_TESTS}
    headline["ratio_sums"] = sums
    stored = session.get(ComplianceState, (plan.id, as_of.year))
    if stored is None:  # a plan's first state warns as a change from on track
        stored = ComplianceState(plan_id=plan.id, year=as_of.year, status="on_track")
        session.add(stored)
    stored.result = state
    store_headline(session, plan, stored, headline, trigger)
    return state


def store_headline(session: Session, plan: Plan, stored: ComplianceState, headline: dict, trigger: str, *,
                   history: bool = True) -> None:
    """Keep what moved since the last full computation (the full result stays as it was), with a history point
    unless `history` is false, and, when the status turns at risk or narrow, an early warning."""
    previous = stored.status
    stored.status, stored.trigger, stored.computed_at, stored.headline = headline["status"], trigger, utcnow(), headline
    _record(session, plan, stored.year, previous, headline, lambda: with_headline(stored.result, headline), history)
    publish(session, ComplianceStateStored(plan.id, stored.year, stored.status))


def _record(session: Session, plan: Plan, year: int, previous: str, headline: dict,
            whole_state: Callable[[], dict], history: bool = True) -> None:
    if history:
        projection = headline["projection"]
        figures = {name: {key: projection[name][key] for key in ("hce_average", "nhce_average", "limit", "margin",
                                                                 "passed")} for name in RATIO_TESTS}
        figures["warning_margin"] = headline["warning_margin"]
        session.add(ComplianceSnapshot(plan_id=plan.id, year=year, status=headline["status"], figures=figures))
    if headline["status"] in WARNING_STATUSES and previous != headline["status"]:
        # The fix quotes the corrections, which only the whole state holds: read only when warning.
        raise_warning(session, plan, year, whole_state())


def with_headline(result: dict, headline: dict | None) -> dict:
    """The last full result with what has moved since laid over it."""
    if headline is None:
        return result
    projection = dict(result["projection"])
    for test, section in headline["projection"].items():
        projection[test] = {**projection[test], **section}
    moved = {key: value for key, value in headline.items() if key not in ("projection", "ratio_sums", "as_of")}
    return {**result, **moved, "projection": projection}


def stored_state(session: Session, plan: Plan, year: int) -> dict | None:
    """The state as last kept current (by the worker's full computation or an election's incremental update),
    with when and why; None before the first computation of the year."""
    stored = session.get(ComplianceState, (plan.id, year))
    if stored is None:
        return None
    return {**with_headline(stored.result, stored.headline), "computed_at": stored.computed_at,
            "trigger": stored.trigger}


def set_warning_margin(session: Session, actor, plan: Plan, margin: Decimal, today: date) -> None:
    """Change the margin below which a passing projection warns; the stored status is re-assessed at once."""
    before = plan.compliance_warning_margin
    plan.compliance_warning_margin = margin
    record_audit(session, actor, "plan.compliance_settings_changed", "plan", plan.id, employer_id=plan.employer_id,
                 changes={"warning_margin": {"from": percent_str(before), "to": percent_str(margin)}})
    stored = session.get(ComplianceState, (plan.id, today.year))
    if stored is not None and stored.headline is not None:
        headline = {**stored.headline, **assess(stored.headline["projection"], margin)}
        store_headline(session, plan, stored, headline, "settings")


def stale_plans(session: Session, today: date) -> list[str]:
    """The plans in effect whose state for this year is missing or was computed for an earlier day."""
    current = dict(session.execute(select(ComplianceState.plan_id, ComplianceState.headline["as_of"].as_string())
                                   .where(ComplianceState.year == today.year)).all())
    return [plan_id for plan_id in plans.plan_ids(session, in_effect_on=today)
            if current.get(plan_id) != today.isoformat()]


def headline_of(session: Session, plan_id: str, year: int) -> dict | None:
    """The stored status and projected ADP/ACP figures without the full result (a small read, for dashboards):
    status, the smallest projected margin of a tested ratio, and the projected HCE and NHCE average deferral
    ratios (ADP); None before the year's first full computation."""
    row = session.execute(select(ComplianceState.status, ComplianceState.headline)
                          .where(ComplianceState.plan_id == plan_id, ComplianceState.year == year)).first()
    if row is None or row.headline is None:
        return None
    projection = row.headline["projection"]
    margins = [Decimal(str(projection[test]["margin"])) for test in RATIO_TESTS
               if not projection[test]["exempt"] and projection[test]["margin"] is not None]
    adp = projection["adp"]
    return {"status": row.status, "margin": min(margins) if margins else None,
            "hce_average": None if adp["hce_average"] is None else Decimal(str(adp["hce_average"])),
            "nhce_average": None if adp["nhce_average"] is None else Decimal(str(adp["nhce_average"]))}
