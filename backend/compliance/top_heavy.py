"""Top-heavy status and the minimum contribution it brings (IRC 416, 26 CFR 1.416-1)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from backend.compliance.annual import AnnualLimitResult
from backend.compliance.engine_input import SAFE_HARBOR_MATCH_KINDS, Participant
from backend.money import HUNDRED, percent_of_cents, round_half_up

# IRC 416(g)(1)(A)(i): top-heavy when key employees' share "exceeds 60 percent"; exactly 60% is not.
TOP_HEAVY_OVER_PERCENT = Decimal(60)
# IRC 416(c)(2)(A): 3% of pay, or the highest key-employee rate if lower (416(c)(2)(B)).
MINIMUM_CONTRIBUTION_PERCENT = Decimal(3)


@dataclass(frozen=True)
class TopHeavyResult:
    determination_date: date
    key_employees: tuple[str, ...]
    key_balance_cents: int
    total_balance_cents: int
    ratio: Decimal  # key employees' share of balances, percent to two places (display only)
    is_top_heavy: bool
    exempt: bool
    exempt_reason: str | None
    minimum_percent: Decimal | None  # the rate owed to non-key participants, when top-heavy and not exempt
    minimum_owed_cents: Mapping[str, int]  # employer money still owed per non-key participant


def determination_date(year: int, *, first_plan_year: bool = False) -> date:
    """IRC 416(g)(4)(C): the last day of the preceding plan year; for the first plan year, its own last day."""
    return date(year if first_plan_year else year - 1, 12, 31)


def counted_in_ratio(participant: Participant, key_ids: frozenset[str], *, first_plan_year: bool) -> bool:
    if participant.former_key_employee and participant.employee_id not in key_ids:
        return False  # IRC 416(g)(4)(B): a former key employee's balance is left out
    served = participant.served_in_prior_year
    if served is None:
        # Our inference when not told: pay in the year ending on the determination date means service in it.
        served = first_plan_year or bool(participant.prior_year_compensation_cents)
    return served  # IRC 416(g)(4)(E): no service in the year ending on the determination date: left out


def top_heavy_safe_harbor_exemption(participants: Iterable[Participant], safe_harbor: str | None) -> str | None:
    """Why the plan is exempt under IRC 416(g)(4)(H), or None.

    The exemption holds for a safe-harbor 401(k) that receives only deferrals and safe-harbor contributions.
    The census does not say which money is safe harbor, so we read it from the kind: a match plan may hold
    deferrals and matches; a non-elective plan deferrals and non-elective contributions. After-tax money,
    QNECs, or the other kind of employer money lose the exemption.
    """
    if safe_harbor is None:
        return None
    match_plan = safe_harbor in SAFE_HARBOR_MATCH_KINDS
    for p in participants:
        if p.after_tax_cents or p.qnec_cents:
            return None
        if (p.nonelective_cents if match_plan else p.match_cents):
            return None
    return f"safe-harbor plan ({safe_harbor}) with only deferrals and safe-harbor contributions, IRC 416(g)(4)(H)"


def run_top_heavy_test(
    participants: Iterable[Participant],
    year: int,
    key_ids: frozenset[str],
    annual: Mapping[str, AnnualLimitResult],
    *,
    first_plan_year: bool = False,
    safe_harbor: str | None = None,
) -> TopHeavyResult:
    participants = list(participants)
    key_balance = 0
    total_balance = 0
    for p in participants:
        if not counted_in_ratio(p, key_ids, first_plan_year=first_plan_year):
            continue
        # IRC 416(g)(3)(A): distributions in the year ending on the determination date are added back.
        balance = p.account_balance_cents + p.prior_year_distributions_cents
        total_balance += balance
        if p.employee_id in key_ids:
            key_balance += balance
    # Compared exactly in cents: a ratio that rounds to 60.00 may still exceed 60.
    is_top_heavy = key_balance * HUNDRED > TOP_HEAVY_OVER_PERCENT * total_balance
    ratio = Decimal("0.00")
    if total_balance:
        ratio = round_half_up(Decimal(key_balance) * HUNDRED / Decimal(total_balance), 2)
    exempt_reason = top_heavy_safe_harbor_exemption(participants, safe_harbor)

    minimum_percent = None
    owed: dict[str, int] = {}
    if is_top_heavy and exempt_reason is None:
        minimum_percent = min(MINIMUM_CONTRIBUTION_PERCENT, highest_key_employee_rate(participants, key_ids, annual))
        for p in participants:
            # IRC 416(c)(2)(A); 26 CFR 1.416-1, M-10: every non-key participant employed at year end, whatever
            # their hours and whether or not they defer.
            if p.employee_id in key_ids or not p.eligible or not p.employed_at_year_end:
                continue
            required = percent_of_cents(annual[p.employee_id].plan_compensation_cents, minimum_percent)
            # Matches count toward the minimum (IRC 416(c)(2)(A), flush); the employee's own deferrals do not
            # (26 CFR 1.416-1, M-20).
            given = p.match_cents + p.nonelective_cents + p.qnec_cents
            if required > given:
                owed[p.employee_id] = required - given
    return TopHeavyResult(
        determination_date=determination_date(year, first_plan_year=first_plan_year),
        key_employees=tuple(sorted(key_ids)),
        key_balance_cents=key_balance,
        total_balance_cents=total_balance,
        ratio=ratio,
        is_top_heavy=is_top_heavy,
        exempt=exempt_reason is not None,
        exempt_reason=exempt_reason,
        minimum_percent=minimum_percent,
        minimum_owed_cents=owed,
    )


def highest_key_employee_rate(
    participants: Iterable[Participant], key_ids: frozenset[str], annual: Mapping[str, AnnualLimitResult]
) -> Decimal:
    """IRC 416(c)(2)(B): the highest rate of contributions for a key employee this year, deferrals included
    (26 CFR 1.416-1, M-20) but not this year's catch-ups (IRC 414(v)(3)(B) names 416)."""
    highest = Decimal(0)
    for p in participants:
        if p.employee_id not in key_ids:
            continue
        limits = annual[p.employee_id]
        if not limits.plan_compensation_cents:
            continue
        contributions = limits.deferrals_not_catch_up_cents + p.match_cents + p.nonelective_cents + p.qnec_cents
        highest = max(highest, Decimal(contributions) * HUNDRED / Decimal(limits.plan_compensation_cents))
    return highest
