"""Streamed workbooks (app/spreadsheets.py): what a roster or a list export writes row by row
reads back as written, and a workbook given up half-way leaves nothing behind."""
from __future__ import annotations

import tempfile
from datetime import date, datetime

import pytest
from openpyxl import load_workbook

from app.spreadsheets import Streamed


def test_rows_read_back_as_written(tmp_path):
    path = tmp_path / "list.xlsx"
    with Streamed(path) as book:
        ws = book.sheet("名单", widths=(6, 20))
        ws.print_wide(title_row=0)
        ws.append(["序号", "姓名", "提交时间", "办理期限"], bold=True)
        ws.append([1, '=HYPERLINK("http://x","y")', datetime(2026, 7, 2, 17, 0),
                   date(2026, 7, 20)])
        ws.append([2, "", None, "http://example.cn"])
    ws = load_workbook(path).active
    assert ws.title == "名单" and ws.print_title_rows == "$1:$1"
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.paperSize == 9
    assert [c.font.b for c in ws[1]] == [True] * 4
    assert list(ws.iter_rows(min_row=2, values_only=True)) == [
        (1, '=HYPERLINK("http://x","y")', datetime(2026, 7, 2, 17, 0), datetime(2026, 7, 20)),
        (2, None, None, "http://example.cn")]
    formula_like = ws["B2"]
    assert formula_like.data_type == "s" and formula_like.quotePrefix
    assert not ws["D3"].hyperlink and not ws["B1"].quotePrefix


def test_a_workbook_given_up_writes_nothing_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # where the rows wait meanwhile
    path = tmp_path / "roster.xlsx"
    with pytest.raises(RuntimeError):
        with Streamed(path) as book:
            ws = book.sheet("roster")
            for i in range(1000):
                ws.append([i, "张伟", "同意推荐"])
            assert any(scratch.rglob("*"))  # the rows so far, in a temporary file
            raise RuntimeError("the database went away")
    assert not path.exists()
    assert not any(scratch.iterdir())
