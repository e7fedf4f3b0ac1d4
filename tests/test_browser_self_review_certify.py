"""A Beijing self-review unit evaluates its own staff through to certificates in a real headless
Chromium without JavaScript (seed 002 第九条(五)–(七), 第十条; SR-RUN-2, BJ-SELF-1). The unit's
plan is open and one of its own staff has submitted a file. The unit's clerk runs the internal
notice and recommends the file, having verified the employment and the insurance in Beijing; the
unit's committee office passes the check, confirms the fee, creates a session of the unit's own
committee, adds the file and draws a panel of five, a third or more from outside the unit, and
records their training; on the review day the defense is recorded, the experts sign the
confidentiality agreement, the chair scores and writes the group's opinion, attendance is
recorded, everyone votes yes and the chair seals the ballot. The office reports the results to
the city HR bureau, which accepts them in the browser; the public notice lasts five working days.
After it the certificate batch runs and the applicant downloads a certificate issued by the city
HR bureau."""
from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from .test_browser import _context, _flash_ok, _login, live_app, serving
from .test_browser import BROWSER, browser  # noqa: F401  (fixture)

time_machine = pytest.importorskip("time_machine", reason="time-machine is not installed")

from playwright.sync_api import expect  # noqa: E402

from app.extensions import db  # noqa: E402
from app.jobs.certificates import run_certificates  # noqa: E402
from app.workflow import self_review_run as run  # noqa: E402
from app.workflow.accounts import hash_password  # noqa: E402
from app.workflow.transitions import transition  # noqa: E402

from . import factories as f  # noqa: E402
from .conftest import PASSWORD, at  # noqa: E402
from .test_browser_journey import _box, _open, _status  # noqa: E402
from .test_browser_review import APPLICANT, _expert_signs_in, _vote_yes  # noqa: E402
from .test_review import pool_of  # noqa: E402
from .test_self_review_run import (  # noqa: E402
    approve, documents_approved, invite_office, plan_data,
)

pytestmark = [*BROWSER, pytest.mark.rule("SR-RUN-2", "BJ-SELF-1")]

T = "beijing"
UNIT = "bj-self-university"
PLAN = "北京某理工大学（自主评聘单位）2026年度职称自主评审"
COMMITTEE = "北京某理工大学工程技术系列正高级职称评审委员会"
CITY_HR = "北京市人力资源和社会保障局"
POOL = 7
PANEL = 5
HELD_ON = date(2026, 5, 12)  # a Tuesday, within the plan's review dates
ACCEPTED_ON = date(2026, 5, 13)  # a Wednesday


@pytest.fixture
def live(tmp_path):
    """Beijing with bj-self-university approved for engineering 正高级, its documents approved,
    its 2026 plan filed with a filed committee and opened; its clerk, its committee-office clerk
    "sr-office" and the city HR bureau's officer; seven engineering experts of no unit (outside
    the university; 专家0 the only chair) with accounts, none of whom has signed the
    confidentiality agreement; and one of the unit's staff whose file, declaring insurance in
    Beijing, was submitted on 16 March."""
    app = live_app(tmp_path)
    with app.app_context():
        with time_machine.travel(at(2026, 3, 2, 9), tick=False):
            cfg, clerk, city = approve(T, UNIT, "bj-hr", ["engineering:senior"], "engineering")
            documents_approved(cfg, clerk, city)
            office = invite_office(cfg, clerk, "sr-office")
            office.password_hash, office.active = hash_password(PASSWORD), True
            db.session.commit()
            yp = run.file_year_plan(cfg, f.actor(clerk), plan_data(apply_opens="2026-03-02"))
            experts = pool_of(POOL, signed=False)
            committee = run.set_up_committee(cfg, f.actor(office), yp, {
                "name": COMMITTEE, "series": "engineering", "levels": ["senior"],
                "scope": "本校工程技术人员", "standard": "业绩成果|60\n答辩|40",
                "procedure": "评议、答辩、无记名投票", "roster": [e.id for e in experts]})
            run.file_unit_committee(cfg, f.actor(city), committee, date(2026, 3, 2),
                                    date(2029, 3, 1))
            transition(cfg, yp, "open_plan", f.actor(clerk))
            plan_code, committee_code = yp.plan.code, committee.code
        own = f.make_user(T, "own-staff", "applicant", UNIT, name=APPLICANT)
        a = f.make_application(T, own, plan_code, committee_code, "engineering", "senior",
                               "mechanical")
        a.basic = {**a.basic, "local_insurance": True}
        db.session.commit()
        with time_machine.travel(at(2026, 3, 16, 9), tick=False):
            transition(cfg, a, "submit", f.actor(own), pledge=f.PLEDGE)
        assert a.route == [{"kind": "employer", "org_id": clerk.org_id},
                           {"kind": "agency", "org_id": clerk.org_id}]
        db.session.remove()
    with serving(app) as base:
        yield SimpleNamespace(base=base, app=app, clerk=f"{UNIT}-clerk")


def test_a_unit_evaluates_its_own_staff_through_to_certificates(live, browser):  # noqa: F811
    base = live.base
    unit_ctx = _context(browser, js=False)
    unit = unit_ctx.new_page()
    office_ctx = _context(browser, js=False)
    office = office_ctx.new_page()

    # -- 1. The unit, as employer: the internal notice, then the recommendation ---------------
    with time_machine.travel(at(2026, 3, 16, 10), tick=True):
        _login(unit, base, live.clerk)
        expect(unit).to_have_url(f"{base}/{T}/home")
        unit.locator("header nav a", has_text="待办").click()
        expect(unit).to_have_url(f"{base}/{T}/office/")
        unit.locator("#list a", has_text=APPLICANT).click()
        file_url = unit.url
        expect(unit.locator("main")).to_contain_text(PLAN)
        unit.locator("#actions button", has_text="开始公示").click()
        _flash_ok(unit, "已办理")
        expect(_status(unit)).to_have_text("单位公示中")

    with time_machine.travel(at(2026, 3, 30, 10), tick=True):  # the notice is over
        _open(unit, base, file_url, live.clerk)
        form = unit.locator("form#recommend")
        form.locator("textarea[name=opinion]").fill("本校在职教师，经单位公示无异议，同意推荐。")
        form.locator("input[name=no_objection]").check()
        # The unit takes only its own staff insured in Beijing (第六条): it ticks that it checked.
        expect(form.locator("label", has_text="依法在北京缴纳社会保险")).to_have_count(1)
        form.locator("input[name=insurance_verified]").check()
        form.locator("button", has_text="推荐").click()
        _flash_ok(unit, "已办理")
        # The file stays in the unit: on to its own committee office.
        expect(_status(unit)).to_have_text("已推荐至评审服务机构")

    # -- 2. The unit's committee office: check, fee, session, file, draw, training ------------
    with time_machine.travel(at(2026, 3, 31, 10), tick=True):
        _login(office, base, "sr-office")
        expect(office).to_have_url(f"{base}/{T}/home")
        office.locator("main a", has_text="待审核材料的申报").click()
        expect(office).to_have_url(f"{base}/{T}/agency/?status=recommended")
        expect(office.locator("#list")).to_contain_text("共1件")
        office.locator("#list a", has_text=APPLICANT).click()
        check_url = office.url
        expect(_status(office)).to_have_text("已推荐至评审服务机构")
        office.locator("#actions textarea[name=opinion]").first.fill("材料齐全，审核通过。")
        office.locator("#actions button", has_text="审核通过").click()
        expect(office).to_have_url(f"{base}/{T}/agency/")
        _flash_ok(office, "已办理")
        # Beijing charges a fee: the office confirms the bank transfer.
        office.goto(check_url)
        expect(_status(office)).to_have_text("评审服务机构审核通过")
        office.locator("#payment input[name=reference]").fill("BANK-2026-0331")
        office.locator("#payment button", has_text="确认已缴费").click()
        expect(office).to_have_url(f"{base}/{T}/agency/")
        _flash_ok(office, "已办理")

        office.goto(f"{base}/{T}/agency/sessions")
        form = office.locator("main form.grid")
        form.locator("select[name=committee]").select_option(label=COMMITTEE)
        form.locator("select[name=plan]").select_option(label=PLAN)
        form.locator("select[name=series]").select_option("engineering")
        form.locator("select[name=level]").select_option("senior")
        form.locator("input[name=panel_size]").fill(str(PANEL))
        form.locator("input[name=held_on]").fill(HELD_ON.isoformat())
        form.locator("button", has_text="创建").click()
        expect(office).to_have_url(re.compile(rf"^{re.escape(base)}/{T}/agency/sessions/\d+$"))
        session_url = office.url
        expect(_status(office)).to_have_text("准备中")
        files = _box(office, "参评申报")
        expect(files.locator("input[name=app]")).to_have_count(1)
        files.locator("button", has_text="加入评审会").click()
        _flash_ok(office, "已办理")
        expect(_box(office, "参评申报").locator("tbody tr td")).to_have_text(
            ["A001", APPLICANT, "评审中", ""])
        draw = _box(office, "专家抽取")
        expect(draw).to_contain_text(f"可抽取专家：{POOL}")
        draw.locator("button", has_text="随机抽取专家").click()
        _flash_ok(office, "已办理")
        expect(_status(office)).to_have_text("已抽取专家")
        panel_rows = _box(office, "专家抽取").locator("table tbody tr")
        expect(panel_rows).to_have_count(PANEL)
        names = [t.strip() for t in panel_rows.locator("td:first-child").all_inner_texts()]
        chair = panel_rows.filter(has_text="主任委员").locator("td").first.inner_text().strip()
        assert chair == "专家0" and len(set(names)) == PANEL
        # Every expert in the pool is employed outside the unit: the panel holds the tenant's
        # outside share (a third: two of five) and more.
        assert set(names) <= {f"专家{i}" for i in range(POOL)}
        others = [n for n in names if n != chair]

        # The panel's pre-review training, before anyone may vote (training_before_ballot).
        office.locator("main a", has_text="评前培训登记").click()
        boxes = office.locator("form#training input[name=expert]")
        expect(boxes).to_have_count(PANEL)
        for i in range(PANEL):
            boxes.nth(i).check()
        office.locator("form#training button").click()
        _flash_ok(office, f"已登记{PANEL}名专家参加评前培训")

    # -- 3. The review day: defense, agreement, score, attendance, the ballot -----------------
    with time_machine.travel(at(HELD_ON.year, HELD_ON.month, HELD_ON.day, 9), tick=True):
        _open(office, base, session_url, "sr-office")
        office.locator("main a", has_text="答辩安排").click()
        records = office.locator("section#records")
        records.locator("select[name=outcome]").select_option("held")
        records.locator("button", has_text="记录").click()
        _flash_ok(office, "已记录答辩情况")

        chair_ctx, cp = _expert_signs_in(browser, base, f"x-{chair}", "已抽取专家")
        chair_session = cp.url
        expect(cp.locator("main > h1 + p")).to_contain_text("本人角色：主任委员")
        cp.locator("main table a", has_text="查看材料并评分").click()
        expect(cp.locator("h1")).to_contain_text(f"A001 · {APPLICANT}")
        score = cp.locator("section#score")
        score.locator("input[name=score-c1]").fill("55")
        score.locator("input[name=score-c2]").fill("36")
        score.locator("textarea[name=opinion]").fill("业绩突出，答辩良好。")
        score.locator("button", has_text="保存评分").click()
        _flash_ok(cp, "评分已保存")
        group = cp.locator("section#group-opinion")
        group.locator("textarea[name=opinion]").fill("业绩成果突出，达到正高级水平。")
        group.locator("button", has_text="保存评议意见").click()
        _flash_ok(cp, "已记录专业评议组意见")

        cp.goto(chair_session)
        attendance = _box(cp, "出席情况")
        expect(attendance.locator("input[name=present]")).to_have_count(PANEL)
        attendance.locator("button", has_text="确认出席并开始表决").click()
        _flash_ok(cp, "已记录出席情况，开始表决")
        expect(_status(cp)).to_have_text("表决中")
        _vote_yes(cp)
        for name in others:
            ctx, page = _expert_signs_in(browser, base, f"x-{name}", "表决中")
            _vote_yes(page)
            ctx.close()
        cp.goto(chair_session)
        cp.locator("section#ballot button", has_text="结束表决并封存结果").click()
        _flash_ok(cp, "表决已结束，结果已封存")
        sealed = _box(cp, "表决结果（已封存）")
        expect(sealed).to_contain_text(f"出席委员 {PANEL} · 投票 {PANEL}")
        expect(sealed.locator("tbody tr td")).to_have_text(
            ["A001", APPLICANT, str(PANEL), "0", "0", "评审通过"])
        chair_ctx.close()

        # -- 4. The results go to the city HR bureau for acceptance (第九条(六)) ------------
        _open(office, base, session_url, "sr-office")
        tally = _box(office, "表决结果（已封存）")
        tally.locator("textarea[name=report]").fill(
            "本校工程技术系列正高级评审会按年度计划召开，出席委员5人，1人通过。")
        tally.locator("button", has_text="报送评审结果，申请验收").click()
        expect(office).to_have_url(session_url)
        _flash_ok(office, "已办理")
        expect(_box(office, "表决结果（已封存）")).to_contain_text("验收：待验收")

    with time_machine.travel(at(ACCEPTED_ON.year, ACCEPTED_ON.month, ACCEPTED_ON.day, 10),
                             tick=True):
        hr_ctx = _context(browser, js=False)
        hr = hr_ctx.new_page()
        _login(hr, base, f"{T}-city-hr")
        expect(hr).to_have_url(f"{base}/{T}/home")
        hr.locator("main a", has_text="待验收的评审结果").click()
        expect(hr).to_have_url(f"{base}/{T}/results/acceptance")
        pending = hr.locator("main section.box")
        expect(pending).to_have_count(1)
        expect(pending.locator("h2")).to_contain_text(f"{COMMITTEE} · 正高级 · {HELD_ON}")
        expect(pending).to_contain_text("通过 1 / 1")
        pending.locator("button", has_text="验收通过并公示").click()
        _flash_ok(hr, "已办理")
        expect(hr.locator("main")).to_contain_text("暂无待验收的评审结果。")
        hr_ctx.close()

        # The notice: five working days, counted from the next working day (第九条(七)).
        _open(office, base, session_url, "sr-office")
        accepted = _box(office, "表决结果（已封存）")
        expect(accepted).to_contain_text("验收：已验收 · 公示期：5 个工作日，自 ")
        counted = re.search(r"公示期：(\d+) 个工作日，自 (\S+) 起算，至 (\S+) 24:00 止",
                            accepted.inner_text())
        days, first, ends_on = int(counted[1]), *map(date.fromisoformat, counted.groups()[1:])
        assert days >= 5
        # Thu 14, Fri 15, Mon 18, Tue 19, Wed 20 May.
        assert (first, ends_on) == (date(2026, 5, 14), date(2026, 5, 20))

        public_ctx = _context(browser, js=False)
        anon = public_ctx.new_page()
        anon.goto(f"{base}/{T}/results/")
        notice = anon.locator("main section.box", has_text=COMMITTEE)
        expect(notice).to_contain_text(f"公示期：5 个工作日，自 {first} 起算，至 {ends_on} 24:00 止")
        expect(notice.locator("tbody tr td:first-child")).to_have_text([APPLICANT])
        public_ctx.close()

    # -- 5. After the notice: the city HR bureau's certificate (第十条) -----------------------
    issue_day = ends_on + timedelta(days=1)
    with time_machine.travel(at(issue_day.year, issue_day.month, issue_day.day, 10), tick=True):
        # Issuance is a background job (RQ cron, or `flask certificates issue`); the test runs
        # the job function in-process instead of waiting for a worker.
        with live.app.app_context():
            assert run_certificates() == 1
            db.session.remove()

        own_ctx = _context(browser, js=False)
        own = own_ctx.new_page()
        _login(own, base, "own-staff")
        expect(own).to_have_url(f"{base}/{T}/home")
        own.goto(f"{base}/{T}/me/")
        own.locator("main a", has_text="我的电子证书").click()
        expect(own).to_have_url(f"{base}/{T}/certificates/mine")
        certs = own.locator("main table tbody tr")
        expect(certs).to_have_count(1)
        expect(certs.locator("td").nth(1)).to_have_text("工程技术 · 正高级")
        expect(certs.locator("td").nth(2)).to_have_text(issue_day.isoformat())
        expect(certs.locator("td").nth(3)).to_have_text("有效")
        number = certs.locator("td").first.inner_text().strip()
        with own.expect_download() as dl:
            certs.locator("a", has_text="电子职称证书").click()
        assert dl.value.suggested_filename == f"电子职称证书-{number}.pdf"
        assert Path(dl.value.path()).read_bytes().startswith(b"%PDF")
        own.goto(base + certs.locator("td a").first.get_attribute("href"))
        expect(own.locator("h1")).to_have_text("电子职称证书查验")
        expect(own.locator("main .flash strong")).to_have_text("有效")
        facts = own.locator("main table")
        expect(facts.locator("tr", has_text="证书编号").locator("td")).to_have_text(number)
        expect(facts.locator("tr", has_text="发证机构").locator("td")).to_have_text(CITY_HR)
        own_ctx.close()

    unit_ctx.close()
    office_ctx.close()
