"""The incremental update after one employee's election changes: their projected ratios are recomputed from their
own data and the group averages moved by the difference, without testing the whole plan again. The worker's full
computation follows (service.move_after_election) and brings the corrections up to date."""
from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from backend.compliance.adp_acp import highest_passing_hce_average
from backend.compliance.live_input import projected_input
from backend.compliance.models import ComplianceState
from backend.compliance.ratios import averages, move_ratios, stored_ratios
from backend.compliance.report import PASSING_CORRECTION, ratio_test_members
from backend.compliance.state import RATIO_TESTS, assess, jsonable, store_headline
from backend.money import round_half_up
from backend.plans.models import Plan
from backend.plans.pii import PiiVault


def update_after_election(session: Session, vault: PiiVault, plan: Plan, employee_id: str,
                          as_of: date) -> dict | None:
    """Move the stored projection by one employee's new election. When a test now fails, its corrections (who is
    refunded how much) are those of the last full computation, marked `corrections_stale` until the worker's
    full computation, which follows. The moved headline (status, projected ADP and ACP figures), or None when
    there is nothing stored to move (the full computation does it all)."""
    # Locked: two elections at once must each move the sums the other left.
    stored = session.get(ComplianceState, (plan.id, as_of.year), with_for_update=True)
    if stored is None or stored.headline is None:
        return None
    person_input = projected_input(session, vault, plan, as_of, employee_id)
    if person_input is None:
        return None
    person = person_input.participants[0]
    row = stored_ratios(session, plan.id, as_of.year, person.employee_id)
    if row is None:
        return None  # not tested (not eligible) at the last full computation
    # Their HCE status is the last full computation's: it looks back at last year's pay and ownership only.
    adp, acp = ratio_test_members(person_input, frozenset([person.employee_id]) if row.hce else frozenset())
    sums = move_ratios(row, adp[0].ratio if adp else Decimal(0), acp[0].ratio if acp else Decimal(0),
                       stored.headline["ratio_sums"])
    projection = {}
    for test in RATIO_TESTS:
        section = dict(stored.headline["projection"][test])
        projection[test] = section
        if section["exempt"] or section["nhce_basis"] == "no_nhces":
            continue
        by_group = averages(sums, "adr" if test == "adp" else "acr")
        if True not in by_group:
            continue
        hce = round_half_up(by_group[True], 2)
        if section["nhce_basis"] == "current_year":
            nhce = round_half_up(by_group[False], 2) if False in by_group else None
        else:  # the prior year's (or the deemed first-year) NHCE average, which no election this year moves
            nhce = None if section["nhce_average"] is None else Decimal(section["nhce_average"])
        if nhce is None:
            continue
        limit = highest_passing_hce_average(nhce)
        was_passing = section["passed"]
        section.update(hce_average=str(hce), nhce_average=str(nhce), limit=str(limit), margin=str(limit - hce),
                       passed=hce <= limit)
        if section["passed"]:
            section.update(jsonable(dict(PASSING_CORRECTION)), corrections_stale=False)
        elif was_passing or section.get("corrections_stale"):
            section["corrections_stale"] = True
    headline = {**stored.headline, "projection": projection, "ratio_sums": sums, "refresh": "incremental",
                **assess(projection, plan.compliance_warning_margin)}
    # No history point: the worker's full computation, which follows every election, records one.
    store_headline(session, plan, stored, headline, f"election:{employee_id}", history=False)
    return headline

