"""Money helpers: amounts shown to people are formatted from integer cents, exactly."""
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.money import dollars_to_cents, format_dollar_amount, format_dollars


@pytest.mark.parametrize("cents, text", [
    (0, "$0.00"),
    (5, "$0.05"),
    (99, "$0.99"),
    (100, "$1.00"),
    (123456, "$1,234.56"),
    (100000000, "$1,000,000.00"),
    (-1230, "-$12.30"),
    (-5, "-$0.05"),
])
def test_dollars_are_written_with_a_sign_a_dollar_sign_thousands_commas_and_two_decimals(cents, text):
    assert format_dollars(cents) == text


def test_an_amount_a_float_cannot_hold_is_written_to_the_cent():
    # 2**53 + 1 cents: a float division by 100 would drop the last cent.
    assert format_dollars(2**53 + 1) == "$90,071,992,547,409.93"


@pytest.mark.parametrize("value", [1.5, Decimal("1.50"), "150", True, None])
def test_only_integer_cents_are_formatted(value):
    with pytest.raises(TypeError):
        format_dollars(value)


@given(st.integers(min_value=-(10**13) + 1, max_value=10**13 - 1))  # dollars_to_cents refuses 10**11 dollars
def test_formatting_and_parsing_round_trip(cents):
    assert dollars_to_cents(format_dollars(cents).replace("$", "")) == cents


def test_report_amounts_are_written_exactly_from_the_engine_or_a_stored_state():
    assert format_dollar_amount(Decimal("1076.92")) == format_dollar_amount("1076.92") == "$1,076.92"
    assert format_dollar_amount(Decimal("0.00")) == "$0.00"
