"""Builders for census records in the compliance tests: amounts in dollars, as the examples state them."""
from datetime import date
from decimal import Decimal

from backend.compliance.engine_input import Participant

YOUNG = date(1985, 6, 1)  # under 50 through 2026: no catch-up room


def cents(dollars) -> int:
    return int(Decimal(str(dollars)) * 100)


def person(employee_id, pay, deferral=0, *, born=YOUNG, hired=date(2015, 1, 1), prior_pay=None, **fields):
    """A participant paid `pay` dollars who deferred `deferral` dollars pre-tax. Other *_cents fields may be
    given in dollars by dropping the suffix (match=500 -> match_cents=50000)."""
    money = {}
    for name in list(fields):
        if name in ("roth", "catch_up", "match", "after_tax", "nonelective", "qnec", "account_balance",
                    "prior_year_distributions", "outside_deferrals", "other_plan_deferrals"):
            money[f"{name}_cents"] = cents(fields.pop(name))
    return Participant(
        employee_id=employee_id,
        birth_year=born.year,
        hire_date=hired,
        compensation_cents=cents(pay),
        pretax_cents=cents(deferral),
        prior_year_compensation_cents=None if prior_pay is None else cents(prior_pay),
        **money,
        **fields,
    )
