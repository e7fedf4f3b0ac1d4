"""Writing rows into .xlsx sheets so that text typed by users stays text."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import rustpy_xlsxwriter as rx

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


@dataclass
class Sheet:
    """One sheet of a streamed workbook: a few lines above, a bold header row, then `rows` as
    they come (any iterable; a generator is read one row at a time while the file is written).
    In a row, None and empty text leave their cell out, and a row may be shorter than the
    header. Every column is text unless listed in `numbers` (numbers, or headings of the
    application's own words), `dates` (shown as yyyy-mm-dd) or `datetimes`: a column's format is
    set once for the whole column, so a date in a text column would show as a bare number."""
    title: str
    header: Sequence[str]
    rows: Iterable[Sequence]
    above: Sequence[tuple[str, bool]] = ()  # (text, bold), each line across the sheet's width
    widths: Sequence[float] = ()            # in characters, from the first column
    numbers: Collection[int] = ()
    dates: Collection[int] = ()
    datetimes: Collection[int] = ()
    bold_rows: Collection[int] = ()         # data rows in bold, counted from 0 below the header
    print_wide: bool = False  # A4 landscape, one page wide, the header row on every page


def write(path, sheets: Iterable[Sheet]) -> None:
    """Write `sheets` to a new .xlsx at `path`, row by row (Rust's rust_xlsxwriter in
    constant-memory mode: a long roster costs a few MB and about a tenth of the CPU of a
    Python writer). Text stays text whatever it looks like: never read as a formula, a number
    or a link; text columns carry the quote prefix so that a cell edited later stays text too.
    If a sheet's rows raise, nothing is written and no temporary rows are left behind."""
    bold = rx.Format().set_bold()
    quoted = rx.Format().set_quote_prefix()
    day = rx.Format().set_num_format("yyyy-mm-dd")
    moment = rx.Format().set_num_format("yyyy-mm-dd h:mm:ss")
    entries, options = [], defaultdict(dict)
    for sheet in sheets:
        header = [str(h) for h in sheet.header]
        # Rows go in as dicts keyed by the header's words: the binding takes records.
        if len(set(header)) != len(header):
            raise ValueError(f"header words repeat: {header}")
        entries.append((sheet.title, _records(header, sheet.rows)))
        o, top = options, len(sheet.above)
        o["header_row"][sheet.title] = top
        o["header_format"][sheet.title] = bold
        o["column_formats"][sheet.title] = {
            h: day if i in sheet.dates else moment if i in sheet.datetimes else quoted
            for i, h in enumerate(header) if i not in sheet.numbers}
        if sheet.widths:
            o["column_widths"][sheet.title] = list(sheet.widths)
        if sheet.above:
            # A line above the header is one cell across the sheet's width: a merged range
            # (the only way this writer puts anything above the header).
            last = max(len(header) - 1, 1)
            o["merge_ranges"][sheet.title] = [
                (r, 0, r, last, text, *((bold,) if strong else ()))
                for r, (text, strong) in enumerate(sheet.above)]
        if sheet.bold_rows:
            o["row_formats"][sheet.title] = {top + 1 + r: bold for r in sheet.bold_rows}
        if sheet.print_wide:
            o["page_setup"][sheet.title] = {"landscape": True, "paper_size": A4,
                                            "fit_to_pages": (1, 0), "repeat_rows": top}
    try:
        rx.write_worksheets(entries, str(path), **{k: v for k, v in options.items() if v})
    except BaseException:
        # Nothing half-written stays: the writer zips only at the end, but be sure of it.
        Path(path).unlink(missing_ok=True)
        raise


def _records(header: list[str], rows: Iterable[Sequence]) -> Iterator[dict]:
    """Each row as a dict holding every column: the writer takes its header and its columns'
    formats from the first record's keys. No rows at all: one empty record, so the header is
    still written."""
    width, empty, seen = len(header), (None,) * len(header), False
    for row in rows:
        seen = True
        yield dict(zip(header, row if len(row) == width else (*row, *empty[len(row):])))
    if not seen:
        yield dict(zip(header, empty))


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
