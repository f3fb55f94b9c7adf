"""The pay-run CSV a sponsor uploads when no provider is connected: one row per statement, amounts in dollars
and cents (the run's own fields come as query parameters). Each row becomes the statement a provider would have
sent, through the same schema, so both paths are checked alike."""
from marshmallow import ValidationError

from backend.money import dollars_to_cents
from backend.payroll.schemas import StatementIn

WITHHOLDING_COLUMNS = ("pretax", "roth", "pretax_catchup", "roth_catchup", "after_tax")
COLUMNS = ("external_id", "gross_pay", "plan_compensation", "hours", *WITHHOLDING_COLUMNS, "employer_match")
REQUIRED = ("external_id", "gross_pay", "plan_compensation")
# The statement's cents fields, named in the file by their dollar columns.
_DOLLAR_COLUMNS = {"gross_pay": "gross_pay_cents", "plan_compensation": "plan_compensation_cents",
                   "employer_match": "employer_match_cents"}
_COLUMN_OF = {field: column for column, field in _DOLLAR_COLUMNS.items()}


def statement_from_row(cells: dict[str, str], label: str) -> dict:
    """One CSV row as a statement. Unreadable amounts are named once, under the file's own column (the schema
    would call them missing); the schema's problems are named by the file's columns too."""
    statement = {"external_id": cells.get("external_id"), "withholdings": {}}
    unreadable: dict[str, list[str]] = {}
    for column in (*_DOLLAR_COLUMNS, *WITHHOLDING_COLUMNS):
        if column not in cells:
            continue
        try:
            cents = dollars_to_cents(cells[column])
        except ValueError as error:
            unreadable[column] = [str(error)]
            continue
        if column in _DOLLAR_COLUMNS:
            statement[_DOLLAR_COLUMNS[column]] = cents
        else:
            statement["withholdings"][column] = cents
    if "hours" in cells:
        statement["hours"] = cells["hours"]
    if unreadable:
        raise ValidationError(unreadable)
    try:
        return StatementIn().load(statement)
    except ValidationError as error:
        raise ValidationError({_COLUMN_OF.get(field, field): messages
                               for field, messages in error.messages.items()}) from None
