"""Reading uploaded CSV files safely: a broken file (a NUL byte, a giant cell) is a 422 listing the line, never a 500."""
import csv

from backend.errors import ValidationFailed


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
