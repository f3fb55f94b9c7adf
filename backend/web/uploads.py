"""Reading uploaded CSV files safely: a broken file (a NUL byte, a giant cell) is a 422 listing the line, never a 500.
Large files (the census) are read as a stream, row by row, as often as needed, with a cap on their rows."""
import csv
import io
from contextlib import contextmanager

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


def _check_header(header: list[str], columns, required, empty_file: str | None) -> None:
    if not header and empty_file:
        raise ValidationFailed([("file", empty_file)])
    problems = [("header", f"unknown column {h!r}") for h in header if h not in columns]
    problems += [("header", f"missing column {name!r}") for name in required if name not in header]
    if problems:
        raise ValidationFailed(problems)


def _cells(raw: dict) -> dict:
    """A row's cells, trimmed; empty cells are left out, as if not sent."""
    return {k.strip(): v.strip() for k, v in raw.items() if k and v is not None and v.strip() != ""}


class CsvUpload:
    """An uploaded CSV file (the form field `file`, or the raw body) read as a stream from its start as often as
    the caller asks, so neither its text nor its rows are ever held whole: a multipart file stays in werkzeug's
    spooled temporary file; a raw body is the request's bytes (at most MAX_CONTENT_LENGTH). The header is checked
    at once; rows are counted as they are read, and the first row past `max_rows` refuses the file."""

    def __init__(self, request, *, columns, required=(), max_rows: int, empty_file: str | None = None,
                 nothing: str = "has no rows"):
        upload = request.files.get("file")
        self._raw = upload.stream if upload else io.BytesIO(request.get_data())
        self._columns, self._max_rows, self._nothing = columns, max_rows, nothing
        with self._reader() as reader:
            _check_header([h.strip() for h in read_header(reader)], columns, required, empty_file)

    @contextmanager
    def _reader(self):
        self._raw.seek(0)
        text = io.TextIOWrapper(self._raw, encoding="utf-8-sig", newline="")
        try:
            yield csv.DictReader(_checked_lines(text))
        finally:
            text.detach()  # the upload's own file stays open for the next pass

    def rows(self, parse_row):
        """`(label, row, problems)` for each row from the file's start: `parse_row(cells, label)`'s row and no
        problems, or None and what was wrong (more fields than the header, what `parse_row` refused)."""
        count = 0
        with self._reader() as reader:
            read_header(reader)
            for raw in csv_rows(reader):
                count += 1
                if count > self._max_rows:
                    raise too_many_rows("file", self._max_rows)
                label = f"line {reader.line_num}"
                if None in raw:
                    yield label, None, [(label, "has more fields than the header")]
                    continue
                try:
                    yield label, parse_row(_cells(raw), label), []
                except ValidationError as error:
                    yield label, None, flatten_messages(error.messages, label)
                except ValidationFailed as error:
                    yield label, None, error.errors
        if not count:
            yield "file", None, [("file", self._nothing)]


def too_many_rows(field: str, cap: int) -> ValidationFailed:
    """The refusal of an upload past its row cap, the same for every format."""
    return ValidationFailed([(field, f"has more than {cap} rows, the most one upload may have; split it into files "
                                     f"of at most {cap} rows")])


def _checked_lines(text: io.TextIOWrapper):
    """The file's lines, refusing text that is not UTF-8 or holds a NUL character, wherever in the file."""
    try:
        for line in text:
            if "\x00" in line:
                raise ValidationFailed([("file", "contains a NUL character")])
            yield line
    except UnicodeDecodeError:
        raise ValidationFailed([("file", "is not UTF-8 text")]) from None


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
    _check_header([h.strip() for h in read_header(reader)], columns, required, empty_file)
    problems, rows, labels = [], [], []
    for raw in csv_rows(reader):
        label = f"line {reader.line_num}"
        if None in raw:
            problems.append((label, "has more fields than the header"))
            continue
        try:
            rows.append(parse_row(_cells(raw), label))
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
