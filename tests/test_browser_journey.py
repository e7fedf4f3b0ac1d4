"""The whole Beijing journey in a real headless Chromium without JavaScript (plain form posts and
redirects), from application to a verified certificate. Applicant A registers, fills in and submits
an intermediate engineering application; applicant B (seeded as a complete draft) submits; the
employer clerk runs the internal notice and recommends both. The engineering agency passes both
files and sets a fee window; A pays online through the gateway simulator and the agency confirms
B's bank transfer. The agency creates a session, adds both files, draws a panel of five, schedules
a defense slot and assigns both; A downloads the defense notice. On the review day every expert
accepts the confidentiality agreement, the chair records attendance, everyone votes for both files
and the chair closes the ballot. The agency reports the results, the city HR bureau accepts them
and the agency's public notice opens; an objection without evidence is refused with the reason, a
complete one against B is routed to the employer, which upholds it, annulling B's result. After the
notice ends the certificate batch issues A's certificate only; A downloads it, anyone verifies it
by its link (valid, masked name), and after the city HR bureau revokes it the same link shows it
revoked."""
from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from .test_browser import (
    COMMITTEE, EMPLOYER, PLAN, _context, _flash_ok, _login, _register, live_app,
    serving,
)
from .test_browser import BROWSER, browser  # noqa: F401  (fixture)

time_machine = pytest.importorskip("time_machine", reason="time-machine is not installed")

from playwright.sync_api import expect  # noqa: E402

from app.extensions import db  # noqa: E402
from app.jobs.certificates import run_certificates  # noqa: E402

from . import factories as f  # noqa: E402
from .conftest import at  # noqa: E402
from .test_review import pool_of  # noqa: E402

pytestmark = BROWSER

POOL = 7
PANEL = 5
NAME_A, ID_A, MOBILE_A = "张工程", "110108198506154321", "13900000031"
NAME_B, USER_B = "李机械", "applicant-b"
PLACE = "北京市海淀区紫竹院路38号职称评审中心三层答辩室"
HELD_ON = date(2026, 9, 10)  # a Thursday


@pytest.fixture
def live_journey(tmp_path):
    """A live server over a fresh database with accounts only: the approved employer and its
    clerk "clerk1", applicant B with a complete intermediate draft, the engineering agency's clerk
    "ag", the city HR officer "city-hr" (bj-hr) and a pool of seven engineering experts with
    accounts (专家0 the only chair), none of whom has signed the confidentiality agreement. The
    engineering committee is filed."""
    app = live_app(tmp_path)
    with app.app_context(), time_machine.travel(at(2026, 7, 8, 9), tick=False):
        f.make_employer("beijing", "emp1", "haidian", name=EMPLOYER)
        f.make_user("beijing", "clerk1", "employer_clerk", "emp1", name="单位经办人")
        b = f.make_user("beijing", USER_B, "applicant", "emp1", name=NAME_B,
                        id_number=f.ID_NUMBERS[3])
        f.make_application("beijing", b, "bj-2026", "bj-eng", "engineering", "intermediate",
                           "mechanical")
        f.make_user("beijing", "ag", "agency_clerk", "bj-agency-eng", name="评审机构经办人")
        f.make_user("beijing", "city-hr", "hr_officer", "bj-hr", name="市人社局经办人")
        pool_of(POOL, signed=False)
        f.file_committee("beijing", "bj-eng")
        agency = f.org("beijing", "bj-agency-eng").name
        db.session.remove()
    with serving(app) as base:
        yield SimpleNamespace(base=base, app=app, agency=agency)


def _open(page, base: str, url: str, username: str):
    """Go to `url`, signing in again first if the session has lapsed over a jump in time."""
    page.goto(url)
    if "/login" in page.url:
        _login(page, base, username)
        page.goto(url)


def _box(page, title: str):
    """The section.box whose heading is exactly `title`."""
    return page.locator("section.box").filter(has=page.locator("h2", has_text=re.compile(
        rf"^{re.escape(title)}$")))


def _status(page):
    """A file's (or session's) status: the bold word in the first lines under the heading."""
    return page.locator("main > h1 + p strong, main > h1 + p + p strong").first


def _expert_signs_in(browser, base: str, username: str, status: str):  # noqa: F811
    """A fresh context for one expert: sign in, accept the agreement, open the only session."""
    ctx = _context(browser, js=False)
    page = ctx.new_page()
    _login(page, base, username)
    expect(page).to_have_url(f"{base}/beijing/home")
    page.locator("header nav a", has_text="我的评审会").click()
    expect(page).to_have_url(f"{base}/beijing/expert/agreement")
    page.locator("input[name=accept]").check()
    page.locator("form.stack button", has_text="签署保密协议").click()
    expect(page).to_have_url(f"{base}/beijing/expert/")
    _flash_ok(page, "已签署保密协议")
    rows = page.locator("main table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.locator("td").last).to_have_text(status)
    rows.locator("a").click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(base)}/beijing/expert/sessions/\d+$"))
    return ctx, page


def _vote_yes_for_both(page):
    ballot = page.locator("section#ballot")
    expect(ballot.locator("legend")).to_have_text([f"A001 · {NAME_B}", f"A002 · {NAME_A}"])
    radios = ballot.locator("input[type=radio][value=yes]")
    expect(radios).to_have_count(2)
    for i in range(2):
        radios.nth(i).check()
    ballot.locator("button", has_text="提交选票").click()
    _flash_ok(page, "已投票")
    expect(page.locator("section#ballot")).to_contain_text("您已投票。")


@pytest.mark.rule("BJ-FEE-1", "BJ-DEF-1", "BJ23-PANEL-1", "BJ-ACC-1", "BJ23-PUB-1", "BJ23-OBJ-1", "CF-OBJ-1",
                  "BJ-CERT-1", "BJ23-VERIFY-1", "BJ-INTEG-1")
def test_beijing_application_to_verified_certificate(live_journey, browser, tmp_path):  # noqa: F811
    base, flask_app = live_journey.base, live_journey.app
    scan_pdf = tmp_path / "学历证书.pdf"
    scan_pdf.write_bytes(f.pdf_bytes())
    scan_png = tmp_path / "id-card.png"
    scan_png.write_bytes(f.png_bytes())

    a_ctx = _context(browser, js=False)
    pa = a_ctx.new_page()
    b_ctx = _context(browser, js=False)
    pb = b_ctx.new_page()
    office_ctx = _context(browser, js=False)
    clerk = office_ctx.new_page()
    agency_ctx = _context(browser, js=False)
    ag = agency_ctx.new_page()

    # -- 1. Application, submission, the employer's notice and recommendation ------------------
    with time_machine.travel(at(2026, 7, 8, 10), tick=True):
        _register(pa, base, NAME_A, ID_A, MOBILE_A)

        pa.click("a.button[href$='/me/applications/new']")
        pa.select_option("select[name=plan]", label=PLAN)
        pa.select_option("select[name=committee]", label=COMMITTEE)
        pa.select_option("select[name=series]", "engineering")
        pa.select_option("select[name=specialty]", "mechanical")
        pa.select_option("select[name=level]", "intermediate")
        pa.click("form.stack button")
        expect(pa).to_have_url(re.compile(rf"^{re.escape(base)}/beijing/me/applications/\d+$"))
        a_detail = pa.url
        expect(_status(pa)).to_have_text("草稿")

        basic = pa.locator("section#basic")
        basic.locator("select[name=gender]").select_option("male")
        basic.locator("input[name=birth_date]").fill("1985-06-15")
        basic.locator("input[name=current_title]").fill("助理工程师")
        basic.locator("button", has_text="保存本栏").click()
        expect(pa.locator("section#basic input[name=current_title]")).to_have_value("助理工程师")
        for key, values in (("education", {"school": "北京工业大学", "major": "机械工程",
                                           "degree": "本科", "graduated_on": "2007-07-01"}),
                            ("work", {"org_name": EMPLOYER, "position": "工程师",
                                      "start": "2007-08-01"})):
            section = pa.locator(f"section#{key}")
            for name, value in values.items():
                section.locator(f"input[name={name}]").fill(value)
            section.locator("button", has_text="添加一条").click()
            expect(pa.locator(f"section#{key} table tbody")).to_contain_text(
                next(iter(values.values())))
        for material, scan in (("id_card", scan_png), ("education", scan_pdf)):
            form = pa.locator("section#attachments form[enctype='multipart/form-data']")
            form.locator("select[name=material]").select_option(material)
            form.locator("input[name=scan]").set_input_files(str(scan))
            form.locator("button", has_text="上传").click()
            expect(pa.locator("section#attachments table")).to_contain_text(scan.name)
        pa.goto(a_detail)
        expect(pa.locator("ul.problems")).to_have_count(0)
        pa.locator("section#submit input[name=pledge]").check()  # the integrity pledge
        pa.locator("section#submit button").click()
        _flash_ok(pa, "已提交")
        expect(_status(pa)).to_have_text("待审核")

        # B's draft was prepared beforehand; B only submits it.
        _login(pb, base, USER_B)
        expect(pb).to_have_url(f"{base}/beijing/home")
        pb.locator("header nav a", has_text="我的申报").click()
        expect(pb).to_have_url(f"{base}/beijing/me/")
        pb.locator("main table a", has_text=PLAN).click()
        b_detail = pb.url
        expect(pb.locator("ul.problems")).to_have_count(0)
        pb.locator("section#submit input[name=pledge]").check()
        pb.locator("section#submit button").click()
        _flash_ok(pb, "已提交")
        expect(_status(pb)).to_have_text("待审核")

        _login(clerk, base, "clerk1")
        expect(clerk).to_have_url(f"{base}/beijing/home")
        clerk.locator("header nav a", has_text="待办").click()
        expect(clerk).to_have_url(f"{base}/beijing/office/")
        clerk_details = {}
        for name in (NAME_A, NAME_B):
            clerk.goto(f"{base}/beijing/office/")
            clerk.locator("#list a", has_text=name).click()
            clerk_details[name] = clerk.url
            clerk.locator("#actions button", has_text="开始公示").click()
            _flash_ok(clerk, "已办理")
            expect(_status(clerk)).to_have_text("单位公示中")

    with time_machine.travel(at(2026, 7, 20, 10), tick=True):  # five working days later
        for name, url in clerk_details.items():
            _open(clerk, base, url, "clerk1")
            form = clerk.locator("form[action$='/recommend']")
            form.locator("textarea[name=opinion]").fill("经单位公示无异议，同意推荐。")
            form.locator("input[name=no_objection]").check()
            form.locator("button", has_text="推荐").click()
            expect(clerk).to_have_url(f"{base}/beijing/office/")
            _flash_ok(clerk, "已办理")

    # -- 2. The agency's check and the fee ----------------------------------------------------
    with time_machine.travel(at(2026, 8, 3, 10), tick=True):
        _login(ag, base, "ag")
        expect(ag).to_have_url(f"{base}/beijing/home")
        ag.locator("header nav a", has_text="评审服务").click()
        expect(ag).to_have_url(f"{base}/beijing/agency/")
        expect(ag.locator("#list")).to_contain_text("共2件")
        b_check = None
        for name in (NAME_A, NAME_B):
            ag.locator("#list a", has_text=name).click()
            if name == NAME_B:
                b_check = ag.url
            expect(_status(ag)).to_have_text("已推荐至评审服务机构")
            ag.locator("#actions textarea[name=opinion]").first.fill("材料齐全，审核通过。")
            ag.locator("#actions button", has_text="审核通过").click()
            expect(ag).to_have_url(f"{base}/beijing/agency/")
            _flash_ok(ag, "已办理")
        expect(ag.locator("#list")).to_contain_text("共0件")

        # The fee window on the agency's 缴费 page.
        ag.locator("main a", has_text="缴费").first.click()
        expect(ag).to_have_url(f"{base}/beijing/pay/agency")
        form = ag.locator("main form.stack")
        form.locator("select[name=committee]").select_option(label=COMMITTEE)
        form.locator("select[name=plan]").select_option(label=PLAN)
        form.locator("input[name=opens_on]").fill("2026-08-03")
        form.locator("input[name=closes_on]").fill("2026-08-14")
        form.locator("input[name=amount]").fill("350")
        form.locator("textarea[name=instructions]").fill(
            "收款单位：北京市职称评审服务中心\n账号：0200 0000 0000 0000 000")
        form.locator("button", has_text="保存").click()
        expect(ag).to_have_url(f"{base}/beijing/pay/agency")
        _flash_ok(ag, "已保存")
        row = ag.locator("main table tbody tr", has_text=COMMITTEE)
        expect(row).to_contain_text("2026-08-03 — 2026-08-14")
        expect(row).to_contain_text("缴费中")
        expect(row.locator("td").nth(3)).to_have_text("350.00")
        expect(row.locator("td").nth(4)).to_have_text("2")  # awaiting payment

        # A pays online: pay page → gateway (the simulator here) → paid.
        _open(pa, base, a_detail, MOBILE_A)
        expect(_status(pa)).to_have_text("评审服务机构审核通过")
        pa.locator("#pay a", has_text="缴纳评审费").click()
        expect(pa).to_have_url(re.compile(r"/beijing/pay/applications/\d+$"))
        pay_url = pa.url
        expect(pa.locator("#fee")).to_contain_text("350.00")
        expect(pa.locator("#offline")).to_contain_text("0200 0000")
        pa.locator("#online button", has_text="去支付").click()
        expect(pa).to_have_url(re.compile(r"/beijing/pay/simulator/[^/]+$"))
        expect(pa.locator("h1")).to_have_text("模拟支付平台")
        pa.locator("button[name=outcome][value=pay]").click()
        expect(pa).to_have_url(pay_url)
        _flash_ok(pa, "缴费成功")
        expect(pa.locator("main > p strong").first).to_have_text("已缴费")
        expect(pa.locator("#online")).to_have_count(0)

        # B transferred by bank: the agency confirms it on B's check page.
        ag.goto(b_check)
        expect(_status(ag)).to_have_text("评审服务机构审核通过")
        expect(ag.locator("#payment")).to_contain_text("350.00")
        ag.locator("#payment input[name=reference]").fill("BANK-2026-0803")
        ag.locator("#payment button", has_text="确认已缴费").click()
        expect(ag).to_have_url(f"{base}/beijing/agency/")
        _flash_ok(ag, "已办理")
        ag.goto(f"{base}/beijing/pay/agency")
        row = ag.locator("main table tbody tr", has_text=COMMITTEE)
        expect(row.locator("td").nth(4)).to_have_text("0")
        expect(row.locator("td").nth(5)).to_have_text("2")  # paid
        ag.goto(f"{base}/beijing/pay/agency/payments")
        ledger = ag.locator("main table tbody")
        expect(ledger).to_contain_text(NAME_A)
        expect(ledger).to_contain_text(NAME_B)
        expect(ledger).to_contain_text("BANK-2026-0803")

        # -- 3. The session, the draw and the defense -----------------------------------------
        ag.goto(f"{base}/beijing/agency/sessions")
        form = ag.locator("main form.grid")
        form.locator("select[name=committee]").select_option(label=COMMITTEE)
        form.locator("select[name=plan]").select_option(label=PLAN)
        form.locator("select[name=series]").select_option("engineering")
        form.locator("select[name=level]").select_option("intermediate")
        form.locator("input[name=panel_size]").fill(str(PANEL))
        form.locator("input[name=held_on]").fill(HELD_ON.isoformat())
        form.locator("button", has_text="创建").click()
        expect(ag).to_have_url(re.compile(rf"^{re.escape(base)}/beijing/agency/sessions/\d+$"))
        session_url = ag.url
        expect(_status(ag)).to_have_text("准备中")
        expect(ag.locator("main > h1 + p")).to_contain_text("中级")

        files = _box(ag, "参评申报")
        expect(files.locator("input[name=app]")).to_have_count(2)
        files.locator("button", has_text="加入评审会").click()
        _flash_ok(ag, "已办理")
        rows = _box(ag, "参评申报").locator("tbody tr")
        expect(rows).to_have_count(2)
        # Codes follow the files' ids: B's draft was made first.
        expect(rows.nth(0).locator("td")).to_have_text(["A001", NAME_B, "评审中", ""])
        expect(rows.nth(1).locator("td")).to_have_text(["A002", NAME_A, "评审中", ""])
        draw = _box(ag, "专家抽取")
        expect(draw).to_contain_text(f"可抽取专家：{POOL}")
        draw.locator("button", has_text="随机抽取专家").click()
        _flash_ok(ag, "已办理")
        expect(_status(ag)).to_have_text("已抽取专家")
        panel_rows = _box(ag, "专家抽取").locator("table tbody tr")
        expect(panel_rows).to_have_count(PANEL)
        names = [t.strip() for t in panel_rows.locator("td:first-child").all_inner_texts()]
        chair = panel_rows.filter(has_text="主任委员").locator("td").first.inner_text().strip()
        assert chair == "专家0" and len(set(names)) == PANEL
        others = [n for n in names if n != chair]

        # The panel's pre-review training (AE-DUTY-1), before anyone may vote.
        ag.locator("main a", has_text="评前培训登记").click()
        boxes = ag.locator("form#training input[name=expert]")
        expect(boxes).to_have_count(PANEL)
        for i in range(PANEL):
            boxes.nth(i).check()
        ag.locator("form#training button").click()
        _flash_ok(ag, f"已登记{PANEL}名专家参加评前培训")
        ag.locator("main a", has_text="返回评审会").click()

        ag.locator("main a", has_text="答辩安排").click()
        expect(ag).to_have_url(re.compile(r"/beijing/defense/sessions/\d+$"))
        schedule_url = ag.url
        form = ag.locator("main form.grid")
        form.locator("input[name=starts_at]").fill(f"{HELD_ON.isoformat()}T09:00")
        form.locator("input[name=place]").fill(PLACE)
        form.locator("input[name=capacity]").fill("10")
        form.locator("[name=what_to_bring]").fill("身份证原件、答辩PPT")
        form.locator("button", has_text="添加").click()
        expect(ag).to_have_url(schedule_url)
        _flash_ok(ag, "已添加答辩场次")
        expect(_box(ag, "答辩场次").locator("tbody tr")).to_contain_text(PLACE)
        for code in ("A001", "A002"):
            row = _box(ag, "答辩人员").locator("tbody tr", has_text=code)
            row.locator("button", has_text="安排").click()
            expect(ag).to_have_url(schedule_url)
            _flash_ok(ag, "已安排答辩")
        people = _box(ag, "答辩人员").locator("tbody tr")
        expect(people.filter(has_text=f"{HELD_ON.isoformat()} 09:00")).to_have_count(2)
        expect(people.filter(has_text="未下载")).to_have_count(2)

        # A downloads the defense notice from the application page.
        pa.goto(a_detail)
        link = pa.locator("main a", has_text="下载答辩通知书")
        expect(pa.locator("main p.box", has_text="现场答辩")).to_contain_text(PLACE)
        resp = pa.request.get(base + link.get_attribute("href"))
        assert resp.status == 200
        assert resp.headers["content-type"] == "application/pdf"
        assert resp.body().startswith(b"%PDF-")
        ag.goto(schedule_url)
        expect(people.filter(has_text=NAME_A)).to_contain_text("已下载")
        expect(people.filter(has_text=NAME_B)).to_contain_text("未下载")

    # -- 4. The review day: agreement, attendance, the ballot --------------------------------
    with time_machine.travel(at(2026, 9, 10, 14), tick=True):
        # The defenses were held this morning: the agency records them (BJ-DEF-1).
        ag.goto(schedule_url)
        if "/login" in ag.url:
            _login(ag, base, "ag")
            ag.goto(schedule_url)
        for code in ("A001", "A002"):
            row = ag.locator("section#records tbody tr", has_text=code)
            row.locator("select[name=outcome]").select_option("held")
            row.locator("button", has_text="记录").click()
            _flash_ok(ag, "已记录答辩情况")
        expect(ag.locator("section#records tbody tr", has_text="已答辩")).to_have_count(2)
        chair_ctx, cp = _expert_signs_in(browser, base, f"x-{chair}", "已抽取专家")
        chair_session = cp.url
        # The review group gives its written opinion on each file (BJ23-PANEL-1).
        for i in range(2):
            cp.goto(chair_session)
            cp.locator("main table a", has_text="查看材料并评分").nth(i).click()
            group = cp.locator("section#group-opinion")
            group.locator("textarea[name=opinion]").fill("专业技术工作业绩符合中级评审条件。")
            group.locator("button", has_text="保存评议意见").click()
            _flash_ok(cp, "已记录专业评议组意见")
        cp.goto(chair_session)
        attendance = _box(cp, "出席情况")
        expect(attendance.locator("input[name=present]")).to_have_count(PANEL)
        attendance.locator("button", has_text="确认出席并开始表决").click()
        _flash_ok(cp, "已记录出席情况，开始表决")
        expect(cp.locator("main > h1 + p strong")).to_have_text("表决中")
        _vote_yes_for_both(cp)
        for name in others:
            ctx, page = _expert_signs_in(browser, base, f"x-{name}", "表决中")
            _vote_yes_for_both(page)
            ctx.close()
        cp.goto(chair_session)
        cp.locator("section#ballot button", has_text="结束表决并封存结果").click()
        _flash_ok(cp, "表决已结束，结果已封存")
        sealed = _box(cp, "表决结果（已封存）")
        expect(sealed).to_contain_text(f"出席委员 {PANEL} · 投票 {PANEL}")
        expect(sealed.locator("tbody tr").nth(0).locator("td")).to_have_text(
            ["A001", NAME_B, str(PANEL), "0", "0", "评审通过"])
        expect(sealed.locator("tbody tr").nth(1).locator("td")).to_have_text(
            ["A002", NAME_A, str(PANEL), "0", "0", "评审通过"])
        chair_ctx.close()

        # -- 5. Report, acceptance, the public notice and objections ---------------------------
        _open(ag, base, session_url, "ag")
        tally = _box(ag, "表决结果（已封存）")
        tally.locator("textarea[name=report]").fill(
            "评审会按程序召开，出席委员5人，2人通过；拟在评审服务机构网站公示5个工作日；"
            "评委会承诺评审公正。")
        tally.locator("button", has_text="报送评审结果，申请验收").click()
        expect(ag).to_have_url(session_url)
        _flash_ok(ag, "已办理")
        expect(_box(ag, "表决结果（已封存）")) \
            .to_contain_text("验收：待验收")

    accepted_on = date(2026, 9, 11)  # a Friday
    with time_machine.travel(at(2026, 9, 11, 10), tick=True):
        hr_ctx = _context(browser, js=False)
        hr = hr_ctx.new_page()
        _login(hr, base, "city-hr")
        expect(hr).to_have_url(f"{base}/beijing/home")  # the report waits there
        hr.locator("main a", has_text="待验收的评审结果").click()
        expect(hr).to_have_url(f"{base}/beijing/results/acceptance")
        pending = hr.locator("main section.box")
        expect(pending).to_have_count(1)
        expect(pending.locator("h2")).to_contain_text(f"{COMMITTEE} · 中级 · {HELD_ON}")
        expect(pending).to_contain_text("通过 2 / 2")
        pending.locator("button", has_text="验收通过并公示").click()
        expect(hr).to_have_url(f"{base}/beijing/results/acceptance")
        _flash_ok(hr, "已办理")
        expect(hr.locator("main")).to_contain_text("暂无待验收的评审结果。")

        _open(ag, base, session_url, "ag")
        accepted = _box(ag, "表决结果（已封存）")
        expect(accepted).to_contain_text("验收：已验收 · 公示期：5 个工作日，自 ")
        counted = re.search(r"公示期：5 个工作日，自 (\S+) 起算，至 (\S+) 24:00 止",
                            accepted.inner_text())
        first, ends_on = map(date.fromisoformat, counted.groups())
        assert first == date(2026, 9, 14)  # counted from the next working day (a Monday)
        assert ends_on >= accepted_on + timedelta(days=7)  # five working days and a weekend

        # Anyone reads the notice and may object, without an account.
        public_ctx = _context(browser, js=False)
        anon = public_ctx.new_page()
        anon.goto(f"{base}/beijing/results/")
        notice = anon.locator("main section.box", has_text=COMMITTEE)
        expect(notice.locator("h2")).to_have_text(f"{COMMITTEE} · 中级")
        # Intermediate results: on the agency's page, not the city HR bureau's.
        expect(notice).to_contain_text(f"发布单位：{live_journey.agency}")
        expect(notice).to_contain_text(f"公示期：5 个工作日，自 {first} 起算，至 {ends_on} 24:00 止")
        expect(notice.locator("tbody tr td:first-child")).to_have_text([NAME_B, NAME_A])
        expect(notice).not_to_contain_text(ID_A)

        # Without evidence: refused, with the reason.
        notice.locator("tbody tr", has_text=NAME_A).locator("a", has_text="提出异议").click()
        expect(anon.locator("h1")).to_have_text("对评审结果提出异议")
        form = anon.locator("main form.stack")
        form.locator("select[name=kind]").select_option("material")
        form.locator("input[name=target]").fill(NAME_A)
        form.locator("textarea[name=facts]").fill("业绩材料不实")
        form.locator("textarea[name=lead]").fill("可向其单位核实")
        form.locator("button", has_text="提交异议").click()
        refused = anon.locator(".flash.error")
        expect(refused).to_contain_text("不予受理")
        expect(refused).to_contain_text("客观证据材料")
        expect(anon.locator("main form.stack textarea[name=facts]")).to_have_value("业绩材料不实")

        # A complete objection about B's material: accepted and routed to B's employer.
        anon.goto(f"{base}/beijing/results/")
        anon.locator("main tbody tr", has_text=NAME_B).locator("a", has_text="提出异议").click()
        form = anon.locator("main form.stack")
        form.locator("select[name=kind]").select_option("material")
        form.locator("input[name=target]").fill(NAME_B)
        form.locator("textarea[name=facts]").fill("申报的代表性论文为他人代写")
        form.locator("textarea[name=evidence]").fill("原作者的投稿记录和往来邮件")
        form.locator("textarea[name=lead]").fill("可向某期刊编辑部核实")
        form.locator("input[name=complainant]").fill("王某")
        form.locator("input[name=contact]").fill("13000000000")
        form.locator("button", has_text="提交异议").click()
        expect(anon).to_have_url(f"{base}/beijing/results/")
        _flash_ok(anon, "异议已受理")
        expect(anon.locator("p.flash.ok")).to_contain_text(f"已转{EMPLOYER}核查")

        # Material objections go to the employer, which finds it true.
        _open(clerk, base, f"{base}/beijing/results/objections", "clerk1")
        cases = clerk.locator("main section.box")
        expect(cases).to_have_count(1)
        expect(cases.locator("h2")).to_contain_text(f"{NAME_B} · 申报材料真实性")
        expect(cases).to_contain_text("状态：核查中")
        cases.locator("textarea[name=opinion]").fill("经核查，论文确系他人代写。")
        cases.locator("button", has_text="异议成立，撤销评审结果").click()
        expect(clerk).to_have_url(f"{base}/beijing/results/objections")
        _flash_ok(clerk, "已办理")
        expect(cases).to_contain_text("状态：异议成立 · 经核查，论文确系他人代写。")

        _open(pb, base, b_detail, USER_B)
        expect(_status(pb)).to_have_text("评审结果已撤销")
        _open(pa, base, a_detail, MOBILE_A)
        expect(_status(pa)).to_have_text("评审通过")

    # -- 6. After the notice: the certificate batch, download and verification --------------
    issue_day = ends_on + timedelta(days=1)
    with time_machine.travel(at(issue_day.year, issue_day.month, issue_day.day, 10), tick=True):
        # Issuance is a background job by design (RQ cron, or `flask certificates issue`); the
        # test runs the job function in-process instead of waiting for a worker.
        with flask_app.app_context():
            assert run_certificates() == 1
            db.session.remove()

        _open(pa, base, f"{base}/beijing/me/", MOBILE_A)
        pa.locator("main a", has_text="我的电子证书").click()
        expect(pa).to_have_url(f"{base}/beijing/certificates/mine")
        certs = pa.locator("main table tbody tr")
        expect(certs).to_have_count(1)
        expect(certs.locator("td").nth(1)).to_have_text("工程技术 · 中级")
        expect(certs.locator("td").nth(2)).to_have_text(issue_day.isoformat())
        expect(certs.locator("td").nth(3)).to_have_text("有效")
        number = certs.locator("td").first.inner_text().strip()
        assert re.fullmatch(r"BJ2026-[0-9A-Z]+", number), number
        verify_path = certs.locator("td a").first.get_attribute("href")
        assert verify_path == f"/beijing/certificates/verify/{number}"
        with pa.expect_download() as dl:
            certs.locator("a", has_text="电子职称证书").click()
        assert dl.value.suggested_filename == f"电子职称证书-{number}.pdf"
        assert Path(dl.value.path()).read_bytes().startswith(b"%PDF")
        cert_href = certs.locator("a", has_text="电子职称证书").get_attribute("href")
        resp = pa.request.get(base + cert_href)
        assert resp.status == 200 and resp.headers["content-type"] == "application/pdf"
        pa.goto(a_detail)
        expect(_status(pa)).to_have_text("已发证")

        # B's result was annulled: nothing issued.
        _open(pb, base, f"{base}/beijing/certificates/mine", USER_B)
        expect(pb.locator("main")).to_contain_text("暂无电子证书")

        # Anyone opens the QR link: valid, masked name and ID only.
        anon.goto(base + verify_path)
        expect(anon.locator("h1")).to_have_text("电子职称证书查验")
        expect(anon.locator("main .flash strong")).to_have_text("有效")
        facts = anon.locator("main table")
        expect(facts.locator("tr", has_text="持证人").locator("td")).to_have_text("张*程")
        expect(facts.locator("tr", has_text="身份证号码").locator("td")) \
            .to_have_text("110*************21")
        expect(facts.locator("tr", has_text="证书编号").locator("td")).to_have_text(number)
        expect(facts.locator("tr", has_text="资格级别").locator("td")).to_have_text("中级")
        expect(facts.locator("tr", has_text="发证机构").locator("td")) \
            .to_have_text("北京市人力资源和社会保障局")
        expect(anon.locator("main")).not_to_contain_text(NAME_A)
        expect(anon.locator("main")).not_to_contain_text(ID_A)

        # -- 7. Revocation and the integrity record ------------------------------------------
        _open(hr, base, f"{base}/beijing/certificates/admin", "city-hr")
        hr.locator("main form.inline input[name=number]").fill(number)
        hr.locator("main form.inline button", has_text="查找").click()
        expect(hr.locator("main h2")).to_have_text(f"{NAME_A} · {number}")
        revoke = hr.locator("main form.stack")
        revoke.locator("select[name=kind]").select_option("false_material")
        revoke.locator("textarea[name=opinion]").fill("学历证书系伪造，经学信网核实。")
        revoke.locator("button", has_text="撤销证书").click()
        expect(hr.locator("main p.flash.ok")).to_contain_text("证书已撤销")
        expect(hr.locator("main p.flash.error strong")).to_have_text("已撤销")  # the facts
        record_ends = issue_day.replace(year=issue_day.year + 3)
        expect(hr.locator("main .box.warn")).to_contain_text(
            f"诚信档案记录：{issue_day} 起，{record_ends} 到期")
        expect(hr.locator("main form.stack")).to_have_count(0)
        hr_ctx.close()

        anon.goto(base + verify_path)
        expect(anon.locator("main .flash strong")).to_have_text("已撤销")
        expect(anon.locator("main table tr", has_text="撤销原因").locator("td")) \
            .to_have_text("提供虚假材料")
        expect(anon.locator("main")).not_to_contain_text("学信网")  # the finding stays internal
        public_ctx.close()

        pa.goto(f"{base}/beijing/certificates/mine")
        expect(pa.locator("main table tbody tr td").nth(3)).to_have_text("已撤销")
        expect(pa.locator("main table a", has_text="电子职称证书")).to_have_count(0)
        assert pa.request.get(base + cert_href).status == 404

    for ctx in (a_ctx, b_ctx, office_ctx, agency_ctx):
        ctx.close()
