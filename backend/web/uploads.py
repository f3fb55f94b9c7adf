"""Reading uploaded CSV files safely: a broken file (a NUL byte, a giant cell) is a 422 listing the line, never a 500."""
import csv
import io

from marshmallow import ValidationError

from backend.errors import ValidationFailed
from backend.web.problems import flatten_messages


def read_header(reader: csv.DictReader) -> list[str]:
    try:
        return list(reader.fieldnames or [])
    except csv.Error as error:
        raise ValidationFailed([("header", f"cannot be read as CSV: {error}")]) from None


def csv_rows(reader: csv.DictReader):
    """The reader's rows; a row the csv module cannot read stops the upload with its line number."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise ValidationFailed([(f"line {reader.line_num}", f"cannot be read as CSV: {error}")]) from None
        yield row


def uploaded_text(request) -> str:
    """The uploaded file (the form field `file`, or the raw body) as text: UTF-8, and no NUL characters."""
    upload = request.files.get("file")
    raw = upload.read() if upload else request.get_data()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationFailed([("file", "is not UTF-8 text")]) from None
    if "\x00" in text:
        raise ValidationFailed([("file", "contains a NUL character")])
    return text


def load_csv_rows(text: str, parse_row, *, columns, required=(), empty_file: str | None = None,
                  nothing: str = "has no rows", also_check=None) -> tuple[list, list[str]]:
    """Every row of an uploaded CSV file through `parse_row(cells, label)`, with each row's label ("line 7", the
    file's own line number): (rows, labels). Every problem in the file is listed at once: unknown and missing
    columns, rows with more fields than the header, and what `parse_row` refuses (a marshmallow
    `ValidationError`, or a `ValidationFailed` naming fields). Empty cells are left out, as if not sent.
    When some rows failed, `also_check(rows, row_label)` (row_label: index → label) adds the problems only the
    whole file shows (a repeated id) for the rows that parsed, so one refusal reports everything; when none
    failed, the caller's own service checks the whole file as it would any other input."""
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in read_header(reader)]
    if not header and empty_file:
        raise ValidationFailed([("file", empty_file)])
    problems = [("header", f"unknown column {h!r}") for h in header if h not in columns]
    problems += [("header", f"missing column {name!r}") for name in required if name not in header]
    if problems:
        raise ValidationFailed(problems)
    rows, labels = [], []
    for raw in csv_rows(reader):
        label = f"line {reader.line_num}"
        if None in raw:
            problems.append((label, "has more fields than the header"))
            continue
        cells = {k.strip(): v.strip() for k, v in raw.items() if k and v is not None and v.strip() != ""}
        try:
            rows.append(parse_row(cells, label))
            labels.append(label)
        except ValidationError as error:
            problems.extend(flatten_messages(error.messages, label))
        except ValidationFailed as error:
            problems.extend(error.errors)
    if not rows and not problems:
        problems.append(("file", nothing))
    if problems:
        raise ValidationFailed(problems + (also_check(rows, labels.__getitem__) if also_check else []))
    return rows, labels
