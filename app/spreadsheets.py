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
