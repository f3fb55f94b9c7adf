"""When billing starts: the first of the month after the plan went live, worked examples."""
from datetime import date

import pytest

from backend.billing.service import first_billed_day


@pytest.mark.parametrize("went_live_on, today, first", [
    (date(2026, 11, 24), date(2026, 11, 24), date(2026, 12, 1)),  # the month it went live is free
    (date(2026, 12, 1), date(2026, 12, 1), date(2027, 1, 1)),  # across the year's end
    (date(2026, 12, 31), date(2026, 12, 31), date(2027, 1, 1)),
    (date(2026, 10, 5), date(2026, 11, 2), date(2026, 12, 1)),  # made late: Stripe bills no day gone by
])
def test_billing_starts_on_the_first_of_the_month_after_the_plan_went_live(went_live_on, today, first):
    assert first_billed_day(went_live_on, today) == first
