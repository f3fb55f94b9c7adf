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
