"""Per-person annual limits: 402(g) with catch-up re-classing (414(v)), 415(c) annual additions, 401(a)(17).

Order matters and follows the Code: excess deferrals under 402(g) are settled first, the ADP/ACP tests
come after (IRC 401(m)(6)(D)). Deferrals above a limit are re-classed as catch-up while the person has
catch-up room, because a catch-up is not an excess (26 CFR 1.414(v)-1(b)(1)(i), (a)(1)).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from backend.irs.limits import IrsLimits, catch_up_limit, limits_for
from backend.compliance.model import Participant


@dataclass(frozen=True)
class AnnualLimitResult:
    employee_id: str
    age_at_year_end: int
    plan_compensation_cents: int  # capped at 401(a)(17): what the tests may count
    catch_up_limit_cents: int
    catch_up_cents: int  # payroll's catch-up plus what the engine re-classed
    reclassified_catch_up_cents: int
    unused_catch_up_cents: int  # room left, used when an ADP refund can be re-characterized instead
    deferrals_not_catch_up_cents: int  # this plan's pre-tax + Roth after re-classing (excess deferrals included)
    excess_deferral_cents: int  # over 402(g) + catch-up across every plan: distribute by April 15
    excess_deferral_in_plan_cents: int  # the part this plan distributes
    excess_deferral_from_deferrals_cents: int  # of that, the part inside deferrals_not_catch_up_cents
    annual_additions_cents: int
    annual_additions_limit_cents: int
    excess_annual_additions_cents: int


def capped_compensation(compensation_cents: int, limits: IrsLimits) -> int:
    """IRC 401(a)(17): pay above the limit is not taken into account under the plan."""
    return min(compensation_cents, limits.compensation_limit_cents)


def apply_annual_limits(participant: Participant, year: int) -> AnnualLimitResult:
    """402(g), catch-up and 415(c) for one participant in calendar `year` (plan year = calendar year)."""
    return _apply(participant, year, limits_for(year))


def annual_limit_results(participants: Iterable[Participant], year: int) -> Mapping[str, AnnualLimitResult]:
    limits = limits_for(year)
    return {p.employee_id: _apply(p, year, limits) for p in participants}


def _apply(p: Participant, year: int, limits: IrsLimits) -> AnnualLimitResult:
    age = p.age_at_end_of(year)
    catch_up_cap = catch_up_limit(year, age)
    room = max(0, catch_up_cap - p.catch_up_cents)
    deferrals = p.plan_deferrals_cents

    # IRC 402(g)(1)(A): one limit per person per calendar year over every plan, this employer's or not.
    elsewhere = p.other_plan_deferrals_cents + p.outside_deferrals_cents
    over_402g = max(0, deferrals + elsewhere - limits.elective_deferral_cents)
    # 26 CFR 1.414(v)-1(b)(1)(i): deferrals over a statutory limit are catch-up up to the catch-up limit.
    # Only this plan's own deferrals can be re-classed here.
    reclassified = min(over_402g, room, deferrals)
    room -= reclassified
    deferrals -= reclassified

    # IRC 402(g)(1)(C): a catch-up eligible person may defer the 402(g) limit plus the catch-up limit in all.
    total = p.plan_deferrals_cents + p.catch_up_cents + elsewhere
    excess_deferral = max(0, total - limits.elective_deferral_cents - catch_up_cap)
    # Our reading: the excess is distributed from this plan first, as far as this plan holds it. The
    # participant may instead claim it from another employer's plan (26 CFR 1.402(g)-1(e)(2)).
    excess_in_plan = min(excess_deferral, deferrals + p.catch_up_cents + reclassified)
    excess_from_deferrals = min(excess_in_plan, deferrals)

    compensation = capped_compensation(p.compensation_cents, limits)
    # IRC 415(c)(1): the lesser of the dollar limit and 100% of compensation.
    additions_limit = min(limits.annual_additions_cents, compensation)
    # IRC 415(c)(2) annual additions; catch-ups are left out (414(v)(3)(A)) and so are excess deferrals
    # distributed by April 15 (26 CFR 1.415(c)-1(b)(2)(ii)(D)). 415(f) treats the employer's plans as one,
    # so the deferrals to its other plans count too.
    additions = (
        deferrals - excess_from_deferrals + p.other_plan_deferrals_cents
        + p.match_cents + p.nonelective_cents + p.qnec_cents + p.after_tax_cents
    )
    over_415 = max(0, additions - additions_limit)
    # 26 CFR 1.414(v)-1(b)(1)(i): 415(c) is a statutory limit too; deferrals over it become catch-up first.
    reclassified_415 = min(over_415, room, deferrals - excess_from_deferrals)
    room -= reclassified_415
    deferrals -= reclassified_415
    additions -= reclassified_415
    reclassified += reclassified_415

    return AnnualLimitResult(
        employee_id=p.employee_id,
        age_at_year_end=age,
        plan_compensation_cents=compensation,
        catch_up_limit_cents=catch_up_cap,
        catch_up_cents=p.catch_up_cents + reclassified,
        reclassified_catch_up_cents=reclassified,
        unused_catch_up_cents=room,
        deferrals_not_catch_up_cents=deferrals,
        excess_deferral_cents=excess_deferral,
        excess_deferral_in_plan_cents=excess_in_plan,
        excess_deferral_from_deferrals_cents=excess_from_deferrals,
        annual_additions_cents=additions,
        annual_additions_limit_cents=additions_limit,
        excess_annual_additions_cents=max(0, additions - additions_limit),
    )
