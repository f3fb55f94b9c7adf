import json
from dataclasses import fields

import pytest

from backend.irs.limits import LIMITS_FILE, IrsLimits, MissingLimits, catch_up_limit, limits_for

EXPECTED = {  # RULES.md section 1, in dollars; 2023 (the look-back year of 2024) from IRS Notice 2022-55
    2023: (22_500, 7_500, None, 66_000, 330_000, 150_000, 215_000, None),
    2024: (23_000, 7_500, None, 69_000, 345_000, 155_000, 220_000, None),
    2025: (23_500, 7_500, 11_250, 70_000, 350_000, 160_000, 230_000, 145_000),
    2026: (24_500, 8_000, 11_250, 72_000, 360_000, 160_000, 235_000, 150_000),
}
FIGURES = ("elective_deferral_cents", "catch_up_cents", "catch_up_age_60_63_cents", "annual_additions_cents",
           "compensation_limit_cents", "hce_compensation_cents", "key_officer_compensation_cents",
           "roth_catch_up_wages_cents")


@pytest.mark.parametrize("year", sorted(EXPECTED))
def test_figures_match_rules_in_cents(year):
    limits = limits_for(year)
    for name, dollars in zip(FIGURES, EXPECTED[year]):
        assert getattr(limits, name) == (None if dollars is None else dollars * 100), name


@pytest.mark.parametrize("year, notice", [(2023, "2022-55"), (2024, "2023-75"), (2025, "2024-80"), (2026, "2025-67")])
def test_every_figure_has_a_source_naming_its_notice(year, notice):
    limits = limits_for(year)
    assert set(limits.sources) == set(FIGURES)
    assert notice in limits.sources["elective_deferral_cents"]
    assert all(source.strip() for source in limits.sources.values())


def test_figures_are_integer_cents_in_the_data_file():
    raw = json.loads(LIMITS_FILE.read_text())
    for year, figures in raw.items():
        if year.startswith("_"):
            continue
        for name, entry in figures.items():
            if name.startswith("_"):
                continue
            assert entry["cents"] is None or type(entry["cents"]) is int


@pytest.mark.parametrize("year", [2022, 2027, 1999])
def test_a_year_without_figures_is_an_error_not_a_fallback(year):
    with pytest.raises(MissingLimits, match=str(year)):
        limits_for(year)
    with pytest.raises(MissingLimits):
        catch_up_limit(year, 55)


def test_limits_are_frozen():
    limits = limits_for(2025)
    with pytest.raises(AttributeError):
        limits.elective_deferral_cents = 1
    assert {f.name for f in fields(IrsLimits)} >= set(FIGURES)


@pytest.mark.parametrize("year, age, dollars", [
    (2025, 49, 0),
    (2025, 50, 7_500),
    (2025, 59, 7_500),
    (2025, 60, 11_250),
    (2025, 63, 11_250),
    (2025, 64, 7_500),
    (2026, 55, 8_000),
    (2026, 61, 11_250),
    (2024, 61, 7_500),  # no 60-63 figure before 2025
    (2024, 50, 7_500),
])
def test_catch_up_limit_by_age_at_year_end(year, age, dollars):
    assert catch_up_limit(year, age) == dollars * 100
