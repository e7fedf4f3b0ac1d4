"""A Hong Kong resident registers in Beijing with the residence permit for Hong Kong, Macao and
Taiwan residents (BJ-SCOPE-1) in a real headless Chromium, fills and submits an application; the
document type and the masked number are shown on the applicant's pages and on the page the
employer verifies."""
from __future__ import annotations

import re

import pytest

from .test_browser import (  # noqa: F401  (live and browser are fixtures)
    BROWSER, _add_entries, _context, _flash_ok, _login, _upload, browser, live,
)
from .test_calendar_ids import HK_PERMIT

from . import factories as f  # noqa: E402
from .conftest import PASSWORD, at  # noqa: E402

time_machine = pytest.importorskip("time_machine", reason="time-machine is not installed")
pytestmark = BROWSER

MOBILE = "13900000031"
NAME = "陈港生"
EMPLOYER = "海淀测试机械有限公司"  # the live fixture's employer
PLAN = "2026年度北京市职称评审"
COMMITTEE = "北京市工程技术系列职称评审委员会"
LABEL = "港澳台居民居住证"
MASKED = "810" + "*" * 13 + HK_PERMIT[-2:]


@pytest.mark.rule("BJ-SCOPE-1")
def test_hong_kong_resident_registers_with_the_residence_permit_and_submits(live, browser,
                                                                            tmp_path):
    base = live
    scan_pdf = tmp_path / "学历证书.pdf"
    scan_pdf.write_bytes(f.pdf_bytes())
    scan_png = tmp_path / "residence-permit.png"
    scan_png.write_bytes(f.png_bytes())
    applicant = _context(browser, True)
    page = applicant.new_page()
    with time_machine.travel(at(2026, 7, 8, 10, 0), tick=True):
        page.goto(f"{base}/beijing/register")
        page.fill("input[name=name]", NAME)
        page.select_option("select[name=id_type]", label=LABEL)
        page.fill("input[name=id_number]", HK_PERMIT)
        page.fill("input[name=mobile]", MOBILE)
        page.select_option("select[name=person_type]", "professional")
        page.select_option("select[name=employer]", label=EMPLOYER)
        page.fill("input[name=password]", PASSWORD)
        page.fill("input[name=password2]", PASSWORD)
        page.click("form.stack button")
        page.wait_for_url(f"{base}/beijing/login")
        _flash_ok(page, "注册申请已收到")
        _login(page, base, MOBILE)
        page.wait_for_url(f"{base}/beijing/home")
        page.goto(f"{base}/beijing/me/")
        main = page.locator("main")
        assert LABEL in main.inner_text() and MASKED in main.inner_text()
        assert HK_PERMIT not in page.content()

        page.click("a.button[href$='/me/applications/new']")
        page.select_option("select[name=plan]", label=PLAN)
        page.select_option("select[name=committee]", label=COMMITTEE)
        page.select_option("select[name=series]", "engineering")
        page.select_option("select[name=specialty]", "mechanical")
        page.select_option("select[name=level]", "intermediate")
        page.click("form.stack button")
        page.wait_for_url(re.compile(rf"^{re.escape(base)}/beijing/me/applications/\d+$"))
        detail_url = page.url

        # The birth date and gender are asked in the basic information, whatever the document.
        basic = page.locator("section#basic")
        assert LABEL in basic.inner_text() and MASKED in basic.inner_text()
        basic.locator("select[name=gender]").select_option("male")
        basic.locator("input[name=birth_date]").fill("1994-08-23")
        with page.expect_response(lambda r: r.url.endswith("/basic")):
            basic.locator("button", has_text="保存本栏").click()
        _add_entries(page, {"school": "香港大学", "major": "机械工程", "degree": "本科",
                            "graduated_on": "2016-07-01"},
                     {"org_name": EMPLOYER, "position": "工程师", "start": "2016-08-01"})
        for material, scan in (("id_card", scan_png), ("education", scan_pdf)):
            _upload(page, material, scan)
        page.goto(detail_url)
        assert page.locator("ul.problems").count() == 0
        page.locator("section#submit input[name=pledge]").check()
        page.locator("section#submit button").click()
        page.wait_for_url(detail_url)
        _flash_ok(page, "已提交")
        assert page.locator("main > p strong").inner_text() == "待审核"
        assert LABEL in page.locator("section#basic").inner_text()

        # The employer verifies the file: the document type and the masked number are shown.
        office = _context(browser, True)
        clerk = office.new_page()
        _login(clerk, base, "clerk1")
        clerk.wait_for_url(f"{base}/beijing/home")
        clerk.goto(f"{base}/beijing/office/")
        clerk.locator("#list a", has_text=NAME).click()
        clerk.wait_for_url(re.compile(rf"^{re.escape(base)}/beijing/office/applications/\d+$"))
        text = clerk.locator("main").inner_text()
        assert "待审核" in text and LABEL in text and MASKED in text
        assert HK_PERMIT not in clerk.content()
        office.close()
    applicant.close()
