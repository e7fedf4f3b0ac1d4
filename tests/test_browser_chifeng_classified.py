"""A Chifeng school teacher with classified duties (涉密人员) in a real headless Chromium without
JavaScript: she registers, her school verifies her profile, she applies for 副高级 in the senior
plan that fits her level — blind online plus paper for teachers — ticks 涉密 and submits; her file
is reviewed offline on paper, and the 评审表 and 送审表 are offered for the paper file (seed
二(一), 四(一)2)."""
from __future__ import annotations

import re

import pytest

from .test_browser import _context, _flash_ok
from .test_browser import BROWSER, browser  # noqa: F401  (fixture)
from .test_browser_chifeng import (  # noqa: F401  (fixtures)
    CF_TEACHER, MATERIALS, PLAN_SENIOR, T, Person, _code_on, _fill, _forms, _modes, _new_file,
    _sign_in, _status, _submit, clerk_of, desk, live_chifeng, scans,
)

time_machine = pytest.importorskip("time_machine", reason="time-machine is not installed")

from playwright.sync_api import expect  # noqa: E402

from .conftest import PASSWORD, at  # noqa: E402

pytestmark = BROWSER

SECRET = Person("13900000052", "孙丽", "cf-school-nc", "female", "一级教师")
SECRET_ID = "150429198604120032"
OFFLINE = "线下纸质材料评审（涉密人员线下申报、线下评审）"


def _register(desk, who: Person, id_number: str, names: dict[str, str]) -> None:
    """Register in the browser, learn the profile awaits the school, and have the school's clerk
    verify it on 人员信息审核 (CF-REG-1)."""
    page = _context(desk.browser, js=False).new_page()
    desk.adopt(who.username, page)
    page.goto(f"{desk.base}/{T}/register")
    page.fill("input[name=name]", who.name)
    page.fill("input[name=id_number]", id_number)
    page.fill("input[name=mobile]", who.username)
    page.select_option("select[name=person_type]", "professional")
    page.select_option("select[name=employer]", label=names[who.employer])
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.click("form.stack button")
    expect(page).to_have_url(f"{desk.base}/{T}/login")
    _flash_ok(page, "注册申请已收到")
    _sign_in(page, desk.base, who.username)
    expect(page).to_have_url(f"{desk.base}/{T}/home")
    page.locator("header nav a", has_text="我的申报").click()
    expect(page).to_have_url(f"{desk.base}/{T}/me/")
    page.locator("a.button", has_text="新建申报").click()
    expect(page.locator("main p.error")).to_contain_text("尚未经所在单位审核通过")

    staff = desk.open(clerk_of(who.employer), f"/{T}/office/")
    staff.locator("header nav a", has_text="人员信息审核").click()
    staff.locator("main table tbody tr", has_text=who.name).locator(
        "button", has_text="审核通过").click()
    _flash_ok(staff, f"已审核通过：{who.name}")


@pytest.mark.rule("CF-MODE-1", "CF-MODE-3", "CF-FORMS-1", "CF-REG-1")
def test_a_classified_teacher_registers_and_submits_a_file_reviewed_offline_on_paper(
        live_chifeng, desk, scans):
    base, names = live_chifeng.base, live_chifeng.names
    with time_machine.travel(at(2026, 6, 15, 9), tick=True):  # 高级: apply 11 Jun – 10 Jul
        _register(desk, SECRET, SECRET_ID, names)
        path = _new_file(desk, SECRET, PLAN_SENIOR, CF_TEACHER, "school_teacher",
                         "associate_senior")
        page = desk.page(SECRET.username)
        mode = page.locator("main > p", has_text="评审方式")
        # Senior school teachers: blind online plus paper, until she declares classified duties.
        expect(mode).to_contain_text("评审方式：线上盲审盲评，另交完整纸质材料")
        _fill(page, SECRET, "associate_senior", names[SECRET.employer], MATERIALS, scans,
              classified=True)
        expect(page.locator("main > p", has_text="评审方式")).to_contain_text(
            f"评审方式：{OFFLINE}")
        _submit(page)  # nothing refuses the plan that fits her level
        expect(_status(page)).to_have_text("待审核")
        expect(page.locator("main > p", has_text="评审方式")).to_contain_text(
            f"评审方式：{OFFLINE}")
        expect(page.locator("section#basic #classified")).to_have_text("涉密人员")
        forms = _forms(page, base, ["review", "send"])
        assert _code_on(forms["review"]) == _code_on(forms["send"])
        assert re.search(r"/me/applications/\d+$", path)
    assert _modes(live_chifeng.app, {"secret": path}) == {"secret": "offline_paper"}
