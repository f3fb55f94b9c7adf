"""The ADP test (IRC 401(k)(3), 26 CFR 1.401(k)-2(a)) and the ACP test (IRC 401(m)(2), 26 CFR 1.401(m)-2(a)).

Every eligible employee is in the test, with a ratio of 0 when nothing was contributed. Ratios and group
averages are Decimal percents rounded to the hundredth of a point, halves up: binary floats turn 3.775 into
3.77 and fail the regulations' own examples.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from backend.compliance.annual import AnnualLimitResult
from backend.compliance.engine_input import Participant
from backend.money import HUNDRED, percent_of_cents, round_half_up

HUNDREDTH = Decimal("0.01")
# IRC 401(k)(3)(A)(ii)(I) and (II): 1.25 times; or 2 points more and at most 2 times.
BASIC_MULTIPLE = Decimal("1.25")
ALTERNATIVE_POINTS = Decimal(2)
ALTERNATIVE_MULTIPLE = Decimal(2)
# IRC 401(k)(3)(E), 401(m)(3) flush; 26 CFR 1.401(k)-2(c)(2), 1.401(m)-2(c)(2): the first plan year under
# the prior-year method may use 3% for the NHCEs.
DEEMED_FIRST_YEAR_NHCE_PERCENT = Decimal(3)
# 26 CFR 1.401(k)-2(a)(6)(iv): a QNEC counts for an NHCE only up to the greater of 5% of pay and twice the
# plan's representative contribution rate.
QNEC_FLAT_CAP_PERCENT = Decimal(5)
QNEC_REPRESENTATIVE_MULTIPLE = Decimal(2)


@dataclass(frozen=True)
class EmployeeRatio:
    """One eligible employee in one test: what counts in the ratio and what this plan could refund."""

    employee_id: str
    hce: bool
    compensation_cents: int  # 414(s) pay capped at 401(a)(17)
    counted_cents: int  # the ratio's numerator
    refundable_cents: int  # the part held by this plan; never more than counted_cents
    unused_catch_up_cents: int  # catch-up room for re-characterizing an ADP refund (0 in the ACP)
    ratio: Decimal


@dataclass(frozen=True)
class RatioTestResult:
    name: str  # "ADP" or "ACP"
    exempt: bool
    exempt_reason: str | None
    method: str
    nhce_basis: str
    hce_average: Decimal | None  # None when no eligible HCE
    nhce_average: Decimal | None  # None when no eligible NHCE (current-year method)
    limit: Decimal | None  # the highest HCE average that passes
    passed: bool
    members: tuple[EmployeeRatio, ...]

    @property
    def hce_ids(self) -> tuple[str, ...]:
        return tuple(m.employee_id for m in self.members if m.hce)

    @property
    def hces(self) -> tuple[EmployeeRatio, ...]:
        return tuple(m for m in self.members if m.hce)

    @property
    def nhces(self) -> tuple[EmployeeRatio, ...]:
        return tuple(m for m in self.members if not m.hce)

    @property
    def margin(self) -> Decimal | None:
        """Points of HCE average left before failing (negative when failing)."""
        if self.limit is None or self.hce_average is None:
            return None
        return self.limit - self.hce_average


def contribution_ratio(contribution_cents: int, compensation_cents: int) -> Decimal:
    """An ADR or ACR as a percent, to the nearest hundredth of a point, halves up.

    26 CFR 1.401(k)-2(a)(3)(i), 1.401(m)-2(a)(3)(i). An eligible employee paid nothing in the year can
    contribute nothing; we give them 0 rather than leaving them out.
    """
    if compensation_cents <= 0 or contribution_cents == 0:
        return _NO_RATIO
    return round_half_up(Decimal(contribution_cents) * HUNDRED / Decimal(compensation_cents), 2)


_NO_RATIO = Decimal("0.00")


def group_average(ratios: Iterable[Decimal]) -> Decimal | None:
    """The plain mean of the rounded ratios, rounded again to hundredths (26 CFR 1.401(k)-2(a)(2)(i))."""
    total = Decimal(0)
    count = 0
    for ratio in ratios:
        total += ratio
        count += 1
    if count == 0:
        return None
    return round_half_up(total / count, 2)


def highest_passing_hce_average(nhce_average: Decimal) -> Decimal:
    """The highest HCE average that passes: max(1.25N, min(2N, N + 2)), IRC 401(k)(3)(A)(ii).

    HCE averages are hundredths, so the bound is floored to a hundredth: with N = 3.78, 1.25N = 4.725 and an
    HCE average of 4.73 fails the 1.25 test; 4.72 is the highest that passes it.
    """
    bound = max(nhce_average * BASIC_MULTIPLE,
                min(nhce_average * ALTERNATIVE_MULTIPLE, nhce_average + ALTERNATIVE_POINTS))
    return bound.quantize(HUNDREDTH, rounding=ROUND_FLOOR)


def passes(hce_average: Decimal, nhce_average: Decimal) -> bool:
    """Equality passes: the tests say "not more than"."""
    return hce_average <= highest_passing_hce_average(nhce_average)


def adp_members(
    participants: Iterable[Participant],
    annual: Mapping[str, AnnualLimitResult],
    hces: frozenset[str],
) -> list[EmployeeRatio]:
    """The ADP test's eligible employees with their elective deferrals (pre-tax + Roth, catch-up excluded)."""
    eligible = [p for p in participants if p.eligible]
    countable_qnec = qnec_countable_cents(
        [(p.employee_id, p.qnec_cents, annual[p.employee_id].plan_compensation_cents, p.employed_at_year_end)
         for p in eligible if p.employee_id not in hces])
    members = []
    for p in eligible:
        limits = annual[p.employee_id]
        hce = p.employee_id in hces
        # IRC 414(v)(3)(B): catch-ups are left out, as the rule classes them (not as payroll labelled them).
        deferrals = limits.deferrals
        if hce:
            # 26 CFR 1.401(k)-2(a)(4)(iii), 1.402(g)-1(e)(1)(ii): an HCE's excess deferrals stay in the test even
            # when distributed, but money already going back under 402(g) cannot be refunded a second time.
            refundable = deferrals.regular_cents + p.qnec_cents
            # IRC 401(k)(3)(A), flush: an HCE's deferrals under every plan of the employer count in this one.
            counted = refundable + deferrals.excess_in_plan_cents + p.other_plan_deferrals_cents
        else:
            # 26 CFR 1.401(k)-2(a)(5)(ii), 1.402(g)-1(e)(1)(ii): an NHCE's distributed excess deferrals are
            # left out, once.
            counted = deferrals.regular_cents + countable_qnec.get(p.employee_id, 0)
            refundable = counted
        members.append(EmployeeRatio(
            employee_id=p.employee_id,
            hce=hce,
            compensation_cents=limits.plan_compensation_cents,
            counted_cents=counted,
            refundable_cents=refundable,
            unused_catch_up_cents=limits.unused_catch_up_cents,
            ratio=contribution_ratio(counted, limits.plan_compensation_cents),
        ))
    return members


def acp_members(
    participants: Iterable[Participant],
    annual: Mapping[str, AnnualLimitResult],
    hces: frozenset[str],
    *,
    matches_counted: bool = True,
) -> list[EmployeeRatio]:
    """The ACP test's eligible employees with matching + after-tax contributions (IRC 401(m)(3)).

    `matches_counted=False` under a safe-harbor match: IRC 401(m)(11)(A) deems the test met "with respect to
    matching contributions" only, so after-tax contributions are still tested, on their own.
    """
    members = []
    for p in participants:
        if not p.eligible:
            continue
        compensation = annual[p.employee_id].plan_compensation_cents
        counted = p.after_tax_cents + (p.match_cents if matches_counted else 0)
        members.append(EmployeeRatio(
            employee_id=p.employee_id,
            hce=p.employee_id in hces,
            compensation_cents=compensation,
            counted_cents=counted,
            refundable_cents=counted,
            unused_catch_up_cents=0,
            ratio=contribution_ratio(counted, compensation),
        ))
    return members


def run_ratio_test(
    name: str,
    members: Sequence[EmployeeRatio],
    *,
    method: str = "current",
    prior_nhce_average: Decimal | None = None,
    first_plan_year: bool = False,
) -> RatioTestResult:
    """Run the ADP or ACP test on `members` with the current-year or prior-year method."""
    hce_average = group_average(m.ratio for m in members if m.hce)
    if method == "current":
        nhce_average = group_average(m.ratio for m in members if not m.hce)
        basis = "current_year" if nhce_average is not None else "no_nhces"
    elif method == "prior":
        if first_plan_year:
            nhce_average, basis = DEEMED_FIRST_YEAR_NHCE_PERCENT, "deemed_first_year"
        elif prior_nhce_average is None:
            if not hce_average:
                # No HCE contributions to test: last year's average cannot change the outcome.
                return RatioTestResult(name, False, None, method, "prior_year", hce_average, None, None, True,
                                       tuple(members))
            raise ValueError(f"the prior-year method needs last year's NHCE {name} average")
        else:
            nhce_average, basis = prior_nhce_average, "prior_year"
    else:
        raise ValueError(f"unknown testing method {method!r}")

    if nhce_average is None:
        # 26 CFR 1.401(k)-2(a)(1)(ii), 1.401(m)-2(a)(1)(ii): only HCEs eligible, deemed to pass.
        return RatioTestResult(name, False, None, method, basis, hce_average, None, None, True, tuple(members))
    limit = highest_passing_hce_average(nhce_average)
    passed = hce_average is None or hce_average <= limit
    return RatioTestResult(name, False, None, method, basis, hce_average, nhce_average, limit, passed, tuple(members))


def exempt_result(name: str, reason: str, method: str, members: Sequence[EmployeeRatio]) -> RatioTestResult:
    """A safe-harbor plan's test: deemed met, shown with its figures for information."""
    hce_average = group_average(m.ratio for m in members if m.hce)
    nhce_average = group_average(m.ratio for m in members if not m.hce)
    limit = highest_passing_hce_average(nhce_average) if nhce_average is not None else None
    return RatioTestResult(name, True, reason, method, "current_year" if nhce_average is not None else "no_nhces",
                           hce_average, nhce_average, limit, True, tuple(members))


def qnec_countable_cents(nhces: Sequence[tuple[str, int, int, bool]]) -> dict[str, int]:
    """How much of each NHCE's QNEC the ADP test may count: 26 CFR 1.401(k)-2(a)(6)(iv).

    `nhces` holds (employee id, QNEC cents, capped pay cents, employed at year end). A QNEC counts up to the
    greater of 5% of pay and twice the representative contribution rate: the lowest rate within the half of
    eligible NHCEs with the highest rates, or if greater the lowest rate of any NHCE employed at year end.
    Those left out count nothing (with no QNEC at all, nobody is listed).
    """
    if not any(qnec for _, qnec, _, _ in nhces):
        return {}
    rates = [(Decimal(qnec) * HUNDRED / Decimal(pay)) if pay else Decimal(0) for _, qnec, pay, _ in nhces]
    highest_first = sorted(rates, reverse=True)
    representative = highest_first[math.ceil(len(rates) / 2) - 1]
    at_year_end = [rate for rate, (_, _, _, employed) in zip(rates, nhces) if employed]
    if at_year_end:
        representative = max(representative, min(at_year_end))
    cap_percent = max(QNEC_FLAT_CAP_PERCENT, QNEC_REPRESENTATIVE_MULTIPLE * representative)
    return {employee_id: min(qnec, percent_of_cents(pay, cap_percent)) for employee_id, qnec, pay, _ in nhces}
