"""The basic section in a real headless Chromium with htmx: a field saves when the applicant
leaves it; a save that does not get through (the connection drops, the server fails) leaves the
text in the field and says so, and the next try saves it; when the session has run out, the
applicant signs in again and is back at the section with the text restored."""
from __future__ import annotations

import re

import pytest

from app.extensions import db
from app.models import Application

from .test_browser import (  # noqa: F401  (browser is a fixture)
    BROWSER, _context, browser, live_draft, serving,
)
from playwright.sync_api import expect  # imported once test_browser found playwright

from .conftest import PASSWORD, at

time_machine = pytest.importorskip("time_machine", reason="time-machine is not installed")
pytestmark = BROWSER

FAILED = "保存失败，内容仍在页面上，请稍后重试。"


@pytest.fixture
def draft_live(tmp_path):
    """A live server (CSRF on) with one applicant's draft; yields (base URL, app, draft id)."""
    app, app_id = live_draft(tmp_path)
    with serving(app) as base:
        yield base, app, app_id


def _saved_title(app, app_id: int) -> str:
    with app.app_context():
        title = (db.session.get(Application, app_id).basic or {}).get("current_title", "")
        db.session.remove()
        return title


def _sign_in_here(page):
    """Sign in on the sign-in page the browser is on (keeping its `next`)."""
    page.fill("input[name=username]", "a1")
    page.fill("input[name=password]", PASSWORD)
    page.click("form.stack button")


def test_fields_save_on_leaving_and_a_failed_save_keeps_the_text(draft_live, browser):
    base, app, app_id = draft_live
    page = _context(browser, True).new_page()
    basic_url = re.compile(r".*/applications/\d+/basic$")
    with time_machine.travel(at(2026, 7, 8, 10, 0), tick=True):
        page.goto(f"{base}/beijing/login")
        _sign_in_here(page)
        page.wait_for_url(f"{base}/beijing/home")
        page.goto(f"{base}/beijing/me/applications/{app_id}")
        assert page.evaluate("typeof htmx") == "object"
        basic = page.locator("section#basic")
        title = basic.locator("input[name=current_title]")
        status = basic.locator(".save-status")

        # Leaving the field saves it; no button is pressed.
        title.fill("助理工程师")
        with page.expect_response(basic_url) as resp:
            title.press("Tab")
        assert resp.value.status == 200
        expect(status).to_contain_text("已保存")
        assert _saved_title(app, app_id) == "助理工程师"

        # The connection drops, then the server fails: the text stays and the page says so.
        for failure in ("abort", "500"):
            page.route(basic_url, lambda route, how=failure: route.abort() if how == "abort"
                       else route.fulfill(status=500, body="server error"))
            title.fill(f"工程师（{failure}）")
            title.press("Tab")
            expect(status).to_contain_text(FAILED)
            assert title.input_value() == f"工程师（{failure}）"
            assert _saved_title(app, app_id) == "助理工程师"
            page.unroute(basic_url)

        # The next try gets through.
        with page.expect_response(basic_url) as resp:
            basic.locator("button", has_text="保存本栏").click()
        assert resp.value.status == 200
        expect(status).to_contain_text("已保存")
        assert FAILED not in status.inner_text()
        assert _saved_title(app, app_id) == "工程师（500）"

        # The session runs out (its cookie is gone) while the applicant types: leaving the
        # field leads to the sign-in page, and after it back to the section, text restored.
        page.context.clear_cookies()
        title.fill("高级工程师（未保存）")
        title.press("Tab")
        page.wait_for_url(re.compile(r".*/beijing/login\?next=.*"))
        expect(page.locator("main")).to_contain_text("已为您暂存")
        _sign_in_here(page)
        page.wait_for_url(f"{base}/beijing/me/applications/{app_id}#basic")
        restored = page.locator("section#basic input[name=current_title]")
        assert restored.input_value() == "高级工程师（未保存）"
        expect(page.locator("section#basic .save-status")).to_contain_text("尚未保存")
        assert _saved_title(app, app_id) == "工程师（500）"
        # The restored form carries the new session's CSRF token: saving it works.
        with page.expect_response(basic_url) as resp:
            page.locator("section#basic button", has_text="保存本栏").click()
        assert resp.value.status == 200
        expect(page.locator("section#basic .save-status")).to_contain_text("已保存")
        assert _saved_title(app, app_id) == "高级工程师（未保存）"
