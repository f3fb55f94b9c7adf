"""Cents and Decimal helpers. Every rounding rule in Plumb lives here and nowhere else.

Money is integer cents. Rates are Decimal percents (6% is Decimal("6")). Fund units are Decimal with 6 places.
"""
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

HUNDRED = Decimal(100)
CENT = Decimal("0.01")
# No amount Plumb handles comes near this; anything larger is a mistake (and would overflow a BIGINT of cents).
MAX_DOLLARS = Decimal(10) ** 11


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
    if abs(value) >= MAX_DOLLARS:
        raise ValueError(f"is too large: {dollars!r}")
    if value != value.quantize(CENT):
        raise ValueError(f"more than two decimal places: {dollars!r}")
    return int(value * HUNDRED)


def cents_to_dollars(cents: int) -> Decimal:
    return (Decimal(cents) / HUNDRED).quantize(CENT)


def format_dollars(cents: int) -> str:
    """123456 → '$1,234.56', -1230 → '-$12.30': what people read. Integer arithmetic only, so no amount is
    ever rounded on its way to the page (a float prints 2**53 + 1 cents a cent short)."""
    if isinstance(cents, bool) or not isinstance(cents, int):
        raise TypeError(f"cents must be an int, got {type(cents).__name__}")
    dollars, rest = divmod(abs(cents), 100)
    return f"{'-' if cents < 0 else ''}${dollars:,}.{rest:02d}"


def format_dollar_amount(amount: Decimal | str) -> str:
    """A dollar amount given in dollars (a Decimal, or its exact text from a stored result) as people read it."""
    return format_dollars(dollars_to_cents(amount))


def percent_of_cents(cents: int, percent: Decimal) -> int:
    """`percent`% of an amount in cents, to the nearest cent, halves up."""
    return int(round_half_up(Decimal(cents) * percent / HUNDRED, 0))


def percent_str(value: Decimal) -> str:
    """A Decimal as plain text without exponent or trailing zeros: 6.000000 → '6', 0.50 → '0.5'."""
    text = format(value.normalize(), "f")
    return text


def units_for(amount_cents: int, price: Decimal) -> Decimal:
    """Fund units bought (or sold, if negative) for an amount at a price, to 6 places, halves up."""
    return round_half_up(Decimal(amount_cents) / HUNDRED / price, 6)


def value_cents(units: Decimal, price: Decimal) -> int:
    """Market value of units at a price, to the nearest cent, halves up."""
    return int(round_half_up(units * price * HUNDRED, 0))


def split_cents(amount_cents: int, percents: list[Decimal]) -> list[int]:
    """Split an amount by percents that sum to 100, to whole cents that sum exactly to the amount (the cents lost
    to rounding go to the largest remainders, so no cent is created or lost)."""
    if len(percents) == 1:
        return [amount_cents]
    raw = [Decimal(amount_cents) * p / HUNDRED for p in percents]
    parts = [int(r.to_integral_value(rounding="ROUND_FLOOR")) for r in raw]
    short = amount_cents - sum(parts)
    for index in sorted(range(len(raw)), key=lambda i: raw[i] - parts[i], reverse=True)[:abs(short)]:
        parts[index] += 1 if short > 0 else -1
    return parts
