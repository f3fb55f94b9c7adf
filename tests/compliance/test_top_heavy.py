from datetime import date
from decimal import Decimal

from backend.compliance.annual import annual_limit_results
from backend.compliance.top_heavy import determination_date, highest_key_employee_rate, run_top_heavy_test
from tests.compliance.people import cents, person

D = Decimal


def top_heavy(people, keys, **options):
    return run_top_heavy_test(people, 2026, frozenset(keys), annual_limit_results(people, 2026), **options)


def staff(balance_key, balance_others, **key_fields):
    return [person("K", 300_000, 10_000, prior_pay=300_000, account_balance=balance_key, **key_fields),
            person("E", 50_000, 2_000, prior_pay=50_000, account_balance=balance_others)]


def test_exactly_60_percent_is_not_top_heavy():
    result = top_heavy(staff(600, 400), {"K"})
    assert result.ratio == D("60.00") and not result.is_top_heavy


def test_a_cent_over_60_percent_is_top_heavy_even_when_it_rounds_to_60():
    result = top_heavy(staff("600000.01", 400_000), {"K"})
    assert result.ratio == D("60.00") and result.is_top_heavy


def test_prior_year_distributions_are_added_back():
    people = staff(500, 500)
    people[1] = person("E", 50_000, prior_pay=50_000, account_balance=100, prior_year_distributions=400)
    assert not top_heavy(people, {"K"}).is_top_heavy  # 500 / 1,000
    people[1] = person("E", 50_000, prior_pay=50_000, account_balance=100)
    assert top_heavy(people, {"K"}).is_top_heavy  # 500 / 600


def test_former_key_employees_and_people_without_service_last_year_are_left_out():
    people = staff(700, 300) + [
        person("former", 80_000, prior_pay=80_000, account_balance=1_000, former_key_employee=True),
        person("gone", 0, prior_pay=0, account_balance=5_000, eligible=False, employed_at_year_end=False),
    ]
    result = top_heavy(people, {"K"})
    assert result.total_balance_cents == cents(1_000) and result.ratio == D("70.00")
    people[-1] = person("gone", 0, prior_pay=0, account_balance=5_000, served_in_prior_year=True)
    assert top_heavy(people, {"K"}).total_balance_cents == cents(6_000)


def test_minimum_is_3_percent_with_matches_counting_and_deferrals_not():
    people = [
        person("K", 300_000, 20_000, prior_pay=300_000, account_balance=900_000),
        person("defers", 50_000, 5_000, prior_pay=50_000, account_balance=50_000),
        person("matched", 40_000, 2_000, match=1_000, prior_pay=40_000, account_balance=50_000),
        person("fully", 40_000, match=1_200, prior_pay=40_000),
        person("left", 40_000, prior_pay=40_000, employed_at_year_end=False),
        person("not_eligible", 40_000, prior_pay=40_000, eligible=False),
    ]
    result = top_heavy(people, {"K"})
    assert result.is_top_heavy and result.minimum_percent == D(3)
    assert {k: D(v) / 100 for k, v in result.minimum_owed_cents.items()} == {"defers": 1_500, "matched": 200}


def test_minimum_is_the_highest_key_rate_when_lower_than_3_percent():
    people = [
        person("K", 300_000, 6_000, prior_pay=300_000, account_balance=900_000),
        person("E", 50_000, prior_pay=50_000, account_balance=10_000),
    ]
    result = top_heavy(people, {"K"})
    assert result.minimum_percent == D(2)  # 6,000 / 300,000
    assert result.minimum_owed_cents == {"E": cents(1_000)}


def test_the_key_rate_leaves_out_catch_ups_as_the_rule_classes_them_not_as_payroll_labelled_them():
    # Once 7,000 in payroll's catch-up column made K's rate 2% here. K is under 50 and 13,000 is far under
    # 402(g), so none of it is catch-up (26 CFR 1.414(v)-1(a)(1), (b)(1)): 4.33%, and the minimum is 3%.
    labelled = [person("K", 300_000, 6_000, prior_pay=300_000, account_balance=900_000, catch_up=7_000),
                person("E", 50_000, prior_pay=50_000, account_balance=10_000)]
    result = top_heavy(labelled, {"K"})
    assert result.minimum_percent == D(3) and result.minimum_owed_cents == {"E": cents(1_500)}
    # K at 55 deferring 32,500 in 2026: 8,000 over 402(g) is catch-up and left out (IRC 414(v)(3)(B)).
    older = [person("K", 300_000, 32_500, born=date(1971, 1, 1))]
    rate = highest_key_employee_rate(older, frozenset({"K"}), annual_limit_results(older, 2026))
    assert rate == D(24_500) * 100 / D(300_000)


def test_safe_harbor_plan_with_only_deferrals_and_safe_harbor_money_is_exempt():
    people = staff(900, 100)
    result = top_heavy(people, {"K"}, safe_harbor="basic_match")
    assert result.is_top_heavy and result.exempt and result.minimum_owed_cents == {}
    with_profit_sharing = [person("K", 300_000, prior_pay=300_000, account_balance=900, nonelective=5_000),
                           person("E", 50_000, prior_pay=50_000, account_balance=100)]
    assert not top_heavy(with_profit_sharing, {"K"}, safe_harbor="basic_match").exempt


def test_determination_date():
    assert determination_date(2026) == date(2025, 12, 31)
    assert determination_date(2026, first_plan_year=True) == date(2026, 12, 31)
