"""`load_pay_run` reads a pay run's plain statements without marshmallow's per-field machinery; it must answer
exactly what the schema answers (`PayRunIn().load`), values, types and key order alike, and raise exactly the
schema's errors. Generated documents mix the plain shape with every near miss the fast reading must hand back."""
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from backend.payroll.schemas import PayRunIn, load_pay_run

RUN = {"provider_run_id": "R-1", "pay_date": "2026-12-04", "period_start": "2026-11-16", "period_end": "2026-11-29"}

NEW_HIRE = {"first_name": "Pat", "last_name": "Lee", "date_of_birth": "1990-01-02", "ssn": "123-45-6789",
            "hire_date": "2026-11-02", "annual_compensation": "52000.00"}


def mostly(good, bad):
    """Values that are usually valid, so whole runs load as often as they are refused."""
    return st.integers(0, 19).flatmap(lambda roll: bad if roll == 19 else good)


cents = mostly(st.integers(min_value=0, max_value=10**11),
               st.sampled_from([-1, 10**11 + 1, True, 1.0, 2.5, "12", None]))
hours = mostly(st.one_of(st.none(), st.integers(0, 744), st.decimals(min_value=0, max_value=744, places=2).map(str)),
               st.one_of(st.sampled_from(["80.255", "744.01", "-1", "-0", "1e2", "NaN", "Infinity", " 40 ", "4_0",
                                          "abc", "", 80.5, True, [], "80.000"]),
                         st.decimals(min_value=0, max_value=800, places=3).map(str)))
withholdings = mostly(st.dictionaries(st.sampled_from(["pretax", "roth", "pretax_catchup", "roth_catchup",
                                                       "after_tax"]), cents, max_size=4),
                      st.one_of(st.sampled_from([None, [], "x"]), st.just({"bonus": 1}), st.just({"": 1})))
external_ids = mostly(st.text(min_size=1, max_size=8), st.sampled_from(["", "x" * 64, "x" * 65, 7, None]))


@st.composite
def statements(draw):
    statement = {"external_id": draw(external_ids), "gross_pay_cents": draw(cents),
                 "plan_compensation_cents": draw(cents)}
    optional = {"hours": hours, "withholdings": withholdings, "employer_match_cents": mostly(cents, st.none()),
                "ytd": mostly(st.sampled_from([None, {"gross_cents": 5}]), st.just([1])),
                "termination_date": mostly(st.sampled_from([None, "2026-12-01"]), st.just("not a date")),
                "employee": mostly(st.sampled_from([None, NEW_HIRE]), st.just({"first_name": "Pat"}))}
    for name, values in optional.items():
        if draw(st.booleans()):
            statement[name] = draw(values)
    if draw(st.integers(0, 19)) == 19:
        statement["surprise"] = 1
    return statement


def schema_answer(document):
    try:
        return "loaded", PayRunIn().load(document)
    except ValidationError as error:
        return "refused", error.messages


def fast_answer(document):
    try:
        return "loaded", load_pay_run(document)
    except ValidationError as error:
        return "refused", error.messages


def same_shape(a, b):
    """Equal, with the same types and the same key order all the way down (Decimal('80') == 80 otherwise)."""
    if isinstance(a, dict):
        return isinstance(b, dict) and list(a) == list(b) and all(same_shape(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(same_shape(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b and str(a) == str(b)


@settings(max_examples=400, deadline=None)
@given(st.lists(statements(), min_size=1, max_size=4))
def test_the_fast_reading_answers_what_the_schema_answers_for_any_statements(generated):
    document = dict(RUN, statements=generated)
    assert same_shape(fast_answer(document), schema_answer(document))


@pytest.mark.parametrize("document", [
    dict(RUN, statements=[]),
    dict(RUN, statements="none"),
    dict(RUN, statements=[{"external_id": "E1", "gross_pay_cents": 1, "plan_compensation_cents": 1}], extra=1),
    dict(RUN, pay_date="someday", statements=[{"external_id": "E1", "gross_pay_cents": 1,
                                               "plan_compensation_cents": 1}]),
    {k: v for k, v in RUN.items() if k != "pay_date"} | {"statements": [{"external_id": "E1"}]},
    [1, 2],
    "a run",
])
def test_a_malformed_run_is_refused_with_the_schemas_own_problems(document):
    assert fast_answer(document) == schema_answer(document)
    assert fast_answer(document)[0] == "refused"


def test_a_plain_statement_reads_as_exact_values():
    document = dict(RUN, version=2, statements=[
        {"external_id": "E1", "gross_pay_cents": 276923, "plan_compensation_cents": 276923, "hours": "80",
         "withholdings": {"roth": 5538, "pretax": 16615}},
        {"external_id": "E2", "gross_pay_cents": 100, "plan_compensation_cents": 90, "employer_match_cents": 3,
         "termination_date": "2026-11-30"}])
    loaded = load_pay_run(document)
    assert same_shape(loaded, PayRunIn().load(document))
    first, second = loaded["statements"]
    assert first["hours"] == Decimal(80) and list(first["withholdings"]) == ["roth", "pretax"]
    assert second["termination_date"] == date(2026, 11, 30) and second["withholdings"] == {}
