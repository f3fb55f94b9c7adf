"""CSV files the platform writes, all through one writer that neutralizes formula cells: a cell beginning with `=`,
`+`, `-`, `@`, a tab or a carriage return is one a spreadsheet may run as a formula (CSV injection, OWASP), so it is
written with a leading `'`, which spreadsheets show as text. Census names come from uploads and are stored as given;
this is where they stop being dangerous."""
import csv
import io
import tempfile
from collections.abc import Iterable

from flask import Response

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralized(value) -> str:
    """The cell as text, with a leading `'` when a spreadsheet would read it as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class CsvWriter:
    """Rows of a CSV file, written with every cell neutralized and quoted, into a spooled temporary file (on disk
    past 1 MB), so an export of any length is never held whole in memory."""

    def __init__(self, header: list[str]):
        self.header = header
        self._file = tempfile.SpooledTemporaryFile(max_size=1 << 20, mode="w+b")
        self._text = io.TextIOWrapper(self._file, encoding="utf-8", newline="")
        self._writer = csv.writer(self._text, quoting=csv.QUOTE_ALL)
        self._writer.writerow([neutralized(name) for name in header])

    def write_rows(self, rows: Iterable[dict]) -> None:
        """Each row's cells in the header's order (a missing cell is empty)."""
        self._writer.writerows([neutralized(row.get(name)) for name in self.header] for row in rows)

    def response(self, filename: str) -> Response:
        """The file as a download, sent in pieces from its start."""
        self._text.flush()
        raw = self._text.detach()
        raw.seek(0)
        response = Response(iter(lambda: raw.read(1 << 16), b""), mimetype="text/csv",
                            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
                            direct_passthrough=True)
        response.call_on_close(raw.close)
        return response
