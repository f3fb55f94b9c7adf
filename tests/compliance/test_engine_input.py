"""The engine's input records: the one-step constructor a live recompute uses is the constructor."""
from datetime import date

import pytest

from backend.compliance.engine_input import Participant

FIELDS = {"employee_id": "E1", "birth_year": 1970, "hire_date": date(2000, 1, 1), "compensation_cents": 5_000_000,
          "pretax_cents": 300_000}


def test_from_mapping_builds_the_same_frozen_record_as_the_constructor():
    built = Participant.from_mapping(FIELDS)
    assert built == Participant(**FIELDS) and hash(built) == hash(Participant(**FIELDS))
    assert (built.match_cents, built.eligible, built.prior_year_compensation_cents) == (0, True, None)
    with pytest.raises(AttributeError):
        built.pretax_cents = 0


@pytest.mark.parametrize("change, error", [
    ({"compensation_cents": -1}, ValueError), ({"pretax_cents": True}, TypeError), ({"officer": 1}, TypeError),
    ({"birth_year": date(1970, 1, 1)}, TypeError), ({"unknown_cents": 1}, TypeError)])
def test_from_mapping_refuses_what_the_constructor_refuses(change, error):
    for build in (Participant.from_mapping, lambda values: Participant(**values)):
        with pytest.raises(error):
            build({**FIELDS, **change})


def test_from_mapping_names_what_is_missing():
    with pytest.raises(TypeError, match="hire_date"):
        Participant.from_mapping({"employee_id": "E1", "birth_year": 1970, "compensation_cents": 0})
