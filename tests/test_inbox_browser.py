"""The office list in a real headless Chromium: with JavaScript a filter, a count link and the
pager swap the list alone and push the URL (the back button returns to the previous list);
without it the same form and links load pages; on a 390 px phone the form wraps and the table
scrolls inside its box."""
from __future__ import annotations

import re

import pytest

from app.extensions import db

from . import factories as f
from .conftest import at
from .test_browser import BROWSER, _context, _login, browser, live_app, serving  # noqa: F401
from .test_inbox_views import NAMES, _held

time_machine = pytest.importorskip("time_machine", reason="time-machine is not installed")
pytestmark = BROWSER


@pytest.fixture
def office_live(tmp_path, monkeypatch):
    """A live server; an employer holding twelve files, three in their notice; pages of 5."""
    from app.workflow import inbox
    monkeypatch.setattr(inbox.page, "__kwdefaults__", {**inbox.page.__kwdefaults__, "size": 5})
    app = live_app(tmp_path)
    with app.app_context():
        emp = f.make_employer("beijing", "emp", "haidian", name="海淀精密机械厂")
        f.make_user("beijing", "clerk", "employer_clerk", "emp")
        for i, name in enumerate(NAMES):
            u = f.make_user("beijing", f"a{i}", "applicant", "emp", name=name)
            a = _held(emp, u, "in_notice" if i < 3 else "submitted", i,
                      level="intermediate" if i % 2 else "associate_senior")
        db.session.commit()
        db.session.remove()
    with serving(app) as base:
        yield base


def _names(page) -> list[str]:
    return page.locator("#list tbody tr td:nth-child(2) a").all_inner_texts()


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_filter_count_links_and_pages_in_a_browser(office_live, browser, js):  # noqa: F811
    from playwright.sync_api import expect
    base = office_live
    ctx = _context(browser, js)
    page = ctx.new_page()
    loads = []
    with time_machine.travel(at(2026, 7, 20, 10), tick=True):
        _login(page, base, "clerk")
        page.goto(f"{base}/beijing/office/")
        page.on("load", lambda _: loads.append(page.url))
        expect(page.locator("#list")).to_contain_text("共12件")
        page.click("#filters summary")  # the other filters fold away until asked for
        page.select_option("select[name=level]", "intermediate")
        if not js:
            page.click("#filters button")
        expect(page.locator("#list")).to_contain_text("共6件")
        expect(page).to_have_url(re.compile(r"level=intermediate"))
        assert _names(page) == [NAMES[i] for i in (1, 3, 5, 7, 9)]
        # A count link keeps the level and shows its status in the form.
        page.locator("#list .counts a", has_text="单位公示中").click()
        expect(page.locator("#list")).to_contain_text("共1件")
        expect(page).to_have_url(re.compile(r"level=intermediate.*status=in_notice|"
                                            r"status=in_notice.*level=intermediate"))
        expect(page.locator("#filter-status")).to_have_value("in_notice")
        assert _names(page) == [NAMES[1]]
        page.locator("#list .counts a", has_text="全部").click()
        expect(page.locator("#list")).to_contain_text("共6件")
        page.locator("#list a", has_text="下一页").click()
        expect(page.locator("#list")).to_contain_text("第2页，共2页")
        assert _names(page) == [NAMES[11]]
        page.go_back()
        expect(page.locator("#list")).to_contain_text("第1页，共2页")
        assert _names(page) == [NAMES[i] for i in (1, 3, 5, 7, 9)]
        expect(page.locator("select[name=level]")).to_have_value("intermediate")
        if js:
            assert loads == []  # every step swapped the list without a page load
        else:
            assert len(loads) >= 5


def test_the_list_on_a_phone(office_live, browser):  # noqa: F811
    base = office_live
    ctx = browser.new_context(viewport={"width": 390, "height": 800}, locale="zh-CN")
    page = ctx.new_page()
    with time_machine.travel(at(2026, 7, 20, 10), tick=True):
        _login(page, base, "clerk")
        page.goto(f"{base}/beijing/office/")
        # The page does not scroll sideways; each file is a card whose cells sit within the
        # screen, each under its column's name.
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        table = page.locator("#list table")
        assert table.evaluate("t => t.scrollWidth <= t.clientWidth")
        assert page.evaluate("[...document.querySelectorAll('#list td')]"
                             ".every(td => td.getBoundingClientRect().right <= 390)")
        name = page.locator("#list tbody tr").first.locator("td[data-label='申报人']")
        assert name.evaluate("td => getComputedStyle(td, '::before').content") == '"申报人"'
        # The filter form wraps: its fields sit on several rows within the screen.
        page.click("#filters summary")
        boxes = [page.locator(f"#filters [name={n}]").bounding_box()
                 for n in ("q", "status", "level", "sort")]
        assert all(b["x"] + b["width"] <= 390 for b in boxes)
        assert len({round(b["y"]) for b in boxes}) >= 3
