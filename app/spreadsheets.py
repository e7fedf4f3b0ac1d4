"""Writing rows into .xlsx sheets so that text typed by users stays text."""
from __future__ import annotations

import tempfile
from collections.abc import Iterable
from datetime import date, datetime

import xlsxwriter

# What makes Excel, WPS or LibreOffice read a cell as a formula (or as a DDE command once the
# user edits it): a name like =HYPERLINK("http://x","y") in a roster must stay a name.
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
A4 = 9  # the paper size's code in a sheet's page setup


def append(ws, values: Iterable) -> None:
    """ws.append, with every text cell that could start a formula written as text: string type,
    and the quote prefix that keeps it text when someone edits the cell."""
    ws.append(list(values))
    for cell in ws[ws.max_row]:
        if isinstance(cell.value, str) and cell.value.startswith(FORMULA_START):
            cell.data_type = "s"
            cell.quotePrefix = True


class Streamed:
    """An .xlsx written row by row to `path` (XlsxWriter's constant-memory mode: one row is held
    in memory, each sheet's rows wait in a temporary file until `close()` zips them), for lists
    of any length. Text stays text whatever it starts with; text that could start a formula also
    gets the quote prefix, as `append` gives it. A workbook given up half-written is `discard`ed:
    its temporary files go and `path` is never written."""

    # Strings are never read as formulas, links or numbers: user text goes in as written.
    OPTIONS = {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
               "strings_to_numbers": False}

    def __init__(self, path):
        # The sheets' temporary files in a folder of their own, removed whatever happens.
        self._tmp = tempfile.TemporaryDirectory(prefix="xlsx-")
        self.book = xlsxwriter.Workbook(str(path), {**self.OPTIONS, "tmpdir": self._tmp.name})
        add = self.book.add_format
        # (plain, bold) formats for ordinary cells and for text that could start a formula.
        self.formats = (None, add({"bold": True}))
        self.quoted = (add({"quote_prefix": True}), add({"bold": True, "quote_prefix": True}))
        # openpyxl's default formats for dates and datetimes, so a date reads back as one.
        self.date = add({"num_format": "yyyy-mm-dd"})
        self.datetime = add({"num_format": "yyyy-mm-dd h:mm:ss"})

    def sheet(self, title: str, widths: Iterable[float] = ()) -> StreamedSheet:
        """A new sheet, its columns `widths` wide (in characters) from the first."""
        ws = self.book.add_worksheet(title)
        for col, width in enumerate(widths):
            ws.set_column(col, col, width)
        return StreamedSheet(self, ws)

    def close(self) -> None:
        """Write the finished file."""
        try:
            self.book.close()
        finally:
            self._tmp.cleanup()

    def discard(self) -> None:
        """Give the workbook up: remove its temporary files, write nothing."""
        self._tmp.cleanup()

    def __enter__(self) -> Streamed:
        return self

    def __exit__(self, kind, error, traceback) -> None:
        """Closed when the block ends, discarded when it raises."""
        if kind is None:
            self.close()
        else:
            self.discard()


class StreamedSheet:
    """One sheet of a `Streamed` workbook, filled like openpyxl's `ws.append`."""

    def __init__(self, streamed: Streamed, ws):
        self.streamed, self.ws, self.rows = streamed, ws, 0

    def print_wide(self, title_row: int) -> None:
        """Printed on A4 landscape, one page wide, row `title_row` (from 0) on every page."""
        self.ws.set_landscape()
        self.ws.set_paper(A4)
        self.ws.fit_to_pages(1, 0)
        self.ws.repeat_rows(title_row)

    def append(self, values: Iterable, bold: bool = False) -> None:
        """The next row; None and empty text leave their cell out."""
        ws, row, book = self.ws, self.rows, self.streamed
        fmt, quoted = book.formats[bold], book.quoted[bold]
        self.rows += 1
        for col, value in enumerate(values):
            if value is None or value == "":
                continue
            if isinstance(value, str):
                ws.write_string(row, col, value, quoted if value.startswith(FORMULA_START)
                                else fmt)
            elif isinstance(value, datetime):
                ws.write_datetime(row, col, value, book.datetime)
            elif isinstance(value, date):
                ws.write_datetime(row, col, value, book.date)
            else:
                ws.write(row, col, value, fmt)


def send_temporary(path: str, download_name: str):
    """Send a finished .xlsx written to a temporary file, in blocks, and remove it: the file is
    unlinked once open (it goes when the response closes it)."""
    import os

    from flask import send_file
    fh = open(path, "rb")
    os.unlink(path)
    resp = send_file(fh, download_name=download_name, mimetype=XLSX_MIME, as_attachment=True,
                     max_age=0, conditional=False, etag=False)
    resp.content_length = os.fstat(fh.fileno()).st_size
    return resp
