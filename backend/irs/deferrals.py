"""What one person's elective deferrals for a calendar year are (regular, catch-up or excess) and how much more
they may defer: IRC 402(g), 414(v), 26 CFR 1.414(v)-1.

The rule decides what a deferral is, not the column payroll put it in. A deferral is a catch-up only as far as
it exceeds an applicable limit (402(g), 415(c), the ADP limit), and only up to the catch-up limit for the
person's age (26 CFR 1.414(v)-1(a)(1), (b)(1)). So every function here takes the deferrals whatever their label
(pre-tax, Roth and anything payroll called catch-up, added together), and the same dollars always give the same
answer. Payroll's findings, the 402(g) cap-and-stop, the phone's /limits and the compliance engine all ask here.

A leaf module: it reads only the IRS figures (backend.irs.limits).
"""

from __future__ import annotations

from dataclasses import dataclass

from backend.irs.limits import catch_up_limit, limits_for


@dataclass(frozen=True)
class DeferralClassification:
    """One person's deferrals to one plan for one calendar year, divided by the rule.

    regular_cents + catch_up_cents + excess_in_plan_cents is every deferral the plan received.
    """

    year: int
    age_at_year_end: int
    catch_up_limit_cents: int  # IRC 414(v)(2)(B)(i), or (E) at ages 60-63
    regular_cents: int  # within 402(g) and 415(c): what the ADP test counts (26 CFR 1.401(k)-2(a)(4))
    catch_up_cents: int  # over 402(g) or 415(c), within the catch-up limit: left out of the ADP test and 415(c)
    catch_up_over_415c_cents: int  # the part of catch_up_cents that is catch-up because of 415(c), not 402(g)
    excess_cents: int  # over 402(g) plus catch-up, over every plan: distributed by April 15 (402(g)(2))
    excess_in_plan_cents: int  # the part of excess_cents this plan holds, and so distributes
    unused_catch_up_cents: int  # catch-up room left: an ADP refund up to it is kept as catch-up instead

    @property
    def plan_deferrals_cents(self) -> int:
        return self.regular_cents + self.catch_up_cents + self.excess_in_plan_cents


def deferral_limit_cents(year: int, age_at_year_end: int | None) -> int:
    """What a person may defer in calendar `year` over every plan: the 402(g)(1)(B) figure plus the catch-up
    their age allows (IRC 402(g)(1)(C), 414(v)). `age_at_year_end=None` leaves the catch-up out: the least
    anyone may defer, known without a date of birth."""
    base = limits_for(year).elective_deferral_cents
    if age_at_year_end is None:
        return base
    _require_int("age_at_year_end", age_at_year_end)
    return base + catch_up_limit(year, age_at_year_end)


def deferral_room_cents(year: int, age_at_year_end: int | None, deferred_cents: int, elsewhere_cents: int = 0) -> int:
    """What a person may still defer in calendar `year` (never negative): the deferral limit
    (`deferral_limit_cents`) less what they deferred here (`deferred_cents`, every column, catch-up included)
    and in any other plan, this employer's or not (`elsewhere_cents`): IRC 402(g)(1)(A), (C).

    Catch-up only adds room, so the room without an age is the least there is. A caller that needs the age from
    an encrypted date of birth asks without it first, and opens the date only when an amount does not fit:

        room = deferral_room_cents(year, None, here, elsewhere)
        if amount > room:
            room = deferral_room_cents(year, age_at_year_end(...), here, elsewhere)
    """
    for name, value in (("deferred_cents", deferred_cents), ("elsewhere_cents", elsewhere_cents)):
        _require_cents(name, value)
    return max(0, deferral_limit_cents(year, age_at_year_end) - deferred_cents - elsewhere_cents)


def classify_deferrals(
    year: int,
    age_at_year_end: int,
    plan_deferrals_cents: int,
    elsewhere_cents: int = 0,
    *,
    other_additions_cents: int = 0,
    additions_limit_cents: int | None = None,
) -> DeferralClassification:
    """Divide a person's deferrals to this plan for calendar `year` into regular, catch-up and excess.

    `plan_deferrals_cents` is everything deferred to this plan, whatever the column: pre-tax + Roth + anything
    payroll labelled catch-up. `elsewhere_cents` is what the person deferred to every other plan in the year,
    the same employer's or another's: 402(g) is one limit per person (IRC 402(g)(1)(A)).

    402(g) first (IRC 402(g)(1)(C); 26 CFR 1.414(v)-1(b)(1)(i)): of all the year's deferrals, the first
    402(g)-limit dollars are regular, the next catch-up-limit dollars are catch-up, and the rest are excess
    deferrals. Our reading: this plan's deferrals are the year's last dollars, so what lies over a limit lies in
    this plan first and is corrected here (the participant may instead claim an excess from another employer's
    plan, 26 CFR 1.402(g)-1(e)(2)); the catch-up limit is shared with the other plans (1.414(v)-1(f)).

    Then 415(c), when `additions_limit_cents` is given (the person's 415(c)(1) limit: the lesser of the dollar
    figure and 100% of pay). 415(c) is a statutory limit too (1.414(v)-1(b)(1)(i)), so regular deferrals that
    take the annual additions (them plus `other_additions_cents`: employer contributions, after-tax money and
    deferrals to the employer's other plans, IRC 415(c)(2), 415(f)) over it are catch-up while room is left.
    Catch-ups and excess deferrals are not annual additions (IRC 414(v)(3)(A); 26 CFR 1.415(c)-1(b)(2)(ii)(D)).
    Without `additions_limit_cents` only 402(g) is applied, which is all a paycheck-by-paycheck question needs.
    """
    _require_int("age_at_year_end", age_at_year_end)
    for name, value in (("plan_deferrals_cents", plan_deferrals_cents), ("elsewhere_cents", elsewhere_cents),
                        ("other_additions_cents", other_additions_cents)):
        _require_cents(name, value)
    if additions_limit_cents is not None:
        _require_cents("additions_limit_cents", additions_limit_cents)
    base = limits_for(year).elective_deferral_cents
    catch_up_cap = catch_up_limit(year, age_at_year_end)

    # The year's deferrals stacked from the first dollar: elsewhere's, then this plan's on top.
    plan_from, plan_to = elsewhere_cents, elsewhere_cents + plan_deferrals_cents
    regular = _overlap(plan_from, plan_to, 0, base)
    catch_up = _overlap(plan_from, plan_to, base, base + catch_up_cap)
    excess_in_plan = plan_deferrals_cents - regular - catch_up
    excess = max(0, plan_to - base - catch_up_cap)
    room = catch_up_cap - _overlap(0, plan_to, base, base + catch_up_cap)

    over_415c = 0
    if additions_limit_cents is not None:
        over_415c = min(max(0, regular + other_additions_cents - additions_limit_cents), room, regular)
        regular, catch_up, room = regular - over_415c, catch_up + over_415c, room - over_415c

    return DeferralClassification(
        year=year,
        age_at_year_end=age_at_year_end,
        catch_up_limit_cents=catch_up_cap,
        regular_cents=regular,
        catch_up_cents=catch_up,
        catch_up_over_415c_cents=over_415c,
        excess_cents=excess,
        excess_in_plan_cents=excess_in_plan,
        unused_catch_up_cents=room,
    )


def _overlap(start: int, end: int, low: int, high: int) -> int:
    """How many of the cents from `start` to `end` lie between `low` and `high`."""
    return max(0, min(end, high) - max(start, low))


def _require_cents(name: str, value: object) -> None:
    _require_int(name, value)
    if value < 0:
        raise ValueError(f"{name} cannot be negative, got {value}")


def _require_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {value!r}")
