"""Who is highly compensated (IRC 414(q)) and who is a key employee (IRC 416(i)(1)).

Both look at 415(c)(3) pay without the 401(a)(17) cap (414(q)(4), 416(i)(1)(D)): the cap limits what a plan
may count for benefits and tests, not who is highly paid.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from decimal import Decimal

from backend.irs.limits import MissingLimits, limits_for
from backend.compliance.engine_input import FamilyTie, OutsideOwner, Participant
from backend.money import round_half_up

# IRC 414(q)(2) and 416(i)(1)(B)(i): "more than 5 percent" (equality is not enough).
FIVE_PERCENT_OWNER_OVER = Decimal(5)
# IRC 416(i)(1)(A)(iii), (B)(ii): more than 1 percent with pay over $150,000, a figure the Code never indexes.
ONE_PERCENT_OWNER_OVER = Decimal(1)
ONE_PERCENT_OWNER_PAY_CENTS = 15_000_000
# IRC 416(i)(1)(A), flush language: no more than 50 officers, or if fewer, the greater of 3 or 10% of employees.
MAX_KEY_OFFICERS = 50
MIN_KEY_OFFICER_CAP = 3
# IRC 414(q)(3): the top-paid group is the top 20 percent of employees by pay.
TOP_PAID_GROUP_SHARE = Decimal("0.2")

# IRC 318(a)(1)(A): an individual owns what is owned by spouse, children, grandchildren and parents. Not by
# grandparents or siblings: a grandchild does not own a grandparent's stock, though the reverse holds.
_OWNS_STOCK_OF = frozenset({"spouse", "parent", "child", "grandchild"})
_INVERSE = {"spouse": "spouse", "parent": "child", "child": "parent", "grandparent": "grandchild",
            "grandchild": "grandparent"}


def constructive_ownership(
    participants: Iterable[Participant],
    family_ties: Iterable[FamilyTie] = (),
    outside_owners: Iterable[OutsideOwner] = (),
    *,
    prior_year: bool = False,
) -> dict[str, Decimal]:
    """Each participant's ownership percent with family attribution, for the plan year or the year before.

    Only directly held stock is attributed: IRC 318(a)(5)(B) forbids attributing again what a relative owns
    only by attribution (no double family attribution). Spouses are treated as not legally separated; the
    318(a)(1)(A)(i) exception for a decree of divorce or separate maintenance is not modelled.
    """
    participants = list(participants)
    direct: dict[str, Decimal] = {}
    for person in participants:
        direct[person.employee_id] = person.ownership_in_prior_year if prior_year else person.ownership_percent
    for owner in outside_owners:
        direct[owner.owner_id] = owner.ownership_in_prior_year if prior_year else owner.ownership_percent

    attributed_from: dict[str, set[str]] = {}
    for tie in family_ties:
        # tie: relative_id is employee_id's `relationship`; the inverse tie runs the other way.
        if tie.relationship in _OWNS_STOCK_OF:
            attributed_from.setdefault(tie.employee_id, set()).add(tie.relative_id)
        if _INVERSE[tie.relationship] in _OWNS_STOCK_OF:
            attributed_from.setdefault(tie.relative_id, set()).add(tie.employee_id)

    total: dict[str, Decimal] = {}
    for person in participants:
        pid = person.employee_id
        relatives = attributed_from.get(pid)
        # Most people have no family tie on file: their ownership is their own.
        total[pid] = direct[pid] if relatives is None else direct[pid] + sum(
            (direct.get(r, Decimal(0)) for r in relatives), Decimal(0))
    return total


def highly_compensated_employees(
    participants: Iterable[Participant],
    year: int,
    *,
    family_ties: Iterable[FamilyTie] = (),
    outside_owners: Iterable[OutsideOwner] = (),
    top_paid_group_election: bool = False,
) -> frozenset[str]:
    """The HCEs for plan year `year`. Needs the IRS figures of `year - 1` (the look-back year)."""
    participants = list(participants)
    family_ties = tuple(family_ties)
    outside_owners = tuple(outside_owners)
    try:
        lookback = limits_for(year - 1)
    except MissingLimits:
        raise MissingLimits(year - 1, f"HCE status for {year} compares {year - 1} pay with the {year - 1} threshold")

    # IRC 414(q)(1)(A): a 5% owner at any time during the year or the preceding year.
    owners_now = constructive_ownership(participants, family_ties, outside_owners)
    owners_before = constructive_ownership(participants, family_ties, outside_owners, prior_year=True)
    hces = {
        p.employee_id
        for p in participants
        if owners_now[p.employee_id] > FIVE_PERCENT_OWNER_OVER or owners_before[p.employee_id] > FIVE_PERCENT_OWNER_OVER
    }

    # IRC 414(q)(1)(B)(i): pay in the preceding year "in excess of" that year's threshold. Exactly the
    # threshold is not in excess (RULES.md calls this unsettled; we follow the statute's words).
    paid_over = [
        p for p in participants
        if (p.prior_year_compensation_cents or 0) > lookback.hce_compensation_cents
    ]
    if top_paid_group_election:
        # IRC 414(q)(1)(B)(ii): only those also in the look-back year's top-paid group.
        top_paid = top_paid_group(participants)
        paid_over = [p for p in paid_over if p.employee_id in top_paid]
    hces.update(p.employee_id for p in paid_over)
    return frozenset(hces)


def top_paid_group(participants: Iterable[Participant]) -> frozenset[str]:
    """The top 20% by look-back-year pay (IRC 414(q)(3); 26 CFR 1.414(q)-1T, A-9).

    The group's size counts only non-excludable employees of the look-back year (A-9(b) disregards the
    414(q)(5) exclusions; our `excludable` flag stands in for them), but everyone employed that year is
    ranked. The regulation gives no rounding for 20% of a headcount: we round to the nearest whole employee,
    halves up, and break ties in pay by census order, as common testing software does.
    """
    worked = [p for p in participants if p.prior_year_compensation_cents]
    headcount = sum(1 for p in worked if not p.excludable)
    size = int(round_half_up(Decimal(headcount) * TOP_PAID_GROUP_SHARE, 0))
    ranked = sorted(worked, key=lambda p: -p.prior_year_compensation_cents)  # sorted() is stable: census order
    return frozenset(p.employee_id for p in ranked[:size])


def key_employees(
    participants: Iterable[Participant],
    year: int,
    *,
    first_plan_year: bool = False,
    family_ties: Iterable[FamilyTie] = (),
    outside_owners: Iterable[OutsideOwner] = (),
) -> frozenset[str]:
    """Key employees for the top-heavy test of plan year `year`.

    IRC 416(i)(1)(A) asks who was key "at any time during the plan year"; for the top-heavy test of `year`
    that is the plan year ending on the determination date (26 CFR 1.416-1, T-12, as shortened to one year by
    EGTRRA): the year before, or `year` itself in the plan's first year (416(g)(4)(C)). So the officer test
    uses that year's pay, ownership and key-officer threshold. The officer flag is taken as unchanged.
    """
    participants = list(participants)
    current = first_plan_year
    determination_year = year if current else year - 1
    try:
        threshold = limits_for(determination_year).key_officer_compensation_cents
    except MissingLimits:
        raise MissingLimits(determination_year, f"key employees for the {year} top-heavy test")

    def pay(p: Participant) -> int:
        return p.compensation_cents if current else (p.prior_year_compensation_cents or 0)

    ownership = constructive_ownership(participants, family_ties, outside_owners, prior_year=not current)
    keys: set[str] = set()
    for p in participants:
        owned = ownership[p.employee_id]
        if owned > FIVE_PERCENT_OWNER_OVER:  # IRC 416(i)(1)(A)(ii)
            keys.add(p.employee_id)
        elif owned > ONE_PERCENT_OWNER_OVER and pay(p) > ONE_PERCENT_OWNER_PAY_CENTS:  # IRC 416(i)(1)(A)(iii)
            keys.add(p.employee_id)

    employed = [p for p in participants if current or p.prior_year_compensation_cents]
    officers = [p for p in employed if p.officer]
    cap = key_officer_cap(sum(1 for p in employed if not p.excludable))
    # 26 CFR 1.416-1, T-14: when the cap bites, the officers counted are those with the highest pay.
    for officer in sorted(officers, key=lambda p: -pay(p))[:cap]:
        if pay(officer) > threshold:  # IRC 416(i)(1)(A)(i): "having an annual compensation greater than"
            keys.add(officer.employee_id)
    return frozenset(keys)


def key_officer_cap(employee_count: int) -> int:
    """How many officers may be key: IRC 416(i)(1)(A) flush language.

    "The greater of 3 or 10 percent of the employees", at most 50. A fractional 10% is rounded up (our
    reading: the cap is a ceiling on officers and a partial officer cannot be counted otherwise).
    """
    return min(MAX_KEY_OFFICERS, max(MIN_KEY_OFFICER_CAP, math.ceil(employee_count / 10)))
