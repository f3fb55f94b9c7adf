from decimal import Decimal

import pytest

from backend.irs.limits import MissingLimits
from backend.compliance.engine_input import FamilyTie, OutsideOwner, PlanTestInput
from backend.compliance.status import (
    constructive_ownership,
    highly_compensated_employees,
    key_employees,
    key_officer_cap,
    top_paid_group,
)
from tests.compliance.people import person


def hces(people, year=2026, **options):
    return highly_compensated_employees(people, year, **options)


# --- HCE by pay ---------------------------------------------------------------------------------


def test_exactly_the_threshold_is_not_hce_one_cent_more_is():
    people = [person("at", 90_000, prior_pay=160_000), person("over", 90_000, prior_pay="160000.01")]
    assert hces(people) == {"over"}


def test_hce_status_looks_at_prior_year_pay_against_prior_year_threshold():
    people = [person("x", 300_000, prior_pay="155000.01"), person("y", 300_000, prior_pay=155_000)]
    # 2025 HCEs are decided by 2024 pay over the 2024 threshold (155,000), not by this year's pay.
    assert hces(people, 2025) == {"x"}
    # 2026 HCEs use the 2025 threshold (160,000).
    assert hces(people, 2026) == frozenset()


def test_new_hire_with_no_prior_year_pay_is_not_hce_by_pay():
    assert hces([person("new", 400_000)]) == frozenset()


def test_hce_for_2024_looks_back_at_2023_pay_over_the_2023_threshold():
    # IRS Notice 2022-55: the 2023 threshold is 150,000.
    people = [person("at", 100_000, prior_pay=150_000), person("over", 100_000, prior_pay="150000.01")]
    assert hces(people, 2024) == {"over"}


def test_hce_for_2023_needs_2022_figures_which_are_missing():
    with pytest.raises(MissingLimits, match="2022"):
        hces([person("x", 100_000, prior_pay=200_000)], 2023)


def test_top_paid_group_election_limits_pay_based_hces_to_top_20_percent():
    people = [person(f"e{i}", 50_000, prior_pay=50_000) for i in range(7)]
    people += [person("p1", 200_000, prior_pay=200_000), person("p2", 190_000, prior_pay=190_000),
               person("p3", 180_000, prior_pay=180_000)]
    assert hces(people) == {"p1", "p2", "p3"}
    assert top_paid_group(people) == {"p1", "p2"}  # 20% of 10
    assert hces(people, top_paid_group_election=True) == {"p1", "p2"}


def test_top_paid_group_election_never_removes_five_percent_owners():
    people = [person(f"e{i}", 50_000, prior_pay=50_000) for i in range(9)]
    people.append(person("owner", 40_000, prior_pay=40_000, ownership_percent=Decimal("10")))
    assert hces(people, top_paid_group_election=True) == {"owner"}


# --- HCE by ownership -----------------------------------------------------------------------------


def test_more_than_five_percent_owner_is_hce_exactly_five_is_not():
    people = [person("five", 50_000, ownership_percent=Decimal("5")),
              person("more", 50_000, ownership_percent=Decimal("5.01"))]
    assert hces(people) == {"more"}


def test_five_percent_owner_in_the_prior_year_only_is_hce():
    people = [person("sold", 50_000, ownership_percent=Decimal(0), prior_year_ownership_percent=Decimal(30))]
    assert hces(people) == {"sold"}


def test_five_percent_owner_by_attribution_from_a_parent():
    dad = person("dad", 250_000, ownership_percent=Decimal(60))
    son = person("son", 40_000)
    tie = FamilyTie("son", "dad", "parent")
    assert hces([dad, son], family_ties=[tie]) == {"dad", "son"}
    assert hces([dad, son]) == {"dad"}


def test_parent_is_attributed_a_childs_ownership():
    mom = person("mom", 40_000)
    daughter = person("daughter", 40_000, ownership_percent=Decimal(20))
    assert hces([mom, daughter], family_ties=[FamilyTie("daughter", "mom", "parent")]) == {"mom", "daughter"}


def test_spouse_attribution_from_an_owner_who_is_not_an_employee():
    wife = person("wife", 45_000)
    husband = OutsideOwner("husband", Decimal(100))
    assert hces([wife], family_ties=[FamilyTie("wife", "husband", "spouse")], outside_owners=[husband]) == {"wife"}


def test_grandparent_owns_grandchilds_stock_but_not_the_reverse():
    # IRC 318(a)(1)(A)(ii): children, grandchildren and parents; grandparents are not in the list.
    grandpa = person("grandpa", 40_000, ownership_percent=Decimal(50))
    kid = person("kid", 30_000)
    assert hces([grandpa, kid], family_ties=[FamilyTie("kid", "grandpa", "grandparent")]) == {"grandpa"}
    grandpa = person("grandpa", 40_000)
    kid = person("kid", 30_000, ownership_percent=Decimal(50))
    assert hces([grandpa, kid], family_ties=[FamilyTie("kid", "grandpa", "grandparent")]) == {"grandpa", "kid"}


def test_no_double_family_attribution():
    # a's spouse b; b's parent c owns 50%. b is treated as owning c's stock; a is not (318(a)(5)(B)).
    a, b, c = person("a", 40_000), person("b", 40_000), person("c", 40_000, ownership_percent=Decimal(50))
    ties = [FamilyTie("a", "b", "spouse"), FamilyTie("b", "c", "parent")]
    ownership = constructive_ownership([a, b, c], ties)
    assert ownership == {"a": Decimal(0), "b": Decimal(50), "c": Decimal(50)}
    assert hces([a, b, c], family_ties=ties) == {"b", "c"}


def test_attributed_shares_add_up():
    son = person("son", 30_000, ownership_percent=Decimal(2))
    dad = person("dad", 30_000, ownership_percent=Decimal(2))
    mom = OutsideOwner("mom", Decimal("1.5"))
    ties = [FamilyTie("son", "dad", "parent"), FamilyTie("son", "mom", "parent")]
    assert constructive_ownership([son, dad], ties, [mom])["son"] == Decimal("5.5")


def test_family_ties_must_name_known_people():
    with pytest.raises(ValueError, match="ghost"):
        PlanTestInput(year=2026, participants=(person("a", 1),), family_ties=(FamilyTie("a", "ghost", "spouse"),))


# --- key employees --------------------------------------------------------------------------------


def keys(people, year=2026, **options):
    return key_employees(people, year, **options)


def test_officer_paid_over_the_determination_years_threshold_is_key():
    # For the 2026 top-heavy test the determination date is 2025-12-31: 2025 pay over 230,000.
    staff = [person(f"s{i}", 50_000, prior_pay=50_000) for i in range(20)]
    people = staff + [
        person("over", 250_000, prior_pay="230000.01", officer=True),
        person("at", 250_000, prior_pay=230_000, officer=True),
        person("not_officer", 400_000, prior_pay=400_000),
    ]
    assert keys(people) == {"over"}


def test_first_plan_year_determines_keys_on_this_years_pay():
    people = [person("cfo", 235_500, prior_pay=0, officer=True), person("s", 50_000)]
    assert keys(people, first_plan_year=True) == {"cfo"}  # 2026 threshold 235,000
    assert keys(people) == frozenset()


def test_five_percent_and_one_percent_owners():
    people = [
        person("five", 10_000, prior_pay=10_000, ownership_percent=Decimal("5.5")),
        person("one_rich", 10_000, prior_pay="150000.01", ownership_percent=Decimal("1.5")),
        person("one_at", 10_000, prior_pay=150_000, ownership_percent=Decimal("1.5")),
        person("exactly_one", 10_000, prior_pay=900_000, ownership_percent=Decimal("1")),
    ]
    assert keys(people) == {"five", "one_rich"}


def test_key_owner_by_family_attribution():
    people = [person("dad", 0, prior_pay=0, ownership_percent=Decimal(80)), person("kid", 30_000, prior_pay=30_000)]
    assert keys(people, family_ties=[FamilyTie("kid", "dad", "parent")]) == {"dad", "kid"}


@pytest.mark.parametrize("employees, cap", [(0, 3), (20, 3), (30, 3), (31, 4), (45, 5), (499, 50), (2_000, 50)])
def test_officer_cap_is_greater_of_3_or_10_percent_at_most_50(employees, cap):
    assert key_officer_cap(employees) == cap


def test_only_the_highest_paid_officers_within_the_cap_count():
    staff = [person(f"s{i}", 40_000, prior_pay=40_000) for i in range(15)]
    officers = [person(f"o{i}", 300_000, prior_pay=240_000 + i * 1_000, officer=True) for i in range(5)]
    # 20 employees: cap is max(3, 2) = 3 officers; the three best paid are o4, o3, o2.
    assert keys(staff + officers) == {"o4", "o3", "o2"}
