"""What a pay statement is checked for, rule by rule, over a snapshot built by hand: no database, no HTTP. Each
worked example names its rule; the figures are 2026's (402(g) $24,500, catch-up $8,000 at 50+, $11,250 at 60-63).
"""
from collections import defaultdict
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

from backend.enrollment.elections import ElectionTerms, LineTerms
from backend.irs import limits as irs
from backend.payroll import findings
from backend.payroll.snapshot import RunSnapshot

PAY_DATE = date(2026, 11, 20)


def snapshot(*, entry=date(2026, 1, 1), election=None, ytd_here=0, outside=0, age=40, asked_ages=None):
    """Employee "emp_1", paid on PAY_DATE, with the record the findings read."""
    def age_at_year_end(_employee_id):
        if asked_ages is not None:
            asked_ages.append(_employee_id)
        return age

    return RunSnapshot(
        employer=None, pay_date=PAY_DATE, limits=irs.limits_for(2026), tiers=[],
        default_fund="fnd_1", by_id={"emp_1": employee()}, entry_dates={"emp_1": entry},
        statuses={"emp_1": "eligible"}, elections={"emp_1": election} if election else {}, allocations={}, prices={},
        age_at_year_end=age_at_year_end, outside_deferrals={"emp_1": outside},
        ytd_deferrals=defaultdict(int, {"emp_1": ytd_here}))


def employee(termination_date=None, rehire_date=None):
    return SimpleNamespace(id="emp_1", external_id="E1", first_name="Pat", last_name="Lee",
                           termination_date=termination_date, rehire_date=rehire_date)


def election(*lines, kind="election"):
    return ElectionTerms("ele_1", "emp_1", 1, kind, date(2026, 1, 2), None, tuple(lines))


def statement(comp=300_000, **extra):
    return {"external_id": "E1", "plan_compensation_cents": comp, "hours": "80", **extra}


def codes(found):
    return [f.code for f in found]


# ---- eligibility (IRC 410(a); the plan's entry dates) -------------------------------------------------------------

def test_deferrals_before_the_entry_date_are_held():
    found = findings.not_eligible(snapshot(entry=date(2026, 12, 1)), "emp_1", 18_000)
    assert (found.code, found.severity, found.details) == (
        "not_eligible", "hold", {"entry_date": "2026-12-01", "deferred_cents": 18_000})
    assert "Deferrals of $180.00 were withheld before the employee's entry date (2026-12-01)." == found.message


def test_deferrals_on_the_entry_date_itself_are_fine():
    assert findings.not_eligible(snapshot(entry=PAY_DATE), "emp_1", 18_000) is None


def test_an_employee_without_a_determination_is_held_as_not_yet_known():
    found = findings.not_eligible(snapshot(entry=None), "emp_1", 100)
    assert "(not yet known)" in found.message and found.details["entry_date"] is None


def test_deferrals_after_an_opt_out_are_held():
    """IRC 414(w): an employee who opted out of automatic enrollment must not have deferrals withheld."""
    found = findings.opted_out(snapshot(election=election(kind="opt_out")), "emp_1", 9_000)
    assert (found.code, found.severity) == ("opted_out", "hold")


# ---- 402(g) with catch-up by age (IRC 402(g)(1), 414(v)) --------------------------------------------------------

def test_a_paycheck_past_402g_is_held_with_the_room_left():
    """$24,000 deferred this year, $1,000 on this paycheck, age 40: $500 of room, so $500 over."""
    found = findings.over_402g(snapshot(ytd_here=2_400_000), "emp_1", 100_000)
    assert found.details == {"room_cents": 50_000, "deferred_cents": 100_000, "year": 2026}
    assert "pass the 2026 limit of 402(g) plus catch-up by $500.00" in found.message


def test_catch_up_at_50_makes_room_and_the_age_is_read_only_when_needed():
    asked = []
    assert findings.over_402g(snapshot(ytd_here=2_400_000, age=55, asked_ages=asked), "emp_1", 100_000) is None
    assert asked == ["emp_1"]  # the paycheck passed the base limit, so the sealed date of birth was opened
    asked.clear()
    assert findings.over_402g(snapshot(ytd_here=1_000_000, age=55, asked_ages=asked), "emp_1", 100_000) is None
    assert asked == []  # well under the base limit: no need to know the age


def test_ages_60_to_63_have_the_larger_catch_up():
    """IRC 414(v)(2)(E): $11,250 instead of $8,000 in 2026 for someone turning 60-63."""
    near = snapshot(ytd_here=2_450_000 + 1_000_000, age=61)  # $10,000 of catch-up used
    assert findings.over_402g(near, "emp_1", 125_000) is None  # $1,250 more is the last of it
    assert findings.over_402g(near, "emp_1", 125_001).details["room_cents"] == 125_000


def test_deferrals_at_another_employer_count_toward_the_same_limit():
    found = findings.over_402g(snapshot(ytd_here=1_400_000, outside=1_000_000), "emp_1", 100_000)
    assert found.details["room_cents"] == 50_000


# ---- the election in effect (a one-cent tolerance per line) ------------------------------------------------------

def test_withholding_within_a_cent_of_the_election_is_payrolls_rounding():
    six_percent = snapshot(election=election(LineTerms("pretax", Decimal(6), None)))
    assert findings.deferral_mismatches(six_percent, "emp_1", 300_000, {"pretax": 18_001}) == []
    assert findings.deferral_mismatches(six_percent, "emp_1", 300_000, {"pretax": 17_999}) == []


def test_under_withholding_is_a_missed_deferral_opportunity():
    """IRS 401(k) Fix-It Guide, mistake 7: the employer may owe a corrective contribution."""
    six_percent = snapshot(election=election(LineTerms("pretax", Decimal(6), None), LineTerms("roth", None, 5_000)))
    found = findings.deferral_mismatches(six_percent, "emp_1", 300_000, {"pretax": 15_000, "roth": 5_000})
    assert [(f.code, f.severity, f.details["expected_cents"], f.details["withheld_cents"]) for f in found] == [
        ("deferral_mismatch", "warning", 18_000, 15_000)]
    assert "under-withheld by $30.00" in found[0].message and "missed deferral opportunity" in found[0].message


def test_withholding_without_an_election_is_over_withholding():
    found = findings.deferral_mismatches(snapshot(), "emp_1", 300_000, {"roth": 2_500})
    assert [(f.details["money_type"], f.details["expected_cents"]) for f in found] == [("roth", 0)]
    assert "over-withheld" in found[0].message and "missed" not in found[0].message


# ---- the statement as a whole ---------------------------------------------------------------------------------

def test_deferring_before_entry_is_said_once_not_again_as_a_mismatch():
    found = findings.statement_findings(snapshot(entry=date(2026, 12, 1)), employee(), statement(),
                                        {"pretax": 18_000}, new_hire=False)
    assert codes(found) == ["not_eligible"]


def test_a_new_hire_paid_after_termination_without_hours_gets_three_warnings():
    found = findings.statement_findings(snapshot(), employee(termination_date=date(2026, 10, 31)),
                                        statement(hours=None), {}, new_hire=True)
    assert codes(found) == ["new_hire_added", "paid_after_termination", "missing_hours"]
    assert all(f.severity == "warning" for f in found)


def test_the_final_paycheck_that_carries_the_termination_date_is_not_paid_after_termination():
    found = findings.paid_after_termination(snapshot(), employee(termination_date=date(2026, 11, 14)),
                                            statement(termination_date="2026-11-14"))
    assert found is None


def test_the_catch_up_column_counts_toward_402g_like_any_other():
    """26 CFR 1.414(v)-1: what payroll labels catch-up is still an elective deferral for 402(g)."""
    one = findings.statement_findings(snapshot(ytd_here=2_400_000), employee(), statement(),
                                      {"pretax": 100_000}, new_hire=False)
    other = findings.statement_findings(snapshot(ytd_here=2_400_000), employee(), statement(),
                                        {"pretax_catchup": 100_000}, new_hire=False)
    assert [f.details for f in one if f.code == "over_402g"] == [f.details for f in other if f.code == "over_402g"]


def test_a_rehired_employee_is_not_paid_after_termination():
    """The one "still employed" rule (eligibility.terminated_on): a rehire since the last day is employed again."""
    rehired = employee(termination_date=date(2025, 1, 31), rehire_date=date(2025, 6, 2))
    assert findings.paid_after_termination(snapshot(), rehired, statement()) is None
    rehired_next_month = employee(termination_date=date(2026, 10, 31), rehire_date=date(2026, 12, 1))
    assert findings.paid_after_termination(snapshot(), rehired_next_month, statement()).code == \
        "paid_after_termination"


def test_each_finding_carries_in_its_details_every_figure_its_message_names():
    """The app says a finding in the reader's language from its code and details, never by parsing the English
    message, so each figure and name in the message is also in the details."""
    found = findings.statement_findings(snapshot(), employee(termination_date=date(2026, 10, 31)),
                                        statement(hours=None), {}, new_hire=True)
    details = {f.code: f.details for f in found}
    assert details["new_hire_added"] == {"employee_name": "Pat Lee"}
    assert details["paid_after_termination"] == {"termination_date": "2026-10-31", "pay_date": "2026-11-20"}
    assert details["missing_hours"] == {}
    opted = findings.opted_out(snapshot(election=election(kind="opt_out")), "emp_1", 9_000)
    assert opted.details == {"deferred_cents": 9_000, "opted_out_on": "2026-01-02"}
