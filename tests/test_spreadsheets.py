"""Streamed workbooks (app/spreadsheets.py): what a roster or a list export writes row by row
reads back as written, and a workbook given up half-way leaves nothing behind."""
from __future__ import annotations

import tempfile
from datetime import date, datetime

import pytest
from openpyxl import load_workbook

from app.spreadsheets import Sheet, write


def test_rows_read_back_as_written(tmp_path):
    path = tmp_path / "list.xlsx"
    rows = [["系列：工程"],
            [1, '=HYPERLINK("http://x","y")', datetime(2026, 7, 2, 17, 0), date(2026, 7, 20)],
            [2, "", None, "http://example.cn"],
            [3, "0012", None, "-1"]]
    write(path, [Sheet("名单", ["序号", "姓名", "提交时间", "办理期限"], iter(rows),
                       above=[("花名册", True), ("报送单位：某局", False)], widths=(6, 20),
                       numbers={0}, dates={3}, datetimes={2}, bold_rows={0}, print_wide=True)])
    ws = load_workbook(path).active
    assert ws.title == "名单" and ws.print_title_rows == "$3:$3"
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.paperSize == 9
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToHeight == 0
    assert ws.column_dimensions["A"].width < ws.column_dimensions["B"].width
    assert (ws["A1"].value, ws["A1"].font.b, ws["A2"].value, ws["A2"].font.b) == (
        "花名册", True, "报送单位：某局", False)
    assert [c.font.b for c in ws[3]] == [True] * 4 and ws["A4"].font.b
    # Numbers read back as numbers (the writer stores every number as a float).
    assert list(ws.iter_rows(min_row=4, values_only=True)) == [
        ("系列：工程", None, None, None),
        (1, '=HYPERLINK("http://x","y")', datetime(2026, 7, 2, 17, 0), datetime(2026, 7, 20)),
        (2, None, None, "http://example.cn"), (3, "0012", None, "-1")]
    formula_like = ws["B5"]
    assert formula_like.data_type == "s" and formula_like.quotePrefix
    assert ws["D7"].data_type == "s" and ws["B7"].data_type == "s"
    assert ws["D5"].number_format == "yyyy-mm-dd" and ws["C5"].number_format.endswith("h:mm:ss")
    assert not ws["D6"].hyperlink and not ws["B3"].quotePrefix and not ws["B5"].font.b


def test_several_sheets_and_an_empty_one_keeps_its_header(tmp_path):
    path = tmp_path / "stats.xlsx"
    write(path, [Sheet("统计表", ["序号", "单位"], iter([[1, "甲"], [None, "合计"]])),
                 Sheet("空", ["序号", "系列"], iter(()))])
    wb = load_workbook(path)
    assert wb.sheetnames == ["统计表", "空"]
    assert list(wb["统计表"].iter_rows(values_only=True))[-1] == (None, "合计")
    assert list(wb["空"].iter_rows(values_only=True)) == [("序号", "系列")]


def test_a_workbook_given_up_writes_nothing_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))  # where a writer would keep rows meanwhile
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    path = tmp_path / "roster.xlsx"

    def rows():
        for i in range(1000):
            yield [i, "张伟", "同意推荐"]
        raise RuntimeError("the database went away")
    with pytest.raises(RuntimeError):
        write(path, [Sheet("roster", ["序号", "姓名", "意见"], rows())])
    assert not path.exists()
    assert not any(scratch.iterdir())


def test_a_generator_of_many_rows_is_written_without_holding_them(tmp_path):
    """200,000 rows from a generator: each row's text is let go once written (a count of the
    rows' names alive at once stays small; a writer holding the rows would hold them all)."""
    import gc
    alive = []

    class Name(str):
        pass

    def rows():
        for i in range(200_000):
            if i % 50_000 == 49_999:
                alive.append(sum(isinstance(o, Name) for o in gc.get_objects()))
            yield [i, Name("张伟"), "同意推荐"]
    write(tmp_path / "big.xlsx", [Sheet("roster", ["序号", "姓名", "意见"], rows())])
    assert len(alive) == 4 and max(alive) < 10
