"""The correction plan for a plan year and the PDF report's data, from one reading of the plan's live data: after
the year has ended, from its final figures; during it, from the year-end projection, with the highest deferral
percent HCEs can still elect and the ADP test still pass. The rules themselves are in correction.py."""
from datetime import date

from sqlalchemy.orm import Session

from backend.compliance.adp_acp import adp_members
from backend.compliance.annual import annual_limit_results, capped_compensation
from backend.compliance.correction import HceOutlook, highest_hce_election
from backend.compliance.engine_input import PlanTestInput
from backend.compliance.live_input import plan_year_inputs
from backend.compliance.report import run_plan_tests
from backend.compliance.state import state_of
from backend.errors import ValidationFailed
from backend.irs.deferrals import deferral_room_cents
from backend.irs.limits import limits_for
from backend.memory import collector_paused
from backend.plans.models import Plan
from backend.plans.pii import PiiVault

_CORRECTION_KEYS = ("exempt", "passed", "hce_average", "nhce_average", "limit", "margin", "total_excess", "refunds",
                    "recharacterized_catch_up", "unallocated_excess", "hce_ratio_cap", "deadlines", "qnec",
                    "nhce_increase")


def correction_plan(session: Session, vault: PiiVault, plan: Plan, year: int, today: date) -> dict:
    """What it takes to fix a plan year: after the year has ended, from its final figures; during it, from the
    year-end projection, with the highest deferral percent HCEs can still elect and the test still pass."""
    final, as_of = _plan_year(plan, year, today)
    with collector_paused():
        today_input, projected_input = plan_year_inputs(session, vault, plan, as_of)
        return _correction(final, as_of, today_input, projected_input,
                           run_plan_tests(today_input if final else projected_input))


def compliance_report(session: Session, vault: PiiVault, plan: Plan, year: int, today: date) -> tuple[dict, dict]:
    """(state, correction plan) for the PDF report, from one reading of the plan's data: as of today for the
    current year, as of December 31 for a year that has ended."""
    final, as_of = _plan_year(plan, year, today)
    with collector_paused():
        today_input, projected_input = plan_year_inputs(session, vault, plan, as_of)
        state = state_of(session, plan, as_of, today_input, projected_input)
        return state, _correction(final, as_of, today_input, projected_input,
                                  state["year_to_date"] if final else state["projection"])


def _plan_year(plan: Plan, year: int, today: date) -> tuple[bool, date]:
    """(whether the year has ended, the day its figures are taken); a year the plan did not run is refused."""
    if not plan.effective_date.year <= year <= today.year:
        raise ValidationFailed([("year", f"must be a plan year from {plan.effective_date.year} to {today.year}")])
    final = year < today.year
    return final, date(year, 12, 31) if final else today


def _correction(final: bool, as_of: date, today_input: PlanTestInput, projected_input: PlanTestInput,
                result: dict) -> dict:
    sections = {name: {key: result[name][key] for key in _CORRECTION_KEYS} for name in ("adp", "acp")}
    owed = result["top_heavy"]["minimum_owed"]
    deadlines = dict(result["deadlines"])
    for name in ("adp", "acp"):
        for key, day in (result[name]["deadlines"] or {}).items():
            deadlines[f"{name}_{key}"] = day
    return {"year": as_of.year, "basis": "final" if final else "projected", "as_of": as_of.isoformat(),
            "passed": all(s["passed"] for s in sections.values()) and not result["limit_402g"]
            and not result["limit_415c"] and not owed,
            **sections, "limit_402g": result["limit_402g"], "limit_415c": result["limit_415c"],
            "top_heavy_minimum_owed": owed, "deadlines": deadlines,
            "hce_election_cap": None if final else _hce_election_cap(today_input, projected_input, result)}


def _hce_election_cap(today_input: PlanTestInput, projected_input: PlanTestInput, result: dict) -> dict | None:
    section = result["adp"]
    if section["exempt"] or section["limit"] is None or not result["hce"]:
        return None
    hces = frozenset(result["hce"])
    # Only the HCEs are read: an HCE's counted deferrals do not depend on anyone else's.
    hces_today = [p for p in today_input.participants if p.employee_id in hces]
    counted = {m.employee_id: m.counted_cents
               for m in adp_members(hces_today, annual_limit_results(hces_today, today_input.year), hces)}
    year_pay = {p.employee_id: p.compensation_cents for p in projected_input.participants if p.employee_id in hces}
    limits = limits_for(projected_input.year)
    outlook = [HceOutlook(employee_id=p.employee_id, counted_cents=counted[p.employee_id],
                          remaining_pay_cents=max(0, year_pay[p.employee_id] - p.compensation_cents),
                          compensation_cents=capped_compensation(year_pay[p.employee_id], limits),
                          room_cents=deferral_room_cents(today_input.year, None, p.plan_deferrals_cents,
                                                         p.elsewhere_deferrals_cents))
               for p in hces_today if p.employee_id in counted]
    percent = highest_hce_election(outlook, section["limit"])
    return {"percent": percent, "limit": section["limit"], "hces": sorted(h.employee_id for h in outlook)}
