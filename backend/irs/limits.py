"""IRS dollar limits by year (RULES.md section 1), read from irs_limits.json beside this file.

A leaf module: payroll, enrollment, the phone and compliance import it, and it imports nothing from backend. A
year without figures is an explicit `MissingLimits`, never a silent fallback to a neighbouring year: a wrong
year's 402(g) limit would let an excess deferral through or refuse a legal one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType

LIMITS_FILE = Path(__file__).with_name("irs_limits.json")

# IRC 414(v)(1), (5)(A): catch-up eligible once the participant attains age 50 by the end of the year.
CATCH_UP_MIN_AGE = 50
# IRC 414(v)(2)(E)(i): "attains age 60 but not age 64 before the close of the taxable year".
SUPER_CATCH_UP_AGES = range(60, 64)

_FIGURES = (
    "elective_deferral",
    "catch_up",
    "catch_up_age_60_63",
    "annual_additions",
    "compensation_limit",
    "hce_compensation",
    "key_officer_compensation",
    "roth_catch_up_wages",
)
# Figures that exist only from a given year (SECURE 2.0); every other one must be present every year.
_MAY_BE_ABSENT = frozenset({"catch_up_age_60_63", "roth_catch_up_wages"})


class MissingLimits(LookupError):
    """No IRS figures are on file for the requested year."""

    def __init__(self, year: int, purpose: str = ""):
        self.year = year
        known = ", ".join(str(y) for y in years_with_limits())
        why = f" ({purpose})" if purpose else ""
        super().__init__(f"no IRS limits on file for {year}{why}; figures exist for {known}")


@dataclass(frozen=True)
class IrsLimits:
    """One calendar year's figures, in cents. `sources` maps each field name to its IRS notice or Code section."""

    year: int
    elective_deferral_cents: int  # IRC 402(g)(1)(B): pre-tax + Roth, per person per calendar year
    catch_up_cents: int  # IRC 414(v)(2)(B)(i): age 50+ by December 31
    catch_up_age_60_63_cents: int | None  # IRC 414(v)(2)(E): ages 60-63, in place of the age-50 figure
    annual_additions_cents: int  # IRC 415(c)(1)(A); also capped at 100% of pay by 415(c)(1)(B)
    compensation_limit_cents: int  # IRC 401(a)(17)
    hce_compensation_cents: int  # IRC 414(q)(1)(B): applied to this year's pay, decides HCE status next year
    key_officer_compensation_cents: int  # IRC 416(i)(1)(A)(i)
    roth_catch_up_wages_cents: int | None  # IRC 414(v)(7)(A): prior-year FICA wages above which catch-ups are Roth
    sources: Mapping[str, str]


def years_with_limits() -> tuple[int, ...]:
    return tuple(sorted(_load_all()))


def limits_for(year: int) -> IrsLimits:
    """The figures for calendar `year`; `MissingLimits` when none are on file."""
    if isinstance(year, bool) or not isinstance(year, int):
        raise TypeError(f"year must be an int, got {year!r}")
    try:
        return _load_all()[year]
    except KeyError:
        raise MissingLimits(year) from None


def catch_up_limit(year: int, age_at_year_end: int) -> int:
    """The catch-up limit in cents for someone who is `age_at_year_end` on December 31 of `year`."""
    limits = limits_for(year)
    if age_at_year_end < CATCH_UP_MIN_AGE:
        return 0
    # IRC 414(v)(2)(E): from 2025 the 60-63 figure replaces (does not add to) the age-50 figure.
    if age_at_year_end in SUPER_CATCH_UP_AGES and limits.catch_up_age_60_63_cents is not None:
        return limits.catch_up_age_60_63_cents
    return limits.catch_up_cents


@cache
def _load_all() -> Mapping[int, IrsLimits]:
    raw = json.loads(LIMITS_FILE.read_text(encoding="utf-8"))
    by_year = {}
    for key, figures in raw.items():
        if key.startswith("_"):
            continue
        by_year[int(key)] = _parse_year(int(key), figures)
    return MappingProxyType(by_year)


def _parse_year(year: int, figures: Mapping) -> IrsLimits:
    values: dict[str, int | None] = {}
    sources: dict[str, str] = {}
    for name in _FIGURES:
        entry = figures.get(name)
        if not isinstance(entry, dict) or not isinstance(entry.get("source"), str) or not entry["source"]:
            raise ValueError(f"{LIMITS_FILE.name}: {year}.{name} needs a cents figure and a source")
        cents = entry.get("cents")
        if cents is None and name not in _MAY_BE_ABSENT:
            raise ValueError(f"{LIMITS_FILE.name}: {year}.{name} is required")
        if cents is not None and (isinstance(cents, bool) or not isinstance(cents, int) or cents <= 0):
            raise ValueError(f"{LIMITS_FILE.name}: {year}.{name} must be a positive integer number of cents")
        values[f"{name}_cents"] = cents
        sources[f"{name}_cents"] = entry["source"]
    unknown = {key for key in figures if not key.startswith("_")} - set(_FIGURES)  # "_why": a note
    if unknown:
        raise ValueError(f"{LIMITS_FILE.name}: {year} has unknown figures {sorted(unknown)}")
    return IrsLimits(year=year, sources=MappingProxyType(sources), **values)
