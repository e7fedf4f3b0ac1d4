"""Chifeng 2026 in a real headless Chromium without JavaScript (plain form posts and redirects):
five applicants travel their own routes under the review mode of their part of the plan.

A Songshan teacher (joint review by the city teachers' committee: online blind plus paper), a
Songshan construction engineer (construction 中级: offline paper) and a private-sector engineer
who registers in the browser and is verified by the firm's clerk (online blind plus paper) apply
for 中级; the construction engineer's paper file does not match what was uploaded, goes back
with the list, is fixed and then received; every office on each route recommends in turn until
the committee's agency holds the file, and the Songshan HR bureau downloads its 中级 roster.
A Ningcheng teacher with classified duties is reviewed offline by the county's own committee, and
offline on paper too in the senior plan, whose teachers are otherwise reviewed blind online plus
paper; a city-unit engineer's senior file (online blind: the 评审表 only) goes up tier by tier to
the region."""
from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from .test_browser import _add_entries, _context, _flash_ok, _upload, live_app, serving
from .test_browser import BROWSER, browser  # noqa: F401  (fixture)

time_machine = pytest.importorskip("time_machine", reason="time-machine is not installed")

from openpyxl import load_workbook  # noqa: E402
from playwright.sync_api import expect  # noqa: E402
from pypdf import PdfReader  # noqa: E402

from app.extensions import db  # noqa: E402
from app.models import Application, Org  # noqa: E402
from app.tenancy import tenants  # noqa: E402
from app.workflow import profiles, quotas  # noqa: E402

from . import factories as f  # noqa: E402
from .conftest import PASSWORD, at  # noqa: E402
from .test_chifeng_routing import ROLE  # noqa: E402

pytestmark = BROWSER

T = "chifeng"
PLAN_MID = "2026年度赤峰市中级职称评审"
PLAN_SENIOR = "2026年度赤峰市高级职称评审"
CF_ENG = "赤峰市工程系列中初级职称评审委员会"
CF_TEACHER = "赤峰市中小学教师职称评审委员会"
NINGCHENG = "宁城县中初级职称评审委员会"
NM_ENG = "自治区工程系列高级职称评审委员会"
FORM_NAMES = {"review": "评审表", "send": "送审表"}
CODE = re.compile(r"CF-\d+-[0-9A-F]{6}")
# What every file carries: the scans the checklist always asks for, the current title one rank
# below the level applied for (逐级申报) and the date it was obtained.
MATERIALS = ("id_card", "education", "continuing_education")
LEVEL_BELOW = {"intermediate": "junior_assistant", "associate_senior": "intermediate"}
TITLE_ON = "2016-07-01"

# Units of the applicants: (code, name, district, kind, tier, parent).
EMPLOYERS = [
    ("cf-school-ss", "松山区第三中学", "songshan", "public_institution", "county", "cf-edu-songshan"),
    ("cf-builder-ss", "松山区城建工程有限公司", "songshan", "state_owned", "county", None),
    ("cf-firm-ss", "赤峰恒信机械科技有限公司", "songshan", "non_public", "county", None),
    ("cf-plant", "赤峰市重型机械厂", "hongshan", "state_owned", "city", "cf-industry"),
    ("cf-school-nc", "宁城县第一中学", "ningcheng", "public_institution", "county",
     "cf-edu-ningcheng"),
]
# A city department supervising a city unit (not in orgs.toml): (code, name, parent).
DEPARTMENTS = [("cf-industry", "赤峰市工业和信息化局", "cf-hr")]
POSTS = ("10", "6")  # (posts, holders) a public institution declares per level: four vacant
# Every office that acts or is refused below; its clerk signs in as "u-<code>".
OFFICES = ["cf-school-ss", "cf-builder-ss", "cf-firm-ss", "cf-plant", "cf-school-nc",
           "cf-industry", "cf-edu-songshan", "cf-housing-songshan", "cf-edu-ningcheng",
           "cf-edu", "cf-housing", "cf-hr-songshan", "cf-hr-ningcheng", "cf-hr-hongshan",
           "cf-hr", "nm-hr", "cf-agency-city", "cf-agency-ningcheng", "nm-agency"]


@dataclass(frozen=True)
class Person:
    username: str
    name: str
    employer: str  # org code
    gender: str
    current_title: str


TEACHER = Person("t-wang", "王丽华", "cf-school-ss", "female", "二级教师")
BUILDER = Person("c-li", "李建国", "cf-builder-ss", "male", "助理工程师")
PRIVATE = Person("13900000041", "张恒信", "cf-firm-ss", "male", "助理工程师")  # registers
PRIVATE_ID = f.ID_NUMBERS[1]
CITY = Person("e-zhao", "赵振华", "cf-plant", "male", "工程师")
CLASSIFIED = Person("t-liu", "刘明", "cf-school-nc", "male", "二级教师")
PRE_CREATED = [TEACHER, BUILDER, CITY, CLASSIFIED]

# County HR bureaus say what they checked (四(二)3(1)); every other office just agrees.
OPINIONS = dict.fromkeys(("cf-hr-songshan", "cf-hr-ningcheng"),
                         "岗位情况、材料质量和评审范围审核无误，同意推荐。")
EMPLOYER_OPINION = "经单位公示无异议，同意推荐。"


def clerk_of(code: str) -> str:
    return f"u-{code}"


def _department(code: str, name: str, parent: str) -> Org:
    d = Org(tenant_id=f.tenant_id(T), code=code, name=name, kind="department", tier="city",
            parent_id=f.org(T, parent).id)
    db.session.add(d)
    db.session.commit()
    return d


def chifeng_world() -> dict[str, str]:
    """The one place that prepares Chifeng for the walks: the applicants' units, a clerk for
    every office involved, the applicants who do not register in the browser, each verified by
    their unit (CF-REG-1), and the posts of the units held to them (CF-POL-9). Returns
    {org code: name} of every Chifeng org."""
    cfg = tenants()[T]
    for code, name, parent in DEPARTMENTS:
        _department(code, name, parent)
    for code, name, district, kind, tier, parent in EMPLOYERS:
        f.make_employer(T, code, district, kind=kind, tier=tier, parent=parent, name=name)
    clerks = {}
    for code in OFFICES:
        org = f.org(T, code)
        clerks[code] = f.make_user(T, clerk_of(code), ROLE[org.kind], code,
                                   name=f"{org.name}经办人")
    id_numbers = [n for n in f.ID_NUMBERS if n != PRIVATE_ID]
    for p, id_number in zip(PRE_CREATED, id_numbers):
        u = f.make_user(T, p.username, "applicant", p.employer, name=p.name, id_number=id_number)
        profiles.verify(cfg, f.actor(clerks[p.employer]), u.id)
    for code, *_ in EMPLOYERS:
        if quotas.posts_apply(cfg, f.org(T, code)):
            quotas.set_posts(cfg, f.actor(clerks[code]), 2026,
                             {lv.code: POSTS for lv in cfg.tenant.levels})
    return {o.code: o.name for o in db.session.scalars(
        sa.select(Org).filter_by(tenant_id=f.tenant_id(T)))}


@pytest.fixture
def live_chifeng(tmp_path):
    """A live Chifeng server over a fresh database prepared by `chifeng_world`."""
    app = live_app(tmp_path)
    with app.app_context(), time_machine.travel(at(2026, 5, 20, 9), tick=False):
        names = chifeng_world()
        db.session.remove()
    with serving(app) as base:
        yield SimpleNamespace(base=base, app=app, names=names)


class Desk:
    """One signed-in browser context per account, opened on first use."""

    def __init__(self, browser, base: str):  # noqa: F811
        self.browser, self.base, self._pages = browser, base, {}

    def adopt(self, username: str, page) -> None:
        self._pages[username] = page

    def page(self, username: str):
        if username not in self._pages:
            page = _context(self.browser, js=False).new_page()
            _sign_in(page, self.base, username)
            self._pages[username] = page
        return self._pages[username]

    def _goto(self, username: str, path: str):
        """`username`'s page showing `path`, signing in again if the session lapsed; and the
        response."""
        page = self.page(username)
        resp = page.goto(self.base + path)
        if "/login" in page.url:
            _sign_in(page, self.base, username)
            resp = page.goto(self.base + path)
        return page, resp

    def open(self, username: str, path: str):
        return self._goto(username, path)[0]

    def status(self, username: str, path: str) -> int:
        return self._goto(username, path)[1].status

    def close(self) -> None:
        for page in self._pages.values():
            page.context.close()


@pytest.fixture
def desk(browser, live_chifeng):  # noqa: F811
    d = Desk(browser, live_chifeng.base)
    yield d
    d.close()


@pytest.fixture
def scans(tmp_path):
    """One scan per material, named as the applicant would name it."""
    files = {"id_card": "身份证.png", "education": "学历证书.pdf",
             "continuing_education": "继续教育审验卡.pdf", "achievements": "业绩成果.pdf",
             "current_title": "职称证书.pdf"}
    out = {}
    for material, name in files.items():
        path = tmp_path / name
        path.write_bytes(f.png_bytes() if name.endswith(".png") else f.pdf_bytes())
        out[material] = path
    return out


# -- the applicant's side --------------------------------------------------------------------

def _sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/{T}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form.stack button")
    expect(page).not_to_have_url(re.compile(r"/login"))


def _status(page):
    """An applicant's file: the bold status on the line that names the holder."""
    return page.locator("main > p", has_text="状态：").locator("strong")


def _new_file(desk: Desk, who: Person, plan: str, committee: str, series: str, level: str,
              specialty: str = "") -> str:
    """Open a draft through 新建申报; returns the path of its page."""
    page = desk.open(who.username, f"/{T}/me/")
    page.locator("a.button", has_text="新建申报").click()
    expect(page.locator("main p.error")).to_have_count(0)  # the profile is verified
    page.select_option("select[name=plan]", label=plan)
    page.select_option("select[name=committee]", label=committee)
    page.select_option("select[name=series]", series)
    page.select_option("select[name=specialty]", specialty)
    page.select_option("select[name=level]", level)
    page.click("form.stack button")
    expect(page).to_have_url(re.compile(rf"/{T}/me/applications/\d+$"))
    expect(page.locator("h1")).to_have_text(plan)
    expect(_status(page)).to_have_text("草稿")
    return page.url.removeprefix(desk.base)


def _fill(page, who: Person, level: str, employer: str, materials, scans,
          classified: bool = False) -> None:
    """Basic information (under the ordinary rules, holding the title one rank below since
    2016), one education and one work entry, and the scans of `materials`."""
    basic = page.locator("section#basic")
    basic.locator("select[name=policy]").select_option(label="按一般条件申报")
    basic.locator("select[name=gender]").select_option(who.gender)
    basic.locator("input[name=birth_date]").fill("1986-04-12")
    basic.locator("input[name=current_title]").fill(who.current_title)
    basic.locator("select[name=current_level]").select_option(LEVEL_BELOW[level])
    basic.locator("input[name=title_on]").fill(TITLE_ON)
    if classified:
        basic.locator("input[name=classified]").check()
    basic.locator("button", has_text="保存本栏").click()
    basic = page.locator("section#basic")
    expect(basic.locator("input[name=current_title]")).to_have_value(who.current_title)
    expect(basic.locator("input[name=title_on]")).to_have_value(TITLE_ON)
    expect(basic.locator("input[name=classified]")).to_be_checked(checked=classified)
    _add_entries(page, {"school": "内蒙古工业大学", "major": "专业", "degree": "本科",
                        "graduated_on": "2008-07-01"},
                 {"org_name": employer, "position": "专业技术岗", "start": "2008-08-01"})
    for material in materials:
        _upload(page, material, scans[material])


def _submit(page, button: str = "提交申报") -> None:
    page.reload()  # a fresh 'still needed' list and version
    problems = page.locator("section#submit ul.problems")
    assert problems.count() == 0, problems.inner_text()
    page.locator("section#submit input[name=pledge]").check()  # the personal pledge
    page.locator("section#submit button", has_text=button).click()
    _flash_ok(page, "已提交")
    expect(_status(page)).to_have_text("待审核")


def _forms(page, base: str, kinds: list[str]) -> dict[str, bytes]:
    """Download the forms offered on the file's page: exactly `kinds`, each a PDF."""
    links = page.locator("#paper-forms a")
    expect(links).to_have_text([FORM_NAMES[k] for k in kinds])
    out = {}
    for kind, link in zip(kinds, links.all()):
        resp = page.request.get(base + link.get_attribute("href"))
        assert resp.status == 200
        assert resp.headers["content-type"] == "application/pdf"
        assert resp.body().startswith(b"%PDF-")
        out[kind] = resp.body()
    return out


def _code_on(pdf: bytes) -> str:
    """The file code printed on a form, as the office reads it off the paper."""
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).replace(" ", "")
    found = CODE.search(text)
    assert found, text[:300]
    return found.group(0)


def _apply(desk: Desk, who: Person, file: dict, names: dict[str, str], scans,
           materials=MATERIALS, forms=("review", "send"),
           classified: bool = False) -> tuple[str, dict[str, bytes]]:
    """Create, fill and submit a file, then download its forms; returns the path of its page
    and the forms."""
    path = _new_file(desk, who, **file)
    page = desk.page(who.username)
    _fill(page, who, file["level"], names[who.employer], materials, scans, classified)
    _submit(page)
    return path, _forms(page, desk.base, list(forms))


# -- the offices' side -----------------------------------------------------------------------

def _app_id(path: str) -> int:
    return int(path.rsplit("/", 1)[1])


def _office_status(page):
    return page.locator("main > h1 + p strong")


def _open_from_inbox(desk: Desk, code: str, who: Person, names: dict[str, str]):
    """The office's list names the file; open it from there."""
    page = desk.open(clerk_of(code), f"/{T}/office/")
    expect(page.locator("h1")).to_have_text(f"待办申报 · {names[code]}")
    page.locator("#list a", has_text=who.name).click()
    expect(page).to_have_url(re.compile(rf"/{T}/office/applications/\d+$"))
    return page


def _start_notice(desk: Desk, who: Person, names: dict[str, str]) -> None:
    page = _open_from_inbox(desk, who.employer, who, names)
    page.locator("#actions button", has_text="开始公示").click()
    _flash_ok(page, "已办理")
    expect(_office_status(page)).to_have_text("单位公示中")


def _recommend(desk: Desk, code: str, who: Person, names: dict[str, str]) -> None:
    """The holding office recommends the file; it leaves the office's list."""
    page = _open_from_inbox(desk, code, who, names)
    form = page.locator("form[action$='/recommend']")
    employer = code == who.employer
    form.locator("textarea[name=opinion]").fill(
        EMPLOYER_OPINION if employer else OPINIONS.get(code, "经审核，同意推荐。"))
    if employer:
        form.locator("input[name=no_objection]").check()
    form.locator("button", has_text="推荐").click()
    expect(page).to_have_url(f"{desk.base}/{T}/office/")
    _flash_ok(page, "已办理")
    expect(page.locator("#list")).not_to_contain_text(who.name)


def _walk(desk: Desk, who: Person, path: str, route: list[str], outsider: str,
          names: dict[str, str]) -> None:
    """The file goes office by office along `route` (the employer first, the committee's agency
    last): each office finds it in its list and recommends it, and the applicant's page names
    the next holder; an office off the route gets 404 for the file's page before it sets off
    and once it has arrived."""
    office_url = f"/{T}/office/applications/{_app_id(path)}"
    assert desk.status(clerk_of(outsider), office_url) == 404
    for code, nxt in zip(route, route[1:]):
        _recommend(desk, code, who, names)
        page = desk.open(who.username, path)
        expect(page.locator("main > p", has_text="状态：")).to_contain_text(
            f"当前办理单位：{names[nxt]}")
    expect(_status(page)).to_have_text("已推荐至评审服务机构")
    agency = desk.open(clerk_of(route[-1]), f"/{T}/agency/")
    expect(agency.locator("#list")).to_contain_text(who.name)
    assert desk.status(clerk_of(outsider), office_url) == 404


def _modes(app, paths: dict[str, str]) -> dict[str, str]:
    """The review mode each file was routed under, keyed as `paths`."""
    with app.app_context():
        found = {key: db.session.get(Application, _app_id(p)).review_mode
                 for key, p in paths.items()}
        db.session.remove()
    return found


def _register_and_verify(desk: Desk, names: dict[str, str]) -> None:
    """The private-sector engineer registers, is told the profile awaits the firm, and the
    firm's clerk verifies it on 人员信息审核 (CF-REG-1)."""
    page = _context(desk.browser, js=False).new_page()
    desk.adopt(PRIVATE.username, page)
    page.goto(f"{desk.base}/{T}/register")
    page.fill("input[name=name]", PRIVATE.name)
    page.fill("input[name=id_number]", PRIVATE_ID)
    page.fill("input[name=mobile]", PRIVATE.username)
    page.select_option("select[name=person_type]", "professional")
    page.select_option("select[name=employer]", label=names[PRIVATE.employer])
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.click("form.stack button")
    expect(page).to_have_url(f"{desk.base}/{T}/login")
    _flash_ok(page, "注册申请已收到")
    _sign_in(page, desk.base, PRIVATE.username)  # the mobile number
    expect(page).to_have_url(f"{desk.base}/{T}/home")
    page.locator("header nav a", has_text="我的申报").click()
    expect(page).to_have_url(f"{desk.base}/{T}/me/")
    page.locator("a.button", has_text="新建申报").click()
    expect(page.locator("main p.error")).to_contain_text("尚未经所在单位审核通过")

    staff = desk.open(clerk_of(PRIVATE.employer), f"/{T}/office/")
    staff.locator("header nav a", has_text="人员信息审核").click()
    row = staff.locator("main table tbody tr", has_text=PRIVATE.name)
    expect(row).to_contain_text(f"{PRIVATE.username[:3]}****{PRIVATE.username[-4:]}")
    expect(row).not_to_contain_text(PRIVATE.username)  # masked on staff pages too
    row.locator("button", has_text="审核通过").click()
    _flash_ok(staff, f"已审核通过：{PRIVATE.name}")
    expect(staff.locator("main table tbody tr", has_text=PRIVATE.name)).to_have_count(0)


def _paper_mismatch_then_match(desk: Desk, who: Person, path: str, code: str, scans) -> None:
    """The employer types the code off the paper file and ticks what arrived: the achievements
    are missing and a title certificate came that was never uploaded, so the file goes back with
    both; the applicant uploads the certificate, brings the full file and resubmits, and the
    receipt then matches (CF-PAPER-1, CF-PAPER-2)."""
    clerk = desk.open(clerk_of(who.employer), f"/{T}/office/applications/{_app_id(path)}")
    clerk.locator("main a", has_text="登记纸质材料接收").click()
    expect(clerk).to_have_url(f"{desk.base}/{T}/paper/receive")

    def tick(arrived: list[str]) -> None:
        clerk.fill("input[name=code]", code)
        clerk.locator("main form button", has_text="查找").click()
        checklist = clerk.locator("section#checklist")
        expect(checklist.locator("h2")).to_contain_text(f"{who.name} · {PLAN_MID} · {code}")
        expect(checklist.locator("tbody tr", has_text="业绩成果佐证材料")).to_contain_text(
            scans["achievements"].name)
        for material in arrived:
            checklist.locator(f"input[name=arrived][value={material}]").check()
        checklist.locator("button", has_text="登记接收").click()
        expect(clerk).to_have_url(f"{desk.base}/{T}/paper/receive")

    tick([*MATERIALS, "current_title"])
    expect(clerk.locator("p.flash.error")).to_have_text("纸质材料与网上申报不一致，已退回申报人补正。")

    page = desk.open(who.username, path)
    expect(_status(page)).to_have_text("退回补正")
    returned = page.locator("section.box.warn")
    expect(returned.locator("ol li")).to_have_count(2)
    expect(returned).to_contain_text("纸质材料中缺少“业绩成果佐证材料”，与网上申报不一致。")
    expect(returned).to_contain_text("纸质材料中有“现职称证书”，但网上未上传，与网上申报不一致。")
    expect(page.locator("#paper-forms")).to_have_count(0)  # no forms while returned
    _upload(page, "current_title", scans["current_title"])
    _submit(page, "重新提交")
    _forms(page, desk.base, ["review", "send"])

    clerk.goto(f"{desk.base}/{T}/paper/receive")
    tick([*MATERIALS, "current_title", "achievements"])
    _flash_ok(clerk, "纸质材料与网上申报一致，已登记接收。")
    clerk.fill("input[name=code]", code)
    clerk.locator("main form button", has_text="查找").click()
    expect(clerk.locator("section#checklist li")).to_have_count(2)
    expect(clerk.locator("section#checklist li").last).to_contain_text("一致")
    expect(clerk.locator("section#checklist li").first).to_contain_text("不一致，已退回")


def _roster_rows(data: bytes) -> list[tuple]:
    ws = load_workbook(io.BytesIO(data)).active
    return list(ws.iter_rows(values_only=True))


# -- the walks -------------------------------------------------------------------------------

MID = dict(plan=PLAN_MID, level="intermediate")
SONGSHAN_ROUTES = {
    # CF-ROUTE-2: county education bureau → county HR → city education bureau; city HR only
    # spot-checks. Songshan has no teachers' committee: the city's reviews jointly (CF-JOINT-1).
    TEACHER: ["cf-school-ss", "cf-edu-songshan", "cf-hr-songshan", "cf-edu", "cf-agency-city"],
    # CF-ROUTE-3: county housing bureau → county HR → city housing bureau.
    BUILDER: ["cf-builder-ss", "cf-housing-songshan", "cf-hr-songshan", "cf-housing",
              "cf-agency-city"],
    # CF-ROUTE-7: the private firm vets and recommends; then territorially via county HR, and
    # on to city HR: the engineering committee sits at the city (CF-ROUTE-1).
    PRIVATE: ["cf-firm-ss", "cf-hr-songshan", "cf-hr", "cf-agency-city"],
}
OUTSIDERS = {TEACHER: "cf-hr", BUILDER: "cf-hr", PRIVATE: "cf-housing-songshan",
             CITY: "cf-hr-hongshan", CLASSIFIED: "cf-edu"}


@pytest.mark.rule("CF-REG-1", "CF-FORMS-1", "CF-MODE-3", "CF-MODE-4", "CF-PAPER-1", "CF-PAPER-2",
                  "CF-ROUTE-2", "CF-ROUTE-3", "CF-ROUTE-7", "CF-JOINT-1",
                  "CF-REPORT-1", "CF-UNIT-1")
def test_songshan_files_travel_their_routes_and_the_county_hr_reports_its_roster(
        live_chifeng, desk, scans):
    base, names = live_chifeng.base, live_chifeng.names
    files = {}
    with time_machine.travel(at(2026, 6, 1, 9), tick=True):  # 中级: apply 26 May – 10 Jun
        _register_and_verify(desk, names)
        files[TEACHER], _ = _apply(desk, TEACHER, dict(
            committee=CF_TEACHER, series="school_teacher", **MID), names, scans)
        files[BUILDER], forms = _apply(desk, BUILDER, dict(
            committee=CF_ENG, series="engineering", specialty="construction", **MID), names,
            scans, materials=(*MATERIALS, "achievements"))
        files[PRIVATE], _ = _apply(desk, PRIVATE, dict(
            committee=CF_ENG, series="engineering", specialty="mechanical", **MID), names, scans)
        code = _code_on(forms["send"])
        assert code == _code_on(forms["review"])
        _paper_mismatch_then_match(desk, BUILDER, files[BUILDER], code, scans)
        for who in SONGSHAN_ROUTES:
            _start_notice(desk, who, names)

    assert _modes(live_chifeng.app, {"teacher": files[TEACHER], "builder": files[BUILDER],
                                     "private": files[PRIVATE]}) == {
        "teacher": "online_blind_paper", "builder": "offline_paper",
        "private": "online_blind_paper"}

    with time_machine.travel(at(2026, 6, 15, 10), tick=True):  # notices over; tiers by 25 Jun
        for who, route in SONGSHAN_ROUTES.items():
            _walk(desk, who, files[who], route, OUTSIDERS[who], names)

        # The county HR bureau's 中级 roster: grouped by series, then specialty.
        hr = desk.open(clerk_of("cf-hr-songshan"), f"/{T}/office/")
        hr.locator("main a", has_text="推荐报表").click()
        expect(hr).to_have_url(f"{base}/{T}/office/reports")
        hr.select_option("select[name=plan]", label=PLAN_MID)
        hr.locator("main form button", has_text="生成报表").click()
        _flash_ok(hr, "已开始生成报表")
        run = hr.locator("#reports table").first.locator("tbody tr").first
        expect(run).to_contain_text("已完成")
        expect(run).to_contain_text("3 行")
        link = hr.locator("#reports a", has_text="花名册")
        expect(link).to_have_text(f"{PLAN_MID}-花名册-中级.xlsx")
        with hr.expect_download() as download:
            link.click()
        assert download.value.suggested_filename == f"{PLAN_MID}-花名册-中级.xlsx"
        resp = hr.request.get(base + link.get_attribute("href"))
        assert resp.status == 200
        assert resp.headers["content-type"] == (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        rows = _roster_rows(Path(download.value.path()).read_bytes())

    assert "中级" in rows[0][0] and rows[1][0].endswith(names["cf-hr-songshan"])
    body = rows[3:]
    assert [r[1] if isinstance(r[0], (int, float)) else r[0] for r in body] == [
        "系列：工程", "专业：建设工程", BUILDER.name, "专业：机械", PRIVATE.name,
        "系列：中小学教师", TEACHER.name]
    people = {r[1]: r for r in body if isinstance(r[0], (int, float))}
    assert [r[0] for r in people.values()] == [1, 2, 3]
    for who in SONGSHAN_ROUTES:
        # CF-UNIT-1: this office's opinion, reviewer and date on every row.
        assert people[who.name][4] == names[who.employer]
        assert people[who.name][10] == "中级"
        assert people[who.name][13:] == (OPINIONS["cf-hr-songshan"],
                                         f"{names['cf-hr-songshan']}经办人", "2026-06-15")


@pytest.mark.rule("CF-MODE-1", "CF-MODE-2", "CF-MODE-4", "CF-FORMS-1", "CF-ROUTE-2", "CF-ROUTE-4",
                  "CF-JOINT-1")
def test_classified_teacher_only_offline_and_city_unit_senior_up_to_the_region(
        live_chifeng, desk, scans):
    base, names = live_chifeng.base, live_chifeng.names
    with time_machine.travel(at(2026, 6, 1, 9), tick=True):
        # Ningcheng keeps its own 中/初级 committee: offline paper, so a classified teacher may
        # apply (both forms to download).
        classified, _ = _apply(desk, CLASSIFIED, dict(
            committee=NINGCHENG, series="school_teacher", **MID), names, scans, classified=True)
        _start_notice(desk, CLASSIFIED, names)

    with time_machine.travel(at(2026, 6, 15, 10), tick=True):
        # CF-ROUTE-2: county education bureau → county HR → the county committee's office.
        _walk(desk, CLASSIFIED, classified, ["cf-school-nc", "cf-edu-ningcheng",
                                             "cf-hr-ningcheng", "cf-agency-ningcheng"],
              OUTSIDERS[CLASSIFIED], names)

        # The senior plan reviews teachers blind online plus paper; the classified teacher
        # applies there all the same and is reviewed offline on paper (both forms).
        senior, _ = _apply(desk, CLASSIFIED, dict(
            plan=PLAN_SENIOR, committee=CF_TEACHER, series="school_teacher",
            level="associate_senior"), names, scans, classified=True)

        # A city unit's senior engineer: online blind, the 评审表 only.
        city, _ = _apply(desk, CITY, dict(
            plan=PLAN_SENIOR, committee=NM_ENG, series="engineering", specialty="mechanical",
            level="associate_senior"), names, scans, forms=("review",))
        send = f"{base}/{T}/paper/applications/{_app_id(city)}/send.pdf"
        assert desk.page(CITY.username).request.get(send).status == 404
        _start_notice(desk, CITY, names)

    assert _modes(live_chifeng.app, {"classified": classified, "senior": senior,
                                     "city": city}) == {
        "classified": "offline_paper", "senior": "offline_paper", "city": "online_blind"}

    with time_machine.travel(at(2026, 6, 29, 10), tick=True):  # seniors: tiers by 20 Jul
        # CF-ROUTE-4: supervising department → city HR → the region, tier by tier.
        _walk(desk, CITY, city, ["cf-plant", "cf-industry", "cf-hr", "nm-hr", "nm-agency"],
              OUTSIDERS[CITY], names)
