"""Fixing a failed ADP or ACP test (26 CFR 1.401(k)-2(b), 1.401(m)-2(b)) and what would have avoided it.

Refunds take two steps. Leveling ratios finds how much is excess in total; leveling dollars decides whose
money goes back. The two rarely agree person by person, and need not: once the total excess found by
leveling ratios is distributed by leveling dollars, the plan is treated as satisfying the test
(1.401(k)-2(b)(1)(i), (b)(2)). Re-running the ratios on the refunded amounts is not the check; applying the
leveling-ratio reductions is.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, Decimal

from backend.compliance.adp_acp import (ALTERNATIVE_MULTIPLE, ALTERNATIVE_POINTS, BASIC_MULTIPLE, HUNDREDTH,
                                        RatioTestResult, EmployeeRatio, contribution_ratio, group_average, passes)
from backend.money import HUNDRED, percent_of_cents
from backend.plans.schedules import add_months

_HALF_HUNDREDTH = Decimal("0.005")
# Search bound for a QNEC: 100% of pay is the most any contribution can be (IRC 415(c)(1)(B)).
_MAX_QNEC_HUNDREDTHS = 100_00


@dataclass(frozen=True)
class RatioLeveling:
    """Step one: the HCE ratios lowered from the top until the HCE average passes."""

    hce_ratio_cap: Decimal  # every HCE ratio above it is lowered to it
    reductions_cents: Mapping[str, int]  # per HCE: counted contributions minus cap x pay
    total_excess_cents: int


@dataclass(frozen=True)
class CorrectionDeadlines:
    without_excise_tax: date  # IRC 4979(f)(1): 2 1/2 months after the plan year, 6 months for an EACA
    latest: date  # IRC 401(k)(8)(A), 401(m)(6)(A): before the close of the following plan year
    qnec_latest: date  # 26 CFR 1.401(k)-2(a)(6)(i): within 12 months after the plan year


@dataclass(frozen=True)
class RefundCorrection:
    test: str
    hce_ratio_cap: Decimal
    total_excess_cents: int
    leveling_reductions_cents: Mapping[str, int]
    apportioned_cents: Mapping[str, int]  # step two, by leveling dollars
    recharacterized_catch_up_cents: Mapping[str, int]  # kept in the plan as catch-up (ADP only)
    refunds_cents: Mapping[str, int]  # paid out: apportioned minus re-characterized
    unallocated_cents: int  # excess no HCE had left in this plan to refund
    deadlines: CorrectionDeadlines


@dataclass(frozen=True)
class QnecAlternative:
    """A uniform QNEC, as a percent of pay, to every eligible NHCE: the smallest that passes."""

    percent: Decimal
    cost_cents: int
    nhce_average_after: Decimal


@dataclass(frozen=True)
class NhceIncrease:
    nhce_average_needed: Decimal
    points: Decimal  # how far the NHCE average must rise
    extra_contributions_cents: int  # `points` more of each NHCE's current pay
    nonparticipants: int  # eligible NHCEs contributing nothing
    nonparticipants_needed: int | None  # how many of them contributing `at_percent` would pass, if enough
    at_percent: Decimal | None  # the average ratio of the NHCEs who do contribute


def level_ratios(hces: Sequence[EmployeeRatio], highest_passing_average: Decimal) -> RatioLeveling:
    """Lower the highest HCE ratios together until the rounded HCE average is at most the limit.

    26 CFR 1.401(k)-2(b)(2)(ii): lower the highest ratio to the next highest, then the tied ones together,
    using a lesser reduction when it is enough. The lowered ratio is a ratio like any other in the test, so it
    is a hundredth of a point: the highest hundredth that makes the rounded average pass. Each HCE's excess is
    counted contributions minus the lowered ratio times pay, with pay x ratio floored to the cent so that the
    lowered contribution never rounds back above the cap.
    """
    if not hces:
        return RatioLeveling(Decimal("0.00"), {}, 0)
    hundredths = [int(m.ratio * HUNDRED) for m in hces]
    count = len(hces)
    target = int(highest_passing_average * HUNDRED)
    # round_half_up(total / count) <= target  <=>  2 * total < (2 * target + 1) * count
    max_total = ((2 * target + 1) * count - 1) // 2
    total = sum(hundredths)
    if total <= max_total:
        return RatioLeveling(Decimal(max(hundredths)).scaleb(-2), {}, 0)

    descending = sorted(hundredths, reverse=True)
    cap = 0
    rest = total
    for leveled in range(1, count + 1):
        rest -= descending[leveled - 1]
        cap = (max_total - rest) // leveled
        next_highest = descending[leveled] if leveled < count else -1
        if cap >= next_highest:
            break
    reductions = {}
    for member, ratio in zip(hces, hundredths):
        if ratio > cap:
            kept = member.compensation_cents * cap // 10_000
            reductions[member.employee_id] = member.counted_cents - kept
    return RatioLeveling(Decimal(cap).scaleb(-2), reductions, sum(reductions.values()))


def level_dollars(hces: Sequence[EmployeeRatio], total_excess_cents: int) -> tuple[dict[str, int], int]:
    """Apportion the total excess by leveling the highest dollar amounts: 26 CFR 1.401(k)-2(b)(2)(iii).

    The HCE with the most counted dollars is lowered to the next highest, then the tied ones together, until
    the excess is used up. Nobody gives back more than this plan holds for them (`refundable_cents`); what
    they cannot give moves on to the others. Returns (cents per HCE, cents nobody could give).
    """
    capacity = sum(m.refundable_cents for m in hces)
    if total_excess_cents >= capacity:
        return {m.employee_id: m.refundable_cents for m in hces if m.refundable_cents}, total_excess_cents - capacity
    if total_excess_cents <= 0:
        return {}, 0

    def given_above(level: int) -> int:
        return sum(min(m.refundable_cents, max(0, m.counted_cents - level)) for m in hces)

    # The lowest whole-cent level whose reductions fit within the excess (given_above falls as level rises).
    low, high = 0, max(m.counted_cents for m in hces)
    while low < high:
        middle = (low + high) // 2
        if given_above(middle) <= total_excess_cents:
            high = middle
        else:
            low = middle + 1
    level = low
    apportioned = {m.employee_id: min(m.refundable_cents, max(0, m.counted_cents - level)) for m in hces}
    # The cents left over split the tie among everyone still being lowered, one cent each, most dollars first.
    left = total_excess_cents - sum(apportioned.values())
    still_lowering = sorted(
        (m for m in hces if m.counted_cents >= level and m.counted_cents - level < m.refundable_cents),
        key=lambda m: (-m.counted_cents, m.employee_id),
    )
    for member in still_lowering[:left]:
        apportioned[member.employee_id] += 1
    return {k: v for k, v in apportioned.items() if v}, 0


def correct_by_refunds(result: RatioTestResult, *, plan_year_end: date, eaca: bool = False) -> RefundCorrection:
    """The refunds (and catch-up re-characterizations) that correct a failed test."""
    hces = result.hces
    if result.passed or result.limit is None:
        leveling = RatioLeveling(max((m.ratio for m in hces), default=Decimal("0.00")), {}, 0)
    else:
        leveling = level_ratios(hces, result.limit)
    apportioned, unallocated = level_dollars(hces, leveling.total_excess_cents)
    recharacterized: dict[str, int] = {}
    refunds: dict[str, int] = {}
    room = {m.employee_id: m.unused_catch_up_cents for m in hces}
    for employee_id, amount in apportioned.items():
        # 26 CFR 1.414(v)-1(b)(1): the ADP limit is one of the "applicable limits", so an excess contribution
        # within unused catch-up room is catch-up and stays. Matches and after-tax money (ACP) cannot be.
        kept = min(amount, room[employee_id]) if result.name == "ADP" else 0
        if kept:
            recharacterized[employee_id] = kept
        if amount - kept:
            refunds[employee_id] = amount - kept
    return RefundCorrection(
        test=result.name,
        hce_ratio_cap=leveling.hce_ratio_cap,
        total_excess_cents=leveling.total_excess_cents,
        leveling_reductions_cents=leveling.reductions_cents,
        apportioned_cents=apportioned,
        recharacterized_catch_up_cents=recharacterized,
        refunds_cents=refunds,
        unallocated_cents=unallocated,
        deadlines=correction_deadlines(plan_year_end, eaca=eaca),
    )


def correction_deadlines(plan_year_end: date, *, eaca: bool = False) -> CorrectionDeadlines:
    next_year_start = date.fromordinal(plan_year_end.toordinal() + 1)
    if eaca:
        # IRC 4979(f)(1) as amended by the Pension Protection Act: 6 months for an EACA.
        without_tax = add_months(plan_year_end, 6)
    else:
        # IRC 4979(f)(1): "2 1/2 months after the close of the plan year": March 15 for a calendar year.
        two_months_on = add_months(next_year_start, 2)
        without_tax = date(two_months_on.year, two_months_on.month, 15)
    year_after_end = add_months(plan_year_end, 12)
    return CorrectionDeadlines(without_excise_tax=without_tax, latest=year_after_end, qnec_latest=year_after_end)


def excess_deferral_deadline(year: int) -> date:
    """IRC 402(g)(2)(A)(ii): excess deferrals go back by April 15 of the following year."""
    return date(year + 1, 4, 15)


def minimum_nhce_average_to_pass(hce_average: Decimal) -> Decimal:
    """The lowest NHCE average (hundredths) at which `hce_average` passes.

    max(1.25N, min(2N, N + 2)) >= H  <=>  N >= H / 1.25, or (N >= H / 2 and N >= H - 2).
    """
    basic = (hce_average / BASIC_MULTIPLE).quantize(HUNDREDTH, rounding=ROUND_CEILING)
    alternative = max(hce_average / ALTERNATIVE_MULTIPLE, hce_average - ALTERNATIVE_POINTS)
    alternative = max(alternative, Decimal(0)).quantize(HUNDREDTH, rounding=ROUND_CEILING)
    needed = min(basic, alternative)
    assert passes(hce_average, needed)
    return needed


def nhce_increase_to_pass(result: RatioTestResult) -> NhceIncrease | None:
    """How much more the NHCEs would have to contribute for the current-year test to pass.

    None when the test passes or the NHCE figure is not this year's (prior-year method): then nothing the
    NHCEs do this year changes this year's test.
    """
    if result.passed or result.nhce_basis != "current_year" or result.hce_average is None:
        return None
    nhces = result.nhces
    needed = minimum_nhce_average_to_pass(result.hce_average)
    points = needed - result.nhce_average
    extra = sum(percent_of_cents(m.compensation_cents, points) for m in nhces)
    contributing = [m.ratio for m in nhces if m.counted_cents > 0]
    nonparticipants = len(nhces) - len(contributing)
    at_percent = group_average(contributing)
    nonparticipants_needed = None
    if at_percent:
        # The rounded average reaches `needed` once the sum of ratios reaches count x (needed - 0.005).
        shortfall = len(nhces) * (needed - _HALF_HUNDREDTH) - sum((m.ratio for m in nhces), Decimal(0))
        count = max(0, math.ceil(shortfall / at_percent))
        nonparticipants_needed = count if count <= nonparticipants else None
    return NhceIncrease(
        nhce_average_needed=needed,
        points=points,
        extra_contributions_cents=extra,
        nonparticipants=nonparticipants,
        nonparticipants_needed=nonparticipants_needed,
        at_percent=at_percent,
    )


def qnec_to_pass(result: RatioTestResult) -> QnecAlternative | None:
    """The smallest uniform QNEC percent (hundredths) to every eligible NHCE that makes the test pass.

    Under 26 CFR 1.401(k)-2(a)(6)(iv) a QNEC counts only up to the greater of 5% of pay and twice the
    representative contribution rate. A uniform rate is its own representative rate, so the cap (at least
    twice the rate) never bites and the whole QNEC counts. Only meaningful under the current-year method.
    """
    if result.passed or result.nhce_basis != "current_year" or result.hce_average is None:
        return None
    nhces = result.nhces

    def after_qnec(hundredths: int) -> tuple[Decimal, int]:
        percent = Decimal(hundredths).scaleb(-2)
        cost = 0
        ratios = []
        for m in nhces:
            qnec = percent_of_cents(m.compensation_cents, percent)
            cost += qnec
            ratios.append(contribution_ratio(m.counted_cents + qnec, m.compensation_cents))
        return group_average(ratios), cost

    def passing(hundredths: int) -> bool:
        return passes(result.hce_average, after_qnec(hundredths)[0])

    # A uniform QNEC of q points raises every NHCE ratio by about q, so the search starts at the points
    # missing from the NHCE average and brackets outwards: a handful of passes over the NHCEs, not thirty.
    guess = int((minimum_nhce_average_to_pass(result.hce_average) - result.nhce_average) * HUNDRED)
    high, step = min(max(guess, 1), _MAX_QNEC_HUNDREDTHS), 2
    while not passing(high):
        if high == _MAX_QNEC_HUNDREDTHS:
            return None
        high, step = min(high + step, _MAX_QNEC_HUNDREDTHS), step * 2
    low, step = high - 1, 2  # a QNEC of 0 fails: the test failed
    while low > 0 and passing(low):
        high, low, step = low, max(low - step, 0), step * 2
    while high - low > 1:  # low fails, high passes; passing only gets easier as the QNEC grows
        middle = (low + high) // 2
        if passing(middle):
            high = middle
        else:
            low = middle
    average, cost = after_qnec(high)
    return QnecAlternative(percent=Decimal(high).scaleb(-2), cost_cents=cost, nhce_average_after=average)


@dataclass(frozen=True)
class HceOutlook:
    """One HCE part-way through the year, for the highest election the plan can still allow."""

    employee_id: str
    counted_cents: int  # ADP-counted deferrals so far
    remaining_pay_cents: int  # pay still to come this year
    compensation_cents: int  # the year's projected pay, capped at 401(a)(17): the ratio's denominator
    room_cents: int  # what 402(g) still lets them defer outside catch-up


def highest_hce_election(hces: Sequence[HceOutlook], limit: Decimal) -> Decimal | None:
    """The highest deferral percent (hundredths) every HCE can elect on their remaining pay with the HCE average
    still at most `limit` (the highest passing HCE average). Assumes each HCE elects that rate, the worst case
    of an "up to" cap; 100 when no rate can fail the test; None when even 0% fails it (only refunds or NHCE
    contributions can fix the year)."""
    def average_at(rate_hundredths: int) -> Decimal:
        rate = Decimal(rate_hundredths) / HUNDRED
        return group_average(
            contribution_ratio(h.counted_cents + min(h.room_cents, percent_of_cents(h.remaining_pay_cents, rate)),
                               h.compensation_cents) for h in hces)

    if not hces or average_at(10000) <= limit:
        return HUNDRED.quantize(HUNDREDTH)
    if average_at(0) > limit:
        return None
    low, high = 0, 10000  # average_at(low) passes, average_at(high) fails
    while high - low > 1:
        middle = (low + high) // 2
        if average_at(middle) <= limit:
            low = middle
        else:
            high = middle
    return (Decimal(low) / HUNDRED).quantize(HUNDREDTH)
