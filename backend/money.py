"""Cents and Decimal helpers. Every rounding rule in Plumb lives here and nowhere else.

Money is integer cents. Rates are Decimal percents (6% is Decimal("6")). Fund units are Decimal with 6 places.
"""
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

HUNDRED = Decimal(100)
CENT = Decimal("0.01")
UNIT_PLACES = Decimal("0.000001")


def round_half_up(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def dollars_to_cents(dollars: str | Decimal) -> int:
    """'1234.56' → 123456. More than two decimal places is an error, never silently rounded."""
    try:
        value = Decimal(str(dollars).strip().replace(",", ""))
    except InvalidOperation:
        raise ValueError(f"not an amount of money: {dollars!r}") from None
    if not value.is_finite():
        raise ValueError(f"not an amount of money: {dollars!r}")
    if value != value.quantize(CENT):
        raise ValueError(f"more than two decimal places: {dollars!r}")
    return int(value * HUNDRED)


def cents_to_dollars(cents: int) -> Decimal:
    return (Decimal(cents) / HUNDRED).quantize(CENT)


def percent_of_cents(cents: int, percent: Decimal) -> int:
    """`percent`% of an amount in cents, to the nearest cent, halves up."""
    return int(round_half_up(Decimal(cents) * percent / HUNDRED, 0))


def percent_str(value: Decimal) -> str:
    """A Decimal as plain text without exponent or trailing zeros: 6.000000 → '6', 0.50 → '0.5'."""
    text = format(value.normalize(), "f")
    return text
