"""The year-end projection of each employee: the election in effect on each remaining pay date, priced once per
paycheck and counted for the paychecks it covers, and the match it earns, which stops growing once the year's pay
reaches the 401(a)(17) limit, as payroll's does (`plans.match.match_for_paychecks`). Pure: no database."""
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from backend.money import percent_of_cents
from backend.plans.match import MatchedPaychecks, MatchTier, match_for_paychecks


class ProjectedCents(NamedTuple):
    """What the rest of the year adds to an employee's year-to-date figures."""

    compensation: int
    pretax: int
    roth: int
    match: int


class YearEndProjection:
    """Prices the rest of one plan year for each of its employees.

    `pay_dates` are the pay dates left in the year, in order. The match of a run of equal paychecks is asked of
    the plan's match rule once per distinct (pay, deferral, paychecks, 401(a)(17) room): in a plan of thousands,
    most people share a salary band and a round deferral percent, and the rule is the costly part."""

    def __init__(self, tiers: Sequence[MatchTier], pay_dates: Sequence[date]):
        self.tiers = tiers
        self.pay_dates = list(pay_dates)
        self._matches: dict[tuple, MatchedPaychecks] = {}

    def paychecks_until(self, termination_date: date | None) -> int:
        """How many of the remaining pay dates fall on or before `termination_date` (all of them if none)."""
        return len(self.pay_dates) if termination_date is None else bisect_right(self.pay_dates, termination_date)

    def extra_cents(self, elections: Sequence, per_check: int, termination_date: date | None,
                    what_if: Decimal | None, eligible: bool, pay_room_cents: int) -> ProjectedCents:
        """What the rest of the year adds for one employee paid `per_check` a paycheck: `elections` are theirs
        in the order they take effect (the one in effect on a day is the last one effective by then);
        `what_if` replaces them with a pre-tax percent; `pay_room_cents` is what is left of the 401(a)(17)
        limit after this year's posted pay."""
        paychecks = self.paychecks_until(termination_date)
        compensation = per_check * paychecks
        if not eligible or not paychecks:
            return ProjectedCents(compensation, 0, 0, 0)
        pretax = roth = match = 0
        for count, lines in self._segments(elections, paychecks, per_check, what_if):
            pretax += lines[0] * count
            roth += lines[1] * count
            matched = self._match(per_check, lines[0] + lines[1], count, pay_room_cents)
            match += matched.match_cents
            pay_room_cents = matched.pay_room_cents
        return ProjectedCents(compensation, pretax, roth, match)

    def _segments(self, elections: Sequence, paychecks: int, per_check: int,
                  what_if: Decimal | None):
        """(paychecks, (pre-tax, Roth) per paycheck) for each run of paychecks under one election, in pay-date
        order; the paychecks before the first election defer nothing."""
        if what_if is not None:
            yield paychecks, (percent_of_cents(per_check, what_if), 0)
            return
        starts = [bisect_left(self.pay_dates, e.effective_date, 0, paychecks) for e in elections]
        first = starts[0] if starts else paychecks
        if first:
            yield first, (0, 0)
        for i, election in enumerate(elections):
            # Elections come in effective-date order, so the next one's start is where this one stops.
            end = starts[i + 1] if i + 1 < len(starts) else paychecks
            if end > starts[i]:
                pretax = roth = 0
                for line in election.lines:
                    if line.money_type.startswith("roth"):
                        roth += line.cents_of(per_check)
                    else:
                        pretax += line.cents_of(per_check)
                yield end - starts[i], (pretax, roth)

    def _match(self, per_check: int, deferred: int, count: int, pay_room_cents: int) -> MatchedPaychecks:
        key = (per_check, deferred, count, pay_room_cents)
        matched = self._matches.get(key)
        if matched is None:
            matched = self._matches[key] = match_for_paychecks(self.tiers, per_check, deferred, count,
                                                               pay_room_cents)
        return matched
