from decimal import Decimal

from backend.compliance.coverage import ratio_percentage_test
from tests.compliance.people import person


def workforce(nhces_eligible, nhces_total=10, hces_eligible=2, hces_total=2, excludable=0):
    people = [person(f"n{i}", 40_000, eligible=i < nhces_eligible) for i in range(nhces_total)]
    people += [person(f"h{i}", 200_000, eligible=i < hces_eligible) for i in range(hces_total)]
    people += [person(f"x{i}", 20_000, eligible=False, excludable=True) for i in range(excludable)]
    return people, frozenset(f"h{i}" for i in range(hces_total))


def test_exactly_70_percent_passes():
    result = ratio_percentage_test(*workforce(7))
    assert result.ratio == Decimal("70.00") and result.passed


def test_below_70_percent_fails():
    result = ratio_percentage_test(*workforce(6))
    assert result.ratio == Decimal("60.00") and not result.passed


def test_ratio_is_relative_to_the_hces_benefiting():
    result = ratio_percentage_test(*workforce(6, hces_eligible=1))  # 60% / 50%
    assert result.ratio == Decimal("120.00") and result.passed


def test_excludable_employees_are_left_out():
    result = ratio_percentage_test(*workforce(7, excludable=20))
    assert (result.nhce_count, result.passed) == (10, True)


def test_no_hce_benefiting_passes():
    assert ratio_percentage_test(*workforce(0, hces_eligible=0)).passed
