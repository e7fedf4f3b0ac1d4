"""Writing rows into .xlsx sheets so that text typed by users stays text."""
from __future__ import annotations

from collections.abc import Iterable

# What makes Excel, WPS or LibreOffice read a cell as a formula (or as a DDE command once the
# user edits it): a name like =HYPERLINK("http://x","y") in a roster must stay a name.
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def append(ws, values: Iterable) -> None:
    """ws.append, with every text cell that could start a formula written as text: string type,
    and the quote prefix that keeps it text when someone edits the cell."""
    ws.append(list(values))
    for cell in ws[ws.max_row]:
        if isinstance(cell.value, str) and cell.value.startswith(FORMULA_START):
            cell.data_type = "s"
            cell.quotePrefix = True


def write_only_row(ws, values: Iterable) -> list:
    """The cells of one row of a write-only sheet (ws.append takes them): a text that could
    start a formula becomes a text cell with the quote prefix, as `append` does."""
    from openpyxl.cell import WriteOnlyCell
    out = []
    for value in values:
        if isinstance(value, str) and value.startswith(FORMULA_START):
            cell = WriteOnlyCell(ws, value=value)
            cell.data_type = "s"
            cell.quotePrefix = True
            out.append(cell)
        else:
            out.append(value)
    return out


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
