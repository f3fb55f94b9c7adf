"""Employer matching formulas expressed as tiers of the employee's deferral percent.

"100% of the first 3% of pay plus 50% of the next 2%" is
[MatchTier(0, 3, 100), MatchTier(3, 5, 50)]: each tier matches `match_rate_percent` of the part of
the deferral percent that falls between `deferral_from_percent` and `deferral_to_percent`.

`match_for_paycheck` is the one answer to "what match does this paycheck earn?": payroll posts it and the
compliance projection prices the rest of the year with it (`match_for_paychecks`), so the two never differ.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, Inexact, localcontext
from typing import NamedTuple

from backend.money import percent_of_cents

_ZERO = Decimal(0)
_HUNDRED = Decimal(100)
# A 400% match is already far beyond anything sponsors offer; a bigger rate is almost certainly a
# typo (e.g. 5000 meaning 50.00%), so it is rejected rather than silently funded.
_MAX_RATE = Decimal(400)
# Enough digits that tier arithmetic on any realistic percent is exact; Inexact is trapped so an
# input that somehow needs more fails loudly instead of rounding someone's match.
_EXACT_PRECISION = 100


@dataclass(frozen=True)
class MatchTier:
    deferral_from_percent: Decimal
    deferral_to_percent: Decimal
    match_rate_percent: Decimal


def _tier(deferral_from: int, deferral_to: int, rate: int) -> MatchTier:
    return MatchTier(Decimal(deferral_from), Decimal(deferral_to), Decimal(rate))


# IRC 401(k)(12)(B)(i)(I)-(II): 100% of the first 3% plus 50% of the next 2% of compensation.
SAFE_HARBOR_BASIC = (_tier(0, 3, 100), _tier(3, 5, 50))
# IRC 401(k)(12)(B)(ii): any formula at least as generous as the basic one at every deferral rate;
# 100% of the first 4% is the common choice, and stays under the 6%-of-pay cap of IRC 401(m)(11)(B).
SAFE_HARBOR_ENHANCED = (_tier(0, 4, 100),)
# IRC 401(k)(13)(D)(i)(I): QACA match, 100% of the first 1% plus 50% of the next 5%.
QACA_BASIC = (_tier(0, 1, 100), _tier(1, 6, 50))

_FIELDS = ("deferral_from_percent", "deferral_to_percent", "match_rate_percent")


def validate_tiers(tiers: Sequence[MatchTier]) -> list[tuple[str, str]]:
    """Problems as (field, message), field like "match_tiers[1].deferral_from_percent"; [] = valid."""
    problems: list[tuple[str, str]] = []
    ranges: list[tuple[Decimal, Decimal, int]] = []
    for index, tier in enumerate(tiers):
        prefix = f"match_tiers[{index}]"
        if not isinstance(tier, MatchTier):
            problems.append((prefix, f"must be a MatchTier, not {type(tier).__name__}"))
            continue
        well_typed = True
        for name in _FIELDS:
            value = getattr(tier, name)
            if not _is_exact_number(value):
                # Floats are refused: 0.1 as a float is not 0.1, and matches must be exact.
                problems.append((f"{prefix}.{name}", f"must be a Decimal, not {type(value).__name__}"))
                well_typed = False
            elif not Decimal(value).is_finite():
                problems.append((f"{prefix}.{name}", f"must be a finite number, got {value}"))
                well_typed = False
        if not well_typed:
            continue
        low, high, rate = (Decimal(getattr(tier, name)) for name in _FIELDS)
        if low < _ZERO:
            problems.append((f"{prefix}.deferral_from_percent", f"must be at least 0%, got {_fmt(low)}%"))
        if high > _HUNDRED:
            problems.append((f"{prefix}.deferral_to_percent", f"cannot exceed 100% of pay, got {_fmt(high)}%"))
        if low >= high:
            problems.append(
                (
                    f"{prefix}.deferral_to_percent",
                    f"must be greater than deferral_from_percent ({_fmt(low)}%), got {_fmt(high)}%",
                )
            )
        if not _ZERO < rate <= _MAX_RATE:
            problems.append(
                (
                    f"{prefix}.match_rate_percent",
                    f"must be more than 0% and at most {_fmt(_MAX_RATE)}%, got {_fmt(rate)}%",
                )
            )
        if _ZERO <= low < high:
            ranges.append((low, high, index))

    # Overlapping tiers would match the same slice of deferral twice. Every pair is compared, not
    # just neighbours, because one wide tier can overlap several narrow ones after it.
    ranges.sort()
    for position, (low_a, high_a, index_a) in enumerate(ranges):
        for low_b, high_b, index_b in ranges[position + 1 :]:
            if low_b < high_a:
                problems.append(
                    (
                        f"match_tiers[{index_b}].deferral_from_percent",
                        f"match tier {index_b} ({_fmt(low_b)}%-{_fmt(high_b)}%) overlaps match tier "
                        f"{index_a} ({_fmt(low_a)}%-{_fmt(high_a)}%)",
                    )
                )
    return problems


def match_percent_of_pay(tiers: Sequence[MatchTier], deferral_percent: Decimal) -> Decimal:
    _require_valid(tiers)
    if not _is_exact_number(deferral_percent):
        raise TypeError(f"deferral_percent must be a Decimal, not {type(deferral_percent).__name__}")
    deferral = Decimal(deferral_percent)
    if not deferral.is_finite() or not _ZERO <= deferral <= _HUNDRED:
        raise ValueError(f"deferral_percent must be between 0 and 100, got {deferral_percent}")
    with localcontext() as context:
        context.prec = _EXACT_PRECISION
        context.traps[Inexact] = True
        total = _ZERO
        for tier in tiers:
            low, high, rate = (Decimal(getattr(tier, name)) for name in _FIELDS)
            matched_slice = min(deferral, high) - low
            if matched_slice > _ZERO:
                total += rate * matched_slice
        return total / _HUNDRED


def full_match_deferral_percent(tiers: Sequence[MatchTier]) -> Decimal:
    """The deferral percent beyond which the match stops growing; 0 for a plan with no match."""
    _require_valid(tiers)
    return max((Decimal(tier.deferral_to_percent) for tier in tiers), default=_ZERO)


def max_match_percent_of_pay(tiers: Sequence[MatchTier]) -> Decimal:
    return match_percent_of_pay(tiers, full_match_deferral_percent(tiers))


def match_for_paycheck(
    tiers: Sequence[MatchTier], pay_cents: int, deferred_cents: int, pay_room_cents: int | None = None
) -> int:
    """The employer match one paycheck earns, in cents, on the pay the plan may count.

    IRC 401(a)(17): pay beyond the year's compensation limit is not taken into account, so the match is
    worked out per paycheck on the counted pay: `pay_room_cents` is what is left of the limit after the pay
    already counted this year (`limits_for(year).compensation_limit_cents` minus it; None: no cap, a negative
    room: none left). Only the first `pay_room_cents` of this paycheck count; once the limit is reached a
    paycheck earns no match. A $500,000 earner paid biweekly in 2026 earns a full match on 18 paychecks, part
    of one on the 19th and none after: the match stops growing once $360,000 of pay has been counted.

    The formula matches deferrals up to each tier's percent of the counted pay, so the deferral percent is
    the paycheck's deferrals over the counted pay (at most 100%): on the paycheck that reaches the limit,
    deferrals withheld on the uncounted part still fill the tiers of the counted part.
    """
    for name, value in (("pay_cents", pay_cents), ("deferred_cents", deferred_cents)):
        _require_count(name, value)
    counted = pay_cents
    if pay_room_cents is not None:
        _require_int("pay_room_cents", pay_room_cents)
        counted = max(0, min(pay_cents, pay_room_cents))
    if not tiers or counted == 0 or deferred_cents == 0:
        return 0
    percent = min(_HUNDRED, Decimal(deferred_cents) * _HUNDRED / Decimal(counted))
    return percent_of_cents(counted, match_percent_of_pay(tiers, percent))


class MatchedPaychecks(NamedTuple):
    match_cents: int
    pay_room_cents: int | None  # what is left of the 401(a)(17) limit after these paychecks; None: uncapped


def match_for_paychecks(
    tiers: Sequence[MatchTier], pay_cents: int, deferred_cents: int, paychecks: int,
    pay_room_cents: int | None = None,
) -> MatchedPaychecks:
    """The match on `paychecks` equal paychecks in a row, each priced by `match_for_paycheck` with the room
    the earlier ones left, and the room left after them: a projection prices one election after another,
    passing each call's room to the next."""
    _require_count("paychecks", paychecks)
    each = match_for_paycheck(tiers, pay_cents, deferred_cents)
    if pay_room_cents is None:
        return MatchedPaychecks(each * paychecks, None)
    _require_int("pay_room_cents", pay_room_cents)
    room = max(0, pay_room_cents)
    full = paychecks if pay_cents == 0 else min(paychecks, room // pay_cents)
    match, room = each * full, room - pay_cents * full
    if full < paychecks:
        # The paycheck that reaches the limit counts what is left; every later one counts nothing.
        match += match_for_paycheck(tiers, pay_cents, deferred_cents, room)
        room = 0
    return MatchedPaychecks(match, room)


def _require_count(name: str, value: object) -> None:
    _require_int(name, value)
    if value < 0:
        raise ValueError(f"{name} cannot be negative, got {value}")


def _require_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")


def _require_valid(tiers: Sequence[MatchTier]) -> None:
    # Pay runs apply one formula to thousands of paychecks: check each distinct formula once.
    problems = _cached_problems(tuple(tiers)) if all(isinstance(t, MatchTier) for t in tiers) else validate_tiers(tiers)
    if problems:
        raise ValueError("invalid match tiers: " + "; ".join(f"{field}: {message}" for field, message in problems))


@functools.lru_cache(maxsize=256)
def _cached_problems(tiers: tuple[MatchTier, ...]) -> tuple[tuple[str, str], ...]:
    return tuple(validate_tiers(tiers))


def _is_exact_number(value: object) -> bool:
    return isinstance(value, Decimal) or (isinstance(value, int) and not isinstance(value, bool))


def _fmt(percent: Decimal) -> str:
    return format(Decimal(percent).normalize(), "f")
