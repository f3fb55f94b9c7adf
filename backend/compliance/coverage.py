"""Minimum coverage: the ratio percentage test of IRC 410(b)(1)(B) (26 CFR 1.410(b)-2(b)(2)).

Under a 401(k) arrangement an employee benefits when eligible to defer, whether or not they do
(26 CFR 1.410(b)-3(a)(2)(i)). Excludable employees (under the age and service conditions, union, non-resident
aliens: 410(b)(3), (4)) are left out of both groups.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from backend.compliance.engine_input import Participant
from backend.money import HUNDRED, round_half_up

# IRC 410(b)(1)(B): at least 70 percent of the HCEs' percentage.
MINIMUM_RATIO_PERCENT = Decimal(70)


@dataclass(frozen=True)
class CoverageResult:
    nhce_benefiting: int
    nhce_count: int
    hce_benefiting: int
    hce_count: int
    ratio: Decimal | None  # percent to two places (display only); None when no HCE benefits
    passed: bool


def ratio_percentage_test(participants: Iterable[Participant], hce_ids: frozenset[str]) -> CoverageResult:
    nhce_benefiting = nhce_count = hce_benefiting = hce_count = 0
    for p in participants:
        if p.excludable:
            continue
        if p.employee_id in hce_ids:
            hce_count += 1
            hce_benefiting += p.eligible
        else:
            nhce_count += 1
            nhce_benefiting += p.eligible
    if hce_benefiting == 0:
        # A plan benefiting no HCE cannot favour them (26 CFR 1.410(b)-2(b)); the ratio's denominator is zero.
        return CoverageResult(nhce_benefiting, nhce_count, hce_benefiting, hce_count, None, True)
    if nhce_count == 0:
        # With no non-excludable NHCE there is nobody to discriminate against: deemed met (1.410(b)-2(b)).
        return CoverageResult(nhce_benefiting, nhce_count, hce_benefiting, hce_count, None, True)
    # (nb / nc) / (hb / hc) >= 70%, compared in integers so the boundary is exact.
    passed = nhce_benefiting * hce_count * HUNDRED >= MINIMUM_RATIO_PERCENT * nhce_count * hce_benefiting
    ratio = round_half_up(
        Decimal(nhce_benefiting * hce_count) * HUNDRED / Decimal(nhce_count * hce_benefiting), 2
    )
    return CoverageResult(nhce_benefiting, nhce_count, hce_benefiting, hce_count, ratio, passed)
