"""Read a prospect's census CSV into the engine's records, listing every bad row and field at once.

Money is in dollars with cents, percents are plain numbers, dates ISO, booleans true/false. `catch_up` is
what payroll labelled catch-up and is NOT part of `pretax_deferrals` / `roth_deferrals`. Plumb adds the three
and decides what is catch-up by the rule (26 CFR 1.414(v)-1), so the label changes no result.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from backend.compliance.engine_input import RELATIONSHIPS, FamilyTie, Participant
from backend.money import dollars_to_cents

REQUIRED_COLUMNS = (
    "employee_id", "date_of_birth", "hire_date", "compensation", "pretax_deferrals", "roth_deferrals", "catch_up",
    "employer_match", "after_tax_contributions", "account_balance", "ownership_percent", "prior_year_compensation",
    "officer", "eligible",
)
# Optional columns, each with the Participant field it fills.
_OPTIONAL_MONEY = {
    "nonelective": "nonelective_cents",
    "qnec": "qnec_cents",
    "prior_year_distributions": "prior_year_distributions_cents",
    "outside_deferrals": "outside_deferrals_cents",
    "other_plan_deferrals": "other_plan_deferrals_cents",
}
_OPTIONAL_BOOLEANS = {
    "excludable": "excludable",
    "employed_at_year_end": "employed_at_year_end",
    "former_key_employee": "former_key_employee",
    "served_in_prior_year": "served_in_prior_year",
}
OPTIONAL_COLUMNS = (*_OPTIONAL_MONEY, *_OPTIONAL_BOOLEANS, "prior_year_ownership_percent", "relatives")

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_REQUIRED_MONEY = {
    "compensation": "compensation_cents",
    "pretax_deferrals": "pretax_cents",
    "roth_deferrals": "roth_cents",
    "catch_up": "catch_up_cents",
    "employer_match": "match_cents",
    "after_tax_contributions": "after_tax_cents",
    "account_balance": "account_balance_cents",
}


class CensusFileError(ValueError):
    """A census that cannot be read; `problems` lists each one as "line N: field: what is wrong"."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class Census:
    participants: tuple[Participant, ...]
    family_ties: tuple[FamilyTie, ...]


def read_census(path: str | Path) -> Census:
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise CensusFileError(["the file is not UTF-8 text"]) from None
    return parse_census(text)


def parse_census(text: str) -> Census:
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = next(reader, None)
    if header is None or not any(cell.strip() for cell in header):
        raise CensusFileError(["line 1: the file is empty; expected a header row"])
    columns = [cell.strip().lower() for cell in header]
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    duplicated = sorted({c for c in columns if c and columns.count(c) > 1})
    problems = []
    if missing:
        problems.append(f"line 1: header: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
    if duplicated:
        problems.append(f"line 1: header: repeated column {', '.join(duplicated)}")
    if problems:
        raise CensusFileError(problems)

    rows: list[tuple[int, dict[str, str]]] = []
    for cells in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue  # blank lines are not employees
        if len(cells) != len(columns):
            problems.append(f"line {line}: expected {len(columns)} fields, found {len(cells)}")
            continue
        rows.append((line, {c: v.strip() for c, v in zip(columns, cells)}))
    if not rows and not problems:
        problems.append("line 2: no employees after the header")

    first_line_of: dict[str, int] = {}
    for line, row in rows:
        employee_id = row["employee_id"]
        if employee_id in first_line_of:
            problems.append(f"line {line}: employee_id: {employee_id} is already on line {first_line_of[employee_id]}")
        elif employee_id:
            first_line_of[employee_id] = line

    participants = []
    ties = []
    for line, row in rows:
        row_problems: list[str] = []
        values = _row_values(row, row_problems)
        ties.extend(_row_ties(row, first_line_of, row_problems))
        problems.extend(f"line {line}: {p}" for p in row_problems)
        if not row_problems:
            participants.append(Participant(**values))
    if problems:
        raise CensusFileError(problems)
    return Census(tuple(participants), tuple(ties))


def _row_values(row: dict[str, str], problems: list[str]) -> dict:
    values: dict = {}

    def field(column: str, parse, *, required: bool = True):
        raw = row.get(column, "")
        if raw == "":
            if required:
                problems.append(f"{column}: missing")
            return None
        try:
            return parse(raw)
        except ValueError as error:
            problems.append(f"{column}: {error}")
            return None

    values["employee_id"] = field("employee_id", str)
    values["date_of_birth"] = field("date_of_birth", _iso_date)
    values["hire_date"] = field("hire_date", _iso_date)
    for column, name in _REQUIRED_MONEY.items():
        values[name] = field(column, _money)
    values["ownership_percent"] = field("ownership_percent", _percent)
    values["prior_year_compensation_cents"] = field("prior_year_compensation", _money, required=False)
    values["officer"] = field("officer", _boolean)
    values["eligible"] = field("eligible", _boolean)
    for column, name in _OPTIONAL_MONEY.items():
        amount = field(column, _money, required=False)
        if amount is not None:
            values[name] = amount
    for column, name in _OPTIONAL_BOOLEANS.items():
        flag = field(column, _boolean, required=False)
        if flag is not None:
            values[name] = flag
    prior_ownership = field("prior_year_ownership_percent", _percent, required=False)
    if prior_ownership is not None:
        values["prior_year_ownership_percent"] = prior_ownership
    born, hired = values.pop("date_of_birth"), values["hire_date"]
    if born is not None and hired is not None and hired < born:
        problems.append("hire_date: before date_of_birth")
    values["birth_year"] = born.year if born is not None else None
    return values


def _row_ties(row: dict[str, str], known_ids: dict[str, int], problems: list[str]) -> list[FamilyTie]:
    """`relatives` holds "relationship:employee_id" pairs separated by ";" (parent:E1;spouse:E7): E1 is this
    employee's parent. Relatives must be employees in the same file."""
    raw = row.get("relatives", "")
    ties = []
    for item in filter(None, (part.strip() for part in raw.split(";"))):
        relationship, _, relative = (piece.strip() for piece in item.partition(":"))
        if not relative:
            problems.append(f"relatives: {item!r} is not relationship:employee_id")
        elif relationship not in RELATIONSHIPS:
            problems.append(f"relatives: {relationship!r} is not one of {', '.join(RELATIONSHIPS)}")
        elif relative not in known_ids:
            problems.append(f"relatives: no employee {relative} in the file")
        elif relative == row["employee_id"]:
            problems.append("relatives: an employee cannot be their own relative")
        else:
            ties.append(FamilyTie(row["employee_id"], relative, relationship))
    return ties


def _money(raw: str) -> int:
    try:
        cents = dollars_to_cents(raw)
    except ValueError as error:
        message = "more than two decimal places" if "decimal places" in str(error) else "not an amount"
        raise ValueError(message) from None
    if cents < 0:
        raise ValueError("cannot be negative")
    return cents


def _percent(raw: str) -> Decimal:
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ValueError("not a number") from None
    if not value.is_finite() or not Decimal(0) <= value <= Decimal(100):
        raise ValueError("must be a number from 0 to 100")
    return value


def _iso_date(raw: str) -> date:
    if not _ISO_DATE.fullmatch(raw):
        raise ValueError("not an ISO date (YYYY-MM-DD)")
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValueError("not a valid date") from None


def _boolean(raw: str) -> bool:
    lowered = raw.lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    raise ValueError("not true or false")
