"""Per-person annual limits: 402(g) with catch-up (414(v)), 415(c) annual additions, 401(a)(17).

Order matters and follows the Code: excess deferrals under 402(g) are settled first, the ADP/ACP tests
come after (IRC 401(m)(6)(D)). What is regular, catch-up or excess is decided by
`backend.irs.deferrals.classify_deferrals` (beside the 402(g) room payroll and the phone ask); the column payroll
put the money in plays no part.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from backend.compliance.engine_input import Participant
from backend.irs.deferrals import DeferralClassification, classify_deferrals
from backend.irs.limits import IrsLimits, limits_for


@dataclass(frozen=True)
class AnnualLimitResult:
    employee_id: str
    age_at_year_end: int
    plan_compensation_cents: int  # capped at 401(a)(17): what the tests may count
    deferrals: DeferralClassification  # this plan's deferrals: regular, catch-up, excess
    annual_additions_cents: int
    annual_additions_limit_cents: int
    excess_annual_additions_cents: int

    @property
    def catch_up_limit_cents(self) -> int:
        return self.deferrals.catch_up_limit_cents

    @property
    def catch_up_cents(self) -> int:
        return self.deferrals.catch_up_cents

    @property
    def unused_catch_up_cents(self) -> int:
        return self.deferrals.unused_catch_up_cents

    @property
    def excess_deferral_cents(self) -> int:
        """Over 402(g) plus catch-up across every plan: distribute by April 15."""
        return self.deferrals.excess_cents

    @property
    def excess_deferral_in_plan_cents(self) -> int:
        """The part of the excess deferrals this plan distributes."""
        return self.deferrals.excess_in_plan_cents

    @property
    def deferrals_not_catch_up_cents(self) -> int:
        """This plan's deferrals that are not catch-up: the regular ones and the excess deferrals."""
        return self.deferrals.regular_cents + self.deferrals.excess_in_plan_cents


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
    compensation = capped_compensation(p.compensation_cents, limits)
    # IRC 415(c)(1): the lesser of the dollar limit and 100% of compensation.
    additions_limit = min(limits.annual_additions_cents, compensation)
    # IRC 415(c)(2) annual additions besides this plan's deferrals; 415(f) treats the employer's plans as one,
    # so the deferrals to its other plans count too.
    other_additions = (p.other_plan_deferrals_cents + p.match_cents + p.nonelective_cents + p.qnec_cents
                       + p.after_tax_cents)
    age = p.age_at_end_of(year)
    deferrals = classify_deferrals(
        year, age, p.plan_deferrals_cents, p.elsewhere_deferrals_cents,
        other_additions_cents=other_additions, additions_limit_cents=additions_limit)
    additions = deferrals.regular_cents + other_additions
    return AnnualLimitResult(
        employee_id=p.employee_id,
        age_at_year_end=age,
        plan_compensation_cents=compensation,
        deferrals=deferrals,
        annual_additions_cents=additions,
        annual_additions_limit_cents=additions_limit,
        excess_annual_additions_cents=max(0, additions - additions_limit),
    )
