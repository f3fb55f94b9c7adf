"""The live compliance services on a real database session, without HTTP: a plan, its census and its elections
built through the services (as bench/compliance.py does), then the projection, the stored state, the incremental
update and the warnings, each with a worked example. The HTTP flow is tests/flows/test_live_compliance.py."""
from datetime import date
from decimal import Decimal
from itertools import count

import pytest
from sqlalchemy import select

from backend.audit import Actor
from backend.compliance import service as compliance
from backend.compliance.models import ComplianceWarning
from backend.db import new_id
from backend.enrollment.models import DeferralElection, ElectionLine
from backend.identity.service import Principal
from backend.plans import service as plans
from backend.plans.match import match_for_paychecks
from backend.plans.models import Plan

# Biweekly from Friday, January 2, 2026: 26 pay dates, the last on December 18. After September 30, six remain:
# October 9 and 23, November 6 and 20, December 4 and 18.
ANCHOR = date(2026, 1, 2)
SEPTEMBER_30 = date(2026, 9, 30)
FIGURES = ("hce_average", "nhce_average", "limit", "margin", "passed")
_eins = count(10)


def new_plan(plumb, people: list[dict]) -> tuple[str, dict[str, str]]:
    """A traditional plan (50% match on the first 6%, immediate entry) for `people` (external_id, pay in
    dollars, and optionally born, ownership): (plan id, {external id: employee id})."""
    number = next(_eins)
    with plumb.db.transaction() as session:
        actor = Actor.system("tests")
        setup = plans.setup_plan(session, plumb.vault, actor, Principal("usr_tests", "platform_admin", None, None), {
            "template": "traditional",
            "employer": {"name": f"Live State {number}", "ein": f"{number}-{1000000 + number}",
                         "address": {"line1": "1 Main", "city": "Provo", "state": "UT", "postal_code": "84601"},
                         "payroll": {"frequency": "biweekly", "anchor_pay_date": ANCHOR}},
            "sponsor_admin": {"email": f"sponsor-{number}@example.com"},
            "plan": {"effective_date": date(2025, 1, 1), "requires_approval": False,
                     "eligibility": {"min_age": 21, "service_months": 0, "entry_frequency": "immediate"}}})
        rows = [{"external_id": p["external_id"], "first_name": "Pat", "last_name": p["external_id"],
                 "date_of_birth": p.get("born", date(1985, 6, 1)), "ssn": f"{300000000 + number * 100 + i}",
                 "hire_date": date(2018, 1, 8), "annual_compensation": str(p["pay"]),
                 "ownership_percent": str(p.get("ownership", 0)), "officer": False}
                for i, p in enumerate(people)]
        result = plans.load_census(session, plumb.vault, actor, setup.employer, rows, date(2025, 12, 1))
        return setup.plan.id, {e.external_id: e.id for e in result.employees}


_versions = count(1)


def elect(plumb, plan_id: str, employee_id: str, effective: date, **percents) -> None:
    """An approved election from `effective`: pretax=6, roth=2 (percent of pay)."""
    with plumb.db.transaction() as session:
        session.add(DeferralElection(
            id=new_id("ele"), employee_id=employee_id, plan_id=plan_id, version=next(_versions), kind="election",
            status="approved", effective_date=effective,
            lines=[ElectionLine(position=i, money_type=money_type, percent=Decimal(percent))
                   for i, (money_type, percent) in enumerate(percents.items())]))


def projected(plumb, plan_id: str, as_of: date) -> dict:
    with plumb.db.transaction() as session:
        _, year_end = compliance.plan_year_inputs(session, plumb.vault, session.get(Plan, plan_id), as_of)
    return {p.employee_id: p for p in year_end.participants}


def recompute(plumb, plan_id: str, as_of: date = SEPTEMBER_30) -> dict:
    with plumb.db.transaction() as session:
        return compliance.recompute(session, plumb.vault, session.get(Plan, plan_id), as_of, "tests")


def move(plumb, plan_id: str, employee_id: str, as_of: date = SEPTEMBER_30) -> dict | None:
    with plumb.db.transaction() as session:
        return compliance.update_after_election(session, plumb.vault, session.get(Plan, plan_id), employee_id, as_of)


def warnings_of(plumb, plan_id: str) -> list[str]:
    with plumb.db.transaction() as session:
        return list(session.scalars(select(ComplianceWarning.status).where(ComplianceWarning.plan_id == plan_id)
                                    .order_by(ComplianceWarning.raised_at, ComplianceWarning.id)))


def test_the_projection_applies_each_election_on_the_pay_dates_it_covers(plumb):
    # $52,000 a year is $2,000 a paycheck. 4% pre-tax since January covers October 9 and 23; 6% pre-tax and 2%
    # Roth from November 1 cover the last four paychecks; an election from December 25 covers none.
    plan_id, ids = new_plan(plumb, [{"external_id": "N1", "pay": 52000}])
    elect(plumb, plan_id, ids["N1"], date(2026, 1, 2), pretax=4)
    elect(plumb, plan_id, ids["N1"], date(2026, 11, 1), pretax=6, roth=2)
    elect(plumb, plan_id, ids["N1"], date(2026, 12, 25), pretax=50)

    n1 = projected(plumb, plan_id, SEPTEMBER_30)["N1"]

    assert n1.compensation_cents == 6 * 2000_00
    assert n1.pretax_cents == 2 * 80_00 + 4 * 120_00  # 2 × 4% and 4 × 6% of $2,000: $640
    assert n1.roth_cents == 4 * 40_00  # 4 × 2%: $160
    # 50% of the first 6%: 2% of pay on the 4% paychecks, 3% (the cap) on the 8% ones: $80 + $240.
    assert n1.match_cents == 2 * 40_00 + 4 * 60_00


def test_the_projected_match_stops_at_the_401a17_limit_for_a_500000_earner_as_payrolls_does(plumb):
    # From New Year's Day all 26 paychecks remain: $500,000 / 26 = $19,230.76 each, 6% deferred ($1,153.85),
    # matched 3% ($576.92). 2026's compensation limit (IRC 401(a)(17)) is $360,000: 18 paychecks
    # ($346,153.68) count in full, the 19th for its first $13,846.32 (match 3% of it, $415.39), later ones not
    # at all. Payroll prices each paycheck the same way (plans.match.match_for_paychecks).
    plan_id, ids = new_plan(plumb, [{"external_id": "BIG", "pay": 500000}, {"external_id": "N1", "pay": 52000}])
    elect(plumb, plan_id, ids["BIG"], date(2026, 1, 2), pretax=6)

    big = projected(plumb, plan_id, date(2026, 1, 1))["BIG"]

    assert big.compensation_cents == 26 * 19_230_76  # the engine caps pay itself, where the Code says so
    assert big.pretax_cents == 26 * 1_153_85
    assert big.match_cents == 18 * 576_92 + 415_39 == 10_799_95  # not 26 × $576.92 = $14,999.92
    with plumb.db.transaction() as session:
        tiers = plans.match_tiers(session.get(Plan, plan_id))
    assert big.match_cents == match_for_paychecks(tiers, 19_230_76, 1_153_85, 26, 360_000_00).match_cents


@pytest.fixture
def mixed_plan(plumb):
    """An owner and a highly paid employee (HCEs: the census's pay stands in for last year's) and four NHCEs,
    with elections in effect since January."""
    plan_id, ids = new_plan(plumb, [
        {"external_id": "OWN", "pay": 200000, "ownership": 100, "born": date(1970, 1, 1)},
        {"external_id": "HCE2", "pay": 180000},
        *({"external_id": f"N{i}", "pay": 52000} for i in (1, 2, 3, 4))])
    for external_id, percent in (("OWN", 8), ("HCE2", 5), ("N1", 3), ("N2", 4)):
        elect(plumb, plan_id, ids[external_id], date(2026, 1, 2), pretax=percent)
    return plan_id, ids


@pytest.mark.parametrize("who, percent", [("HCE2", 10), ("N3", 6)])
def test_the_incremental_update_after_an_election_equals_a_full_recompute(plumb, mixed_plan, who, percent):
    plan_id, ids = mixed_plan
    before = recompute(plumb, plan_id)
    elect(plumb, plan_id, ids[who], date(2026, 10, 5), pretax=percent)

    moved = move(plumb, plan_id, ids[who])
    full = recompute(plumb, plan_id)

    assert moved["refresh"] == "incremental" and full["refresh"] == "full"
    for test in ("adp", "acp"):
        assert {k: moved["projection"][test][k] for k in FIGURES} == {k: full["projection"][test][k] for k in FIGURES}
    assert moved["status"] == full["status"]
    group = "hce_average" if who == "HCE2" else "nhce_average"
    assert moved["projection"]["adp"][group] != before["projection"]["adp"][group]  # the election did move it


def test_the_stored_state_is_the_last_full_result_with_what_the_election_moved(plumb, mixed_plan):
    plan_id, ids = mixed_plan
    full = recompute(plumb, plan_id)
    elect(plumb, plan_id, ids["N3"], date(2026, 10, 5), pretax=6)
    moved = move(plumb, plan_id, ids["N3"])

    with plumb.db.transaction() as session:
        stored = compliance.stored_state(session, session.get(Plan, plan_id), 2026)

    assert (stored["refresh"], stored["trigger"]) == ("incremental", f"election:{ids['N3']}")
    assert stored["projection"]["adp"]["nhce_average"] == moved["projection"]["adp"]["nhce_average"]
    # What an election does not move is the last full computation's.
    assert stored["year_to_date"] == full["year_to_date"]
    assert stored["projection"]["hce"] == full["projection"]["hce"] == ["HCE2", "OWN"]


def test_a_plan_with_no_stored_state_is_computed_live_and_nothing_is_stored(plumb, mixed_plan):
    plan_id, ids = mixed_plan
    with plumb.db.transaction() as session:
        plan = session.get(Plan, plan_id)
        assert compliance.stored_state(session, plan, 2026) is None
        live = compliance.compliance_state(session, plumb.vault, plan, SEPTEMBER_30)
    # Nothing stored to move: the worker's full computation, which follows every election, does it all.
    assert move(plumb, plan_id, ids["N1"]) is None
    with plumb.db.transaction() as session:
        assert compliance.stored_state(session, session.get(Plan, plan_id), 2026) is None

    # OWN defers 8%, HCE2 5%: HCEs average 6.50%. The NHCEs 3, 4, 0 and 0: 1.75%, so the highest passing HCE
    # average is max(1.25 × 1.75, min(2 × 1.75, 1.75 + 2)) = 3.50% (IRC 401(k)(3)(A)(ii)).
    adp = live["projection"]["adp"]
    assert (adp["hce_average"], adp["nhce_average"], adp["limit"]) == (Decimal("6.50"), Decimal("1.75"),
                                                                       Decimal("3.50"))
    assert (live["status"], live["failing_tests"]) == ("at_risk", ["adp", "acp"])


def test_the_warning_is_raised_once_per_change_of_status(plumb):
    # An owner deferring 7% and three NHCEs deferring nothing: the projection fails.
    plan_id, ids = new_plan(plumb, [{"external_id": "OWN", "pay": 200000, "ownership": 100},
                                    *({"external_id": f"N{i}", "pay": 52000} for i in (1, 2, 3))])
    elect(plumb, plan_id, ids["OWN"], date(2026, 1, 2), pretax=7)

    assert recompute(plumb, plan_id)["status"] == "at_risk"
    assert recompute(plumb, plan_id)["status"] == "at_risk"  # still at risk: no second warning
    assert warnings_of(plumb, plan_id) == ["at_risk"]

    # Each NHCE elects 6% from October 1, for the six paychecks left (no pay is posted yet, so those are their
    # year): the NHCE average moves 2.00, 4.00, 6.00%, the limit 4.00, 6.00, 8.00% against the owner's 7.00%.
    statuses = []
    for name in ("N1", "N2", "N3"):
        elect(plumb, plan_id, ids[name], date(2026, 10, 1), pretax=6)
        statuses.append(move(plumb, plan_id, ids[name])["status"])
    assert statuses == ["at_risk", "at_risk", "on_track"]
    assert warnings_of(plumb, plan_id) == ["at_risk"]  # turning on track warns of nothing
    passing = recompute(plumb, plan_id)
    assert (passing["status"], passing["projection"]["adp"]["margin"]) == ("on_track", "1.00")

    # A warning margin of 2 points turns a 1-point margin narrow: a warning of its own, once.
    with plumb.db.transaction() as session:
        compliance.set_warning_margin(session, Actor.system("tests"), session.get(Plan, plan_id), Decimal(2),
                                      date(2026, 11, 24))
    assert recompute(plumb, plan_id)["status"] == "narrow_margin"
    assert warnings_of(plumb, plan_id) == ["at_risk", "narrow_margin"]

    # The owner raises their election to 20%: the incremental update turns the status at risk and warns at once,
    # with the corrections marked stale until the full computation.
    elect(plumb, plan_id, ids["OWN"], date(2026, 10, 1), pretax=20)
    moved = move(plumb, plan_id, ids["OWN"])
    assert moved["status"] == "at_risk" and moved["projection"]["adp"]["corrections_stale"] is True
    assert warnings_of(plumb, plan_id) == ["at_risk", "narrow_margin", "at_risk"]
    assert recompute(plumb, plan_id)["status"] == "at_risk"
    assert warnings_of(plumb, plan_id) == ["at_risk", "narrow_margin", "at_risk"]
