"""One Beijing walkthrough in a real headless Chromium against a live server, run twice: with
JavaScript (sections save through htmx without a page load) and without (plain form posts and
redirects). An applicant registers, creates and fills an application, uploads the required scans
and submits; the employer clerk starts the internal notice and, five working days later,
recommends the application."""
from __future__ import annotations

import os
import re
import shutil
import threading
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest

pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
time_machine = pytest.importorskip("time_machine", reason="time-machine is not installed")

from playwright.sync_api import expect  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from app.extensions import db  # noqa: E402

from . import factories as f  # noqa: E402
from .conftest import PASSWORD, at, build_app, scratch_dir  # noqa: E402


def _find_chromium() -> str | None:
    for candidate in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser",
                      "google-chrome", "google-chrome-stable"):
        if candidate:
            path = candidate if os.path.isfile(candidate) else shutil.which(candidate)
            if path and os.access(path, os.X_OK):
                return path
    return None


CHROMIUM = _find_chromium()
HTMX_JS = Path(__file__).resolve().parent.parent / "static" / "vendor" / "htmx.min.js"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]

# Every browser test: marked (the PostgreSQL run leaves them out) and skipped without Chromium.
BROWSER = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="no Chromium executable found (set CHROMIUM "
                                                "or install chromium)"),
]
pytestmark = BROWSER

ID_NUMBER = "110108198506154321"
MOBILE = "13900000021"
NAME = "张工程"
EMPLOYER = "海淀测试机械有限公司"
PLAN = "2026年度北京市职称评审"
COMMITTEE = "北京市工程技术系列职称评审委员会"


def live_app(tmp_path):
    """An app over a fresh database with CSRF on; sessions outlive the frozen server clock for
    the real browser clock (its cookies must not look expired)."""
    return build_app(f"sqlite:///{scratch_dir() / (tmp_path.name + '-live.db')}", tmp_path,
                     PERMANENT_SESSION_LIFETIME=timedelta(days=400), WTF_CSRF_ENABLED=True)


def live_draft(tmp_path):
    """live_app with one Beijing applicant, a1 of emp1, and a draft application of theirs that
    still lacks its scans; returns (the app, the draft's id)."""
    app = live_app(tmp_path)
    with app.app_context():
        f.make_employer("beijing", "emp1", "haidian")
        user = f.make_user("beijing", "a1", "applicant", "emp1")
        app_id = f.make_application("beijing", user, "bj-2026", "bj-eng", "engineering",
                                    "intermediate", "mechanical", complete=False).id
        db.session.remove()
    return app, app_id


@contextmanager
def serving(app):
    """Serve `app` from its own thread on a free loopback port; yield the base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def live(tmp_path):
    """A live server over a fresh database with one approved employer."""
    app = live_app(tmp_path)
    with app.app_context():
        f.make_employer("beijing", "emp1", "haidian", name=EMPLOYER)
        f.make_user("beijing", "clerk1", "employer_clerk", "emp1", name="单位经办人")
        db.session.remove()
    with serving(app) as base:
        yield base


# Console messages about the Content Security Policy seen by any page of the test: Chromium
# reports what the policy blocked (an inline style, a script) there, with or without JavaScript.
CSP_MESSAGES: list[str] = []


@pytest.fixture
def browser(chromium):
    """The worker's Chromium (conftest.py); every context a test opens in it is closed after
    the test, so each test starts with no cookies, storage or pages of another."""
    CSP_MESSAGES.clear()
    b = chromium()
    try:
        yield b
    finally:
        for ctx in b.contexts:
            ctx.close()
    assert CSP_MESSAGES == [], "the Content Security Policy blocked something"


def _context(browser, js: bool):
    ctx = browser.new_context(java_script_enabled=js, locale="zh-CN",
                              viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(10_000)
    ctx.on("console", lambda m: "Content Security Policy" in m.text
           and CSP_MESSAGES.append(f"{m.location.get('url')}: {m.text}"))
    return ctx


def _flash_ok(page, text: str):
    expect(page.locator("p.flash.ok")).to_contain_text(text)
    expect(page.locator(".flash.error")).to_have_count(0)


def _register(page, base: str, name: str, id_number: str, mobile: str):
    """An applicant of EMPLOYER registers through the public form, is told an SMS follows,
    signs in with the mobile number and lands on 我的申报."""
    page.goto(f"{base}/beijing/register")
    page.fill("input[name=name]", name)
    page.fill("input[name=id_number]", id_number)
    page.fill("input[name=mobile]", mobile)
    page.select_option("select[name=person_type]", "professional")
    page.select_option("select[name=employer]", label=EMPLOYER)
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.click("form.stack button")
    expect(page).to_have_url(f"{base}/beijing/login")
    _flash_ok(page, "注册申请已收到")
    _login(page, base, mobile)
    expect(page).to_have_url(f"{base}/beijing/home")
    page.locator("header nav a", has_text="我的申报").click()
    expect(page).to_have_url(f"{base}/beijing/me/")


def _upload(page, material: str, scan: Path) -> None:
    """Upload one scan typed as `material` in the attachments section."""
    form = page.locator("section#attachments form[enctype='multipart/form-data']")
    form.locator("select[name=material]").select_option(material)
    form.locator("input[name=scan]").set_input_files(str(scan))
    form.locator("button", has_text="上传").click()
    expect(page.locator("section#attachments table")).to_contain_text(scan.name)
    expect(page.locator("section#attachments .flash.error")).to_have_count(0)


def _add_entries(page, education: dict, work: dict):
    """Add one education and one work entry through their section forms."""
    for key, values in (("education", education), ("work", work)):
        section = page.locator(f"section#{key}")
        for name, value in values.items():
            section.locator(f"input[name={name}]").fill(value)
        section.locator("button", has_text="添加一条").click()
        expect(page.locator(f"section#{key} table tbody")).to_contain_text(
            next(iter(values.values())))
        expect(page.locator(f"section#{key} .flash.error")).to_have_count(0)


def _login(page, base: str, username: str):
    page.goto(f"{base}/beijing/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form.stack button")


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_beijing_walkthrough(live, browser, tmp_path, js):
    base = live
    scan_pdf = tmp_path / "学历证书.pdf"
    scan_pdf.write_bytes(f.pdf_bytes())
    scan_png = tmp_path / "id-card.png"
    scan_png.write_bytes(f.png_bytes())

    applicant = _context(browser, js)
    page = applicant.new_page()
    loads = []  # full document loads of the applicant's tab
    page.on("load", lambda _: loads.append(page.url))

    with time_machine.travel(at(2026, 7, 8, 10, 0), tick=True):
        # Register through the public form.
        _register(page, base, NAME, ID_NUMBER, MOBILE)
        expect(page.locator("main")).to_contain_text("110*************21")  # masked
        # CSRF protection is live, so every later post (htmx ones too) must carry the token.
        assert page.request.post(f"{base}/beijing/me/applications/new",
                                 form={"series": "engineering"}).status == 400

        # Create the application.
        page.click("a.button[href$='/me/applications/new']")
        page.select_option("select[name=plan]", label=PLAN)
        page.select_option("select[name=committee]", label=COMMITTEE)
        page.select_option("select[name=series]", "engineering")
        page.select_option("select[name=specialty]", "mechanical")
        page.select_option("select[name=level]", "intermediate")
        page.click("form.stack button")
        expect(page).to_have_url(re.compile(rf"^{re.escape(base)}/beijing/me/applications/\d+$"))
        detail_url = page.url
        expect(page.locator("h1")).to_have_text(PLAN)
        expect(page.locator("main > p strong")).to_have_text("草稿")

        page.wait_for_load_state("load")
        htmx_loaded = js and page.evaluate("typeof htmx") == "object"
        if js and HTMX_JS.is_file():
            assert htmx_loaded, "static/vendor/htmx.min.js exists but htmx did not load"
        if htmx_loaded:
            page.evaluate("window.__samePage = 'yes'")
        loads_before = len(loads)

        # Basic information.
        basic = page.locator("section#basic")
        basic.locator("select[name=gender]").select_option("male")
        basic.locator("input[name=birth_date]").fill("1985-06-15")
        basic.locator("input[name=current_title]").fill("助理工程师")
        if htmx_loaded:
            with page.expect_response(lambda r: r.url.endswith("/basic")) as resp:
                basic.locator("button", has_text="保存本栏").click()
            assert resp.value.status == 200
            assert resp.value.request.headers.get("hx-request") == "true"
        else:
            basic.locator("button", has_text="保存本栏").click()
            expect(page).to_have_url(detail_url + "#basic")
        basic = page.locator("section#basic")
        expect(basic.locator("input[name=current_title]")).to_have_value("助理工程师")
        expect(basic.locator("input[name=birth_date]")).to_have_value("1985-06-15")
        expect(basic.locator(".flash.error")).to_have_count(0)

        # One education and one work entry.
        _add_entries(page, {"school": "北京工业大学", "major": "机械工程", "degree": "本科",
                            "graduated_on": "2007-07-01"},
                     {"org_name": EMPLOYER, "position": "工程师", "start": "2007-08-01"})

        # The two scans every application needs.
        for material, scan in (("id_card", scan_png), ("education", scan_pdf)):
            _upload(page, material, scan)

        if htmx_loaded:
            assert len(loads) == loads_before, f"sections reloaded the page: {loads[loads_before:]}"
            assert page.evaluate("window.__samePage") == "yes"
        else:
            assert len(loads) > loads_before

        # Submit: a full post in both modes. The 'still needed' list and the version followed
        # the uploads without a reload (with htmx the submit box comes along out of band).
        expect(page.locator("ul.problems")).to_have_count(0)
        page.locator("section#submit input[name=pledge]").check()  # the integrity pledge
        page.locator("section#submit button").click()
        expect(page).to_have_url(detail_url)
        _flash_ok(page, "已提交")
        expect(page.locator("main > p strong")).to_have_text("待审核")
        expect(page.locator("section#submit")).to_contain_text("已提交，不能再修改")

        # The employer clerk starts the internal notice.
        office = _context(browser, js)
        clerk = office.new_page()
        _login(clerk, base, "clerk1")
        expect(clerk).to_have_url(f"{base}/beijing/home")
        clerk.locator("main a", has_text="待审核的申报").click()
        expect(clerk).to_have_url(f"{base}/beijing/office/?status=submitted")
        clerk.locator("#list a", has_text=NAME).click()
        expect(clerk.locator("main > p strong")).to_have_text("待审核")
        expect(clerk.locator("main")).to_contain_text("北京工业大学")
        clerk_detail = clerk.url
        clerk.locator("#actions button", has_text="开始公示").click()
        _flash_ok(clerk, "已办理")
        expect(clerk.locator("main > p strong")).to_have_text("单位公示中")

    # Five working days later (8 Jul 2026 is a Wednesday).
    with time_machine.travel(at(2026, 7, 20, 10, 0), tick=True):
        clerk.goto(clerk_detail)
        if "/login" in clerk.url:
            _login(clerk, base, "clerk1")
            clerk.goto(clerk_detail)
        form = clerk.locator("form[action$='/recommend']")
        form.locator("textarea[name=opinion]").fill("经单位公示无异议，同意推荐。")
        form.locator("input[name=no_objection]").check()
        form.locator("button", has_text="推荐").click()
        expect(clerk).to_have_url(f"{base}/beijing/office/")
        _flash_ok(clerk, "已办理")
        clerk.goto(clerk_detail)
        expect(clerk.locator("main > p strong")).to_have_text("已推荐至评审服务机构")
        expect(clerk.locator("#actions")).to_have_count(0)
        office.close()

        page.goto(detail_url)
        if "/login" in page.url:  # twelve days on: the applicant's session has ended
            _login(page, base, MOBILE)
            page.goto(detail_url)
        expect(page.locator("main > p strong")).to_have_text("已推荐至评审服务机构")
        page.screenshot(path=str(tmp_path / f"applicant-{'js' if js else 'nojs'}.png"),
                        full_page=True)
    applicant.close()
    if js and not htmx_loaded:
        pytest.skip("walkthrough passed, but the htmx checks did not run: "
                    "static/vendor/htmx.min.js is missing (make static/vendor/htmx.min.js)")
