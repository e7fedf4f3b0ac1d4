"""The city HR bureau sets up Chifeng's year in a real headless Chromium without JavaScript,
starting from offices with nothing set up: it adds a review service agency to the org tree and
invites its clerk, who applies for filing; the bureau files the agency and sets up a committee
for it; the agency invites an expert, vets them, the bureau approves them and the agency files
the committee with that expert on its roster; the bureau generates and publishes the directory,
which the public page lists with the agency's phone and the 12333 helpline. The bureau then
replaces a county housing bureau with a new one and invites its clerk, who sets a password from
the SMS link, finds the construction file waiting on the home page and recommends it on to the
county HR bureau (CF-ROUTE-3)."""
from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from .test_browser import _context, _flash_ok, live_app, serving
from .test_browser import BROWSER, browser  # noqa: F401  (fixture)

time_machine = pytest.importorskip("time_machine", reason="time-machine is not installed")

from playwright.sync_api import expect  # noqa: E402

from app.extensions import db  # noqa: E402
from app.models import Application, Org, User  # noqa: E402
from app.models.notify import Outbox  # noqa: E402
from app.tenancy import tenants  # noqa: E402
from app.workflow.transitions import transition  # noqa: E402

from . import factories as f  # noqa: E402
from .conftest import PASSWORD, at  # noqa: E402

pytestmark = BROWSER

T = "chifeng"
NEW_PASSWORD = "Chifeng-Clerk-2026"
AGENCY = "赤峰市建设工程职称评审服务中心"
AGENCY_PHONE = "0476-8800123"
COMMITTEE = "赤峰市建筑施工专业中级职称评审委员会"
EXPERT = "高丽华"
OLD_HOUSING = "cf-housing-arhorqin"
NEW_HOUSING = "阿鲁科尔沁旗住房和城乡建设局（新）"
BUILDER = ("cf-builder-ar", "阿鲁科尔沁旗路桥建设有限公司")
APPLICANT = ("c-bao", "包振宇")
HOURS = "工作日 8:30-17:00"
PROCEDURE = "材料审核、专家评议、无记名投票"
OPINION = "材料真实完整，符合申报条件，同意推荐。"


@pytest.fixture
def live(tmp_path):
    """Chifeng with only the city HR bureau's officer, the builder's clerk, the county HR
    bureau's clerk and the builder's applicant with a complete draft of a construction 中级 file
    (the world's files); no agency filing, committee of its own, expert or directory."""
    app = live_app(tmp_path)
    with app.app_context(), time_machine.travel(at(2026, 5, 20, 9), tick=False):
        f.make_user(T, "u-cf-hr", "hr_officer", "cf-hr", name="市人社局经办人")
        f.make_employer(T, BUILDER[0], "arhorqin", kind="state_owned", name=BUILDER[1])
        f.make_user(T, "u-builder", "employer_clerk", BUILDER[0], name="路桥公司经办人")
        f.make_user(T, "u-cf-hr-arhorqin", "hr_officer", "cf-hr-arhorqin", name="阿旗人社局经办人")
        person = f.make_user(T, APPLICANT[0], "applicant", BUILDER[0], name=APPLICANT[1])
        draft = f.make_application(T, person, "cf-2026-intermediate", "cf-eng", "engineering",
                                   "intermediate", "construction")
        app_id = draft.id
        db.session.remove()
    with serving(app) as base:
        yield SimpleNamespace(base=base, app=app, app_id=app_id)


def _page(browser, width: int = 1280):  # noqa: F811
    page = _context(browser, js=False).new_page()
    page.set_viewport_size({"width": width, "height": 900})
    return page


def _sign_in(page, base: str, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/{T}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form.stack button")
    expect(page).to_have_url(f"{base}/{T}/home")


def _nav(page, text: str) -> None:
    page.locator("header nav a", has_text=text).first.click()


def _last_link(app) -> str:
    """The one-time link of the latest SMS in the outbox (its path)."""
    with app.app_context():
        body = db.session.scalar(sa.select(Outbox.body).order_by(Outbox.id.desc()).limit(1))
        db.session.remove()
    url = re.search(r"https?://\S+", body).group(0)
    assert url.startswith(app.config["PUBLIC_BASE_URL"] + f"/{T}/staff/welcome/")
    return url.removeprefix(app.config["PUBLIC_BASE_URL"])


def _add_unit(hr, base: str, kind: str, code: str, name: str, tier: str,
              district: str = "", series: tuple[str, ...] = ()) -> None:
    """The city HR bureau adds a unit on 机构管理 → 添加机构 and lands on its page."""
    _nav(hr, "机构管理")
    hr.locator("main a", has_text="添加机构").click()
    hr.select_option("select[name=kind]", kind)
    hr.fill("input[name=code]", code)
    hr.fill("input[name=name]", name)
    hr.select_option("select[name=tier]", tier)
    hr.select_option("select[name=district]", district)
    for s in series:
        hr.locator(f"input[name=series][value={s}]").check()
    hr.locator("main form button", has_text="添加机构").click()
    _flash_ok(hr, "机构已添加")
    expect(hr).to_have_url(re.compile(rf"/{T}/admin/orgs/\d+$"))


def _invite_clerk(hr, app, browser, name: str, mobile: str, username: str,  # noqa: F811
                  width: int = 1280):
    """From the unit's page the bureau opens 工作人员账号 and invites a clerk; the clerk opens
    the link of the SMS, sets a password and signs in. Returns the clerk's page (home)."""
    base = hr.url.split(f"/{T}/")[0]
    hr.locator("main a", has_text="工作人员账号").click()
    expect(hr.locator("main")).to_contain_text("该机构还没有工作人员账号。")
    form = hr.locator("main form.stack")
    form.locator("input[name=name]").fill(name)
    form.locator("input[name=mobile]").fill(mobile)
    form.locator("input[name=username]").fill(username)
    form.locator("button", has_text="添加并发送短信").click()
    _flash_ok(hr, "设置密码的链接已通过短信发送")
    expect(hr.locator("main table tbody tr", has_text=name)).to_contain_text(username)

    clerk = _page(browser, width)
    clerk.goto(base + _last_link(app))
    expect(clerk.locator("main")).to_contain_text(f"{name}，您的登录名是 {username}")
    clerk.fill("input[name=password]", NEW_PASSWORD)
    clerk.fill("input[name=password2]", NEW_PASSWORD)
    clerk.locator("main form button", has_text="设置密码").click()
    expect(clerk).to_have_url(f"{base}/{T}/login")
    _flash_ok(clerk, f"密码已设置，请用登录名{username}登录")
    _sign_in(clerk, base, username, NEW_PASSWORD)
    return clerk


def _agency_files(agency) -> None:
    """The agency's clerk fills every item of 第十条 on 机构备案 and submits (AE-AGENCY-1)."""
    _nav(agency, "机构备案")
    values = {"profile": "承担全市建设工程专业职称评审服务。", "head": "李明",
              "head_title": "主任", "scope": "工程系列建筑施工专业", "purpose": "规范评审服务",
              "address": "赤峰市红山区钢铁街1号", "phone": AGENCY_PHONE,
              "hours": HOURS, "staff_count": "5", "staff": "专职工作人员5人",
              "facilities": "评审会议室、录音录像设备", "committees": COMMITTEE}
    for name, value in values.items():
        agency.locator(f"main form [name={name}]").fill(value)
    agency.locator("main form button", has_text="提交备案申请").click()
    expect(agency.locator("p.flash.ok")).to_contain_text("备案申请已提交")
    expect(agency.locator("main dl")).to_contain_text("待备案")
    # Until the bureau files it, the agency is told it may not open review sessions.
    expect(agency.locator("p.flash.error")).to_have_text("评审服务机构尚未经市人力资源社会保障部门备案。")


def _hr_files_agency_and_sets_up_committee(hr) -> None:
    _nav(hr, "评审服务机构备案与考核")
    hr.locator("main table", has_text="提交于").locator("tr", has_text=AGENCY).locator(
        "a", has_text="审核").click()
    expect(hr.locator("main dl")).to_contain_text(AGENCY_PHONE)
    hr.locator("main form button", has_text="予以备案").click()
    _flash_ok(hr, "已备案")
    row = hr.locator("main tr", has_text=AGENCY).last
    expect(row).to_contain_text("2026-05-20 — 2029-05-20")
    row.locator("a", has_text="设立评委会").click()
    hr.fill("input[name=name]", COMMITTEE)
    hr.select_option("select[name=series]", "engineering")
    hr.locator("input[name=levels][value=intermediate]").check()
    hr.locator("input[name=specialties][value=construction]").check()
    hr.locator("main form button", has_text="设立评委会").click()
    _flash_ok(hr, "评委会已设立")


def _expert_enters_the_pool(agency, hr) -> None:
    """The city HR bureau invites an expert (measures 第十五条(二)), naming the agency that vets
    them; the agency vets, the bureau approves (AE-EXP-1, AE-EXP-6)."""
    _nav(hr, "邀请专家入库")
    form = hr.locator("form#nominate")
    for name, value in {"name": EXPERT, "id_number": "110108198506150101",
                        "birth_date": "1985-06-15", "mobile": "13904761234",
                        "title_year": "2015", "employer_name": "赤峰市建筑设计研究院"}.items():
        form.locator(f"[name={name}]").fill(value)
    form.locator("select[name=gender]").select_option("female")
    form.locator("select[name=title_level]").select_option("senior")
    form.locator("select[name=series]").select_option("engineering")
    form.locator("select[name=agency_org_id]").select_option(label=AGENCY)
    form.locator("button", has_text="提交").click()
    _flash_ok(hr, "待评审服务机构审核")
    _nav(agency, "入库审核")
    row = agency.locator("main tr", has_text=EXPERT)
    expect(row).to_contain_text("✓")  # meets the conditions for entry
    row.locator("button", has_text="审核通过").click()
    _flash_ok(agency, "已办理")
    # Vetted but not yet approved: not offered for the committee's roster.
    _open_committee_filing(agency)
    expect(agency.locator("main fieldset")).not_to_contain_text(EXPERT)

    _nav(hr, "专家入库批准")
    row = hr.locator("main tr", has_text=EXPERT)
    expect(row).to_contain_text(AGENCY)
    row.locator("button", has_text="批准入库").click()
    expect(hr.locator("p.flash.ok").first).to_have_text("已办理。")
    expect(hr.locator("p.flash.ok").last).to_contain_text("专家账号已开通")
    expect(hr.locator(".flash.error")).to_have_count(0)
    expect(hr.locator("main tr", has_text=EXPERT)).to_have_count(0)


def _open_committee_filing(agency) -> None:
    _nav(agency, "评委会备案")
    agency.locator("main tr", has_text=COMMITTEE).locator("a", has_text="备案").first.click()
    expect(agency.locator("main h1")).to_have_text(f"备案 · {COMMITTEE}")


def _agency_files_committee(agency) -> None:
    """Once approved, the expert is offered for the roster; the committee is filed with its
    period, scope, standard, procedure and roster (AE-COMM-1)."""
    _open_committee_filing(agency)
    agency.fill("input[name=filed_on]", "2026-05-20")
    agency.fill("input[name=valid_until]", "2029-05-19")
    agency.fill("textarea[name=scope]", "全市建筑施工专业中级职称申报人")
    agency.fill("textarea[name=standard]", "业绩成果|60\n专业能力|40")
    agency.fill("textarea[name=procedure]", PROCEDURE)
    agency.get_by_label(EXPERT).check()
    agency.locator("main form button", has_text="提交备案").click()
    _flash_ok(agency, "已备案")
    expect(agency.locator("main tr", has_text=COMMITTEE)).to_contain_text("2029-05-19")


def _directory(hr, base: str) -> None:
    _nav(hr, "名录")
    hr.locator("main form button", has_text="按当前备案生成名录").click()
    _flash_ok(hr, "名录已生成")
    expect(hr.locator("main table")).to_contain_text(COMMITTEE)
    hr.locator("main form button", has_text="发布名录").click()
    _flash_ok(hr, "名录已发布")
    hr.locator("main a", has_text="查看公众页面").click()
    expect(hr).to_have_url(f"{base}/{T}/directory?year=2026")


def _shot(page, shots, name: str, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    page.screenshot(path=str(shots / f"{name}-{width}.png"), full_page=True)
    # Nothing wider than the window: no sideways scrolling of the page itself.
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def _lines(cell) -> int:
    """How many lines the text of `cell` takes on the screen."""
    return cell.evaluate("e => { const r = document.createRange(); r.selectNodeContents(e);"
                         " return new Set([...r.getClientRects()].filter(x => x.width > 0)"
                         ".map(x => Math.round(x.top))).size; }")


def _recommend_at_employer(browser, base, app_id: int) -> None:  # noqa: F811
    employer = _page(browser)
    _sign_in(employer, base, "u-builder")
    employer.goto(f"{base}/{T}/office/applications/{app_id}")
    form = employer.locator("form#recommend")
    form.locator("textarea[name=opinion]").fill("经单位公示无异议，同意推荐。")
    form.locator("input[name=no_objection]").check()
    form.locator("button", has_text="推荐").click()
    _flash_ok(employer, "已办理")
    employer.context.close()


def _holder(app, app_id: int) -> str:
    with app.app_context():
        a = db.session.get(Application, app_id)
        code = a.holder.code if a.holder else None
        db.session.remove()
    return code


@pytest.mark.rule("AE-AGENCY-1", "AE-COMM-1", "AE-EXP-1", "AE-EXP-6", "AE-DUTY-1", "CF-ROUTE-3")
def test_city_hr_sets_up_the_year_and_a_new_county_bureau_acts_on_a_file(
        live, browser, tmp_path):  # noqa: F811
    base, app = live.base, live.app
    shots = tmp_path / "shots"
    shots.mkdir()
    hr = _page(browser)

    with time_machine.travel(at(2026, 5, 20, 9), tick=True):
        _sign_in(hr, base, "u-cf-hr")
        # 1. A new agency, its clerk, its filing and a committee for it.
        _add_unit(hr, base, "agency", "cf-agency-build", AGENCY, "city")
        agency = _invite_clerk(hr, app, browser, "建设中心经办人", "13904760001", "build-clerk")
        _agency_files(agency)
        _hr_files_agency_and_sets_up_committee(hr)
        agency.reload()
        expect(agency.locator("main dl")).to_contain_text("已备案")
        expect(agency.locator("main dl")).to_contain_text("2026-05-20 — 2029-05-20")
        expect(agency.locator(".flash.error")).to_have_count(0)
        # 2. An expert enters the pool; the agency files the committee with them.
        _expert_enters_the_pool(agency, hr)
        _agency_files_committee(agency)
        # 3. The directory, generated, published and public.
        _directory(hr, base)
        public = _page(browser)
        public.goto(f"{base}/{T}/directory")
        row = public.locator("main table tbody tr", has_text=COMMITTEE)
        expect(row).to_have_count(1)
        expect(row).to_contain_text(AGENCY)
        # AE-DUTY-1: the agency's contacts and hours, the committee's procedure.
        for text in (AGENCY_PHONE, HOURS, "赤峰市红山区钢铁街1号", PROCEDURE):
            expect(row).to_contain_text(text)
        expect(public.locator("main")).to_contain_text("12333")
        for width in (1280, 390):
            _shot(public, shots, "directory", width)
            # Short cells (series, specialty, level) are not broken character by character.
            for cell in row.locator("td").all()[:3]:
                assert _lines(cell) == 1, (width, cell.inner_text())
        # 4. A new county housing bureau replaces the old one in Ar Horqin.
        _nav(hr, "机构管理")
        hr.locator("main tr", has_text=OLD_HOUSING).locator("a").first.click()
        close = hr.locator("main form", has_text="撤销")
        close.locator("input[name=reason]").fill("机构改革，职能划入新设机构")
        close.locator("button").click()
        expect(hr.locator("p.flash.ok")).to_contain_text("机构已撤销")
        expect(hr.locator("p.flash.error")).to_have_text("该机构已于2026-05-20撤销。")
        _add_unit(hr, base, "department", "cf-housing-arhorqin-2", NEW_HOUSING, "county",
                  "arhorqin", ("engineering",))
        housing_page = hr.url

    # The builder's applicant submits and the unit's notice runs (the world's file).
    with app.app_context(), time_machine.travel(at(2026, 6, 1, 9), tick=False):
        cfg = tenants()[T]
        a = db.session.get(Application, live.app_id)
        transition(cfg, a, "submit", f.actor(a.applicant), pledge=f.PLEDGE)
        clerk = db.session.scalar(sa.select(User).filter_by(username="u-builder"))
        transition(cfg, a, "start_notice", f.actor(clerk))
        route = [s["org_id"] for s in a.route]
        codes = [db.session.get(Org, i).code for i in route]
        db.session.remove()
    assert codes == [BUILDER[0], "cf-housing-arhorqin-2", "cf-hr-arhorqin", "cf-housing",
                     "cf-agency-city"]

    with time_machine.travel(at(2026, 6, 15, 10), tick=True):
        _recommend_at_employer(browser, base, live.app_id)
        assert _holder(app, live.app_id) == "cf-housing-arhorqin-2"
        hr.context.close()  # the May session is long over: a new one
        hr = _page(browser)
        _sign_in(hr, base, "u-cf-hr")
        hr.goto(housing_page)
        housing = _invite_clerk(hr, app, browser, "住建局经办人", "13904760002",
                                "arhorqin-housing")
        # The home page names the office and the file waiting, with its count.
        expect(housing.locator("main h1")).to_have_text(f"待办事项 · {NEW_HOUSING}")
        item = housing.locator("table.waiting tbody tr", has_text="待审核的申报")
        expect(item.locator("td").nth(1)).to_have_text("1")
        for width in (390, 1280):
            _shot(housing, shots, "housing-home", width)
            assert _lines(item.locator("td").nth(2)) == 1, width  # the date, whole
        item.locator("a").click()
        housing.locator("#list a", has_text=APPLICANT[1]).click()
        expect(housing).to_have_url(f"{base}/{T}/office/applications/{live.app_id}")
        form = housing.locator("form#recommend")
        form.locator("textarea[name=opinion]").fill(OPINION)
        form.locator("button", has_text="推荐").click()
        _flash_ok(housing, "已办理")
        expect(housing.locator("#list")).not_to_contain_text(APPLICANT[1])

        # The file is now with the county HR bureau, the next office of CF-ROUTE-3.
        county = _page(browser)
        _sign_in(county, base, "u-cf-hr-arhorqin")
        county.goto(f"{base}/{T}/office/")
        county.locator("#list a", has_text=APPLICANT[1]).click()
        expect(county.locator("main")).to_contain_text(OPINION)
    assert _holder(app, live.app_id) == "cf-hr-arhorqin"
