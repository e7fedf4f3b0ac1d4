"""The Beijing review in a real headless Chromium, without JavaScript (plain form posts and
redirects). The engineering agency clerk passes a recommended file and confirms the fee was
paid, files the committee, creates a session, adds the file and draws a panel of five; on the
review day the chair signs in and is sent to the confidentiality agreement, accepts it, scores
the file, records attendance and votes, every other member accepts the agreement and votes, the
chair closes the ballot and the sealed tally shows the file passed; the agency's recount matches
it."""
from __future__ import annotations

import re

import pytest

from .test_browser import (
    COMMITTEE, PLAN, _context, _flash_ok, _login, live_app, serving,
)
from .test_browser import BROWSER, browser  # noqa: F401  (fixture)

time_machine = pytest.importorskip("time_machine", reason="time-machine is not installed")

from playwright.sync_api import expect  # noqa: E402

from app.extensions import db  # noqa: E402

from . import factories as f  # noqa: E402
from .conftest import at  # noqa: E402
from .test_review import pool_of, recommended  # noqa: E402

pytestmark = BROWSER

POOL = 7
PANEL = 5
APPLICANT = "申报人0"


@pytest.fixture
def live_review(tmp_path):
    """A live server over a fresh database with one Beijing senior engineering file recommended
    to the engineering agency, that agency's clerk "ag" and a pool of seven engineering experts
    (专家0 the only chair) with accounts, none of whom has signed the confidentiality agreement.
    The committee is not filed."""
    app = live_app(tmp_path)
    with app.app_context(), time_machine.travel(at(2026, 7, 20, 10), tick=False):
        recommended(1)
        f.make_user("beijing", "ag", "agency_clerk", "bj-agency-eng", name="评审机构经办人")
        pool_of(POOL, signed=False)
        assert f.committee("beijing", "bj-eng").filed_on is None
        db.session.remove()
    with serving(app) as base:
        yield base


def _expert_signs_in(browser, base: str, username: str, status: str):  # noqa: F811
    """A fresh context for one expert: sign in, land on the agreement, accept it, and open the
    only session on 我的评审会, which is in `status`. Returns (context, page)."""
    ctx = _context(browser, js=False)
    page = ctx.new_page()
    _login(page, base, username)
    expect(page).to_have_url(f"{base}/beijing/home")
    page.locator("header nav a", has_text="我的评审会").click()
    expect(page).to_have_url(f"{base}/beijing/expert/agreement")
    expect(page.locator("h1")).to_have_text("评审专家工作保密协议")
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


def _vote_yes(page):
    ballot = page.locator("section#ballot")
    expect(ballot.locator("fieldset")).to_have_count(1)
    expect(ballot.locator("legend")).to_have_text(f"A001 · {APPLICANT}")
    ballot.locator("input[type=radio][value=yes]").check()
    ballot.locator("button", has_text="提交选票").click()
    _flash_ok(page, "已投票")
    expect(page.locator("section#ballot")).to_contain_text("您已投票。")
    expect(page.locator("section#ballot input[type=radio]")).to_have_count(0)


def test_beijing_review_walkthrough(live_review, browser):  # noqa: F811
    base = live_review
    office = _context(browser, js=False)
    clerk = office.new_page()

    with time_machine.travel(at(2026, 8, 3, 10), tick=True):
        # The agency passes the recommended file.
        _login(clerk, base, "ag")
        expect(clerk).to_have_url(f"{base}/beijing/home")
        clerk.locator("main a", has_text="待审核材料的申报").click()
        expect(clerk).to_have_url(f"{base}/beijing/agency/?status=recommended")
        expect(clerk.locator("#list")).to_contain_text("共1件")
        clerk.locator("#list a", has_text=APPLICANT).click()
        expect(clerk.locator("main > h1 + p strong")).to_have_text("已推荐至评审服务机构")
        clerk.locator("#actions textarea[name=opinion]").first.fill("材料齐全，审核通过。")
        clerk.locator("#actions button", has_text="审核通过").click()
        expect(clerk).to_have_url(f"{base}/beijing/agency/")
        _flash_ok(clerk, "已办理")
        expect(clerk.locator("#list")).to_contain_text("共0件")

        # Beijing charges a fee: the agency confirms the offline transfer.
        clerk.locator("main form#filters select[name=status]").select_option("checked")
        clerk.locator("main form#filters button", has_text="筛选").click()
        expect(clerk).to_have_url(f"{base}/beijing/agency/?status=checked")
        expect(clerk.locator("#list")).to_contain_text("共1件")
        clerk.locator("#list a", has_text=APPLICANT).click()
        expect(clerk.locator("main > h1 + p strong")).to_have_text("评审服务机构审核通过")
        expect(clerk.locator("#actions")).to_have_count(0)
        clerk.locator("#payment input[name=reference]").fill("BANK-2026-0803")
        clerk.locator("#payment button", has_text="确认已缴费").click()
        expect(clerk).to_have_url(f"{base}/beijing/agency/")
        _flash_ok(clerk, "已办理")
        clerk.goto(f"{base}/beijing/agency/?status=paid")
        expect(clerk.locator("#list")).to_contain_text("共1件")
        expect(clerk.locator("#list tbody tr")).to_contain_text("已缴费")

        # The pool: seven experts, none has signed the agreement yet.
        clerk.goto(f"{base}/beijing/agency/experts")
        expect(clerk.locator("main table tbody tr")).to_have_count(POOL)
        expect(clerk.locator("main table tbody small.err", has_text="未签保密协议")) \
            .to_have_count(POOL)

        # File the committee.
        clerk.goto(f"{base}/beijing/agency/committees")
        row = clerk.locator("main table tbody tr", has_text=COMMITTEE)
        expect(row).to_contain_text("未备案")
        row.locator("a", has_text="备案").click()
        expect(clerk.locator("h1")).to_contain_text(COMMITTEE)
        form = clerk.locator("main form.stack")
        form.locator("input[name=filed_on]").fill("2026-01-01")
        form.locator("input[name=valid_until]").fill("2028-12-31")
        form.locator("textarea[name=scope]").fill("本市工程技术系列专业技术人员")
        form.locator("textarea[name=standard]").fill("业绩成果|60\n答辩|40")
        form.locator("textarea[name=procedure]").fill("材料评审、答辩、无记名投票表决")
        roster = form.locator("input[name=roster]")
        expect(roster).to_have_count(POOL)
        for i in range(POOL):
            roster.nth(i).check()
        form.locator("button", has_text="提交备案").click()
        expect(clerk).to_have_url(f"{base}/beijing/agency/committees")
        _flash_ok(clerk, "已备案")
        row = clerk.locator("main table tbody tr", has_text=COMMITTEE)
        expect(row).to_contain_text("2026-01-01 — 2028-12-31")
        expect(row.locator("td").nth(2)).to_have_text(str(POOL))

        # Create a session.
        clerk.goto(f"{base}/beijing/agency/sessions")
        form = clerk.locator("main form.grid")
        form.locator("select[name=committee]").select_option(label=COMMITTEE)
        form.locator("select[name=plan]").select_option(label=PLAN)
        form.locator("select[name=series]").select_option("engineering")
        form.locator("select[name=level]").select_option("senior")
        form.locator("input[name=panel_size]").fill(str(PANEL))
        form.locator("input[name=held_on]").fill("2026-11-20")
        form.locator("button", has_text="创建").click()
        expect(clerk).to_have_url(re.compile(rf"^{re.escape(base)}/beijing/agency/sessions/\d+$"))
        session_url = clerk.url
        expect(clerk.locator("main > h1 + p strong")).to_have_text("准备中")
        expect(clerk.locator("main > h1 + p")).to_contain_text("2026-11-20")
        expect(clerk.locator("main > h1 + p")).to_contain_text("实名评审")

        # Add the file, then draw.
        files = clerk.locator("section.box", has_text="参评申报")
        expect(files.locator("input[name=app]")).to_have_count(1)
        files.locator("button", has_text="加入评审会").click()
        expect(clerk).to_have_url(session_url)
        _flash_ok(clerk, "已办理")
        files = clerk.locator("section.box", has_text="参评申报")
        expect(files.locator("tbody tr td")).to_have_text(["A001", APPLICANT, "评审中", ""])
        expect(files.locator("input[name=app]")).to_have_count(0)
        draw = clerk.locator("section.box", has_text="专家抽取")
        expect(draw).to_contain_text(f"可抽取专家：{POOL}")
        draw.locator("button", has_text="随机抽取专家").click()
        expect(clerk).to_have_url(session_url)
        _flash_ok(clerk, "已办理")
        expect(clerk.locator("main > h1 + p strong")).to_have_text("已抽取专家")
        draw = clerk.locator("section.box", has_text="专家抽取")
        expect(draw).to_contain_text("按记录的种子和候选名单重放，结果一致")
        expect(draw.locator("button", has_text="随机抽取专家")).to_have_count(0)
        panel_rows = draw.locator("table tbody tr")
        expect(panel_rows).to_have_count(PANEL)
        expect(panel_rows.filter(has_text="在任")).to_have_count(PANEL)
        expect(panel_rows.filter(has_text="主任委员")).to_have_count(1)
        names = [t.strip() for t in panel_rows.locator("td:first-child").all_inner_texts()]
        chair = panel_rows.filter(has_text="主任委员").locator("td").first.inner_text().strip()
        assert chair == "专家0" and len(set(names)) == PANEL and chair in names
        others = [n for n in names if n != chair]

        # The panel's pre-review training (AE-DUTY-1): recorded before anyone may vote.
        clerk.locator("main a", has_text="评前培训登记").click()
        boxes = clerk.locator("form#training input[name=expert]")
        expect(boxes).to_have_count(PANEL)
        for i in range(PANEL):
            boxes.nth(i).check()
        clerk.locator("form#training button").click()
        _flash_ok(clerk, f"已登记{PANEL}名专家参加评前培训")
        expect(clerk.locator("form#training input[name=expert]")).to_have_count(0)

    with time_machine.travel(at(2026, 11, 20, 9), tick=True):
        # The defense was held: the agency records it on the defense page (BJ-DEF-1).
        clerk.goto(session_url)
        if "/login" in clerk.url:
            _login(clerk, base, "ag")
            clerk.goto(session_url)
        clerk.locator("main a", has_text="答辩安排").click()
        records = clerk.locator("section#records")
        records.locator("select[name=outcome]").select_option("held")
        records.locator("button", has_text="记录").click()
        _flash_ok(clerk, "已记录答辩情况")
        expect(clerk.locator("section#records tbody tr td").nth(2)).to_have_text("已答辩")

        # The chair: agreement, the file and the score, attendance, the ballot.
        chair_ctx, cp = _expert_signs_in(browser, base, f"x-{chair}", "已抽取专家")
        session_page = cp.url
        expect(cp.locator("main > h1 + p")).to_contain_text("本人角色：主任委员")
        cp.locator("main table a", has_text="查看材料并评分").click()
        expect(cp.locator("h1")).to_contain_text(f"A001 · {APPLICANT}")
        score = cp.locator("section#score")
        score.locator("input[name=score-c1]").fill("52")
        score.locator("input[name=score-c2]").fill("35")
        score.locator("textarea[name=opinion]").fill("业绩突出，答辩良好。")
        score.locator("button", has_text="保存评分").click()
        expect(cp).to_have_url(re.compile(r"/items/\d+#score$"))
        _flash_ok(cp, "评分已保存")
        expect(cp.locator("input[name=score-c1]")).to_have_value("52")
        expect(cp.locator("input[name=score-c2]")).to_have_value("35")
        expect(cp.locator("section#score textarea[name=opinion]")).to_have_value("业绩突出，答辩良好。")
        # The professional review group's written opinion on the file (BJ23-PANEL-1).
        group = cp.locator("section#group-opinion")
        group.locator("textarea[name=opinion]").fill("业绩成果突出，达到正高级水平。")
        group.locator("button", has_text="保存评议意见").click()
        _flash_ok(cp, "已记录专业评议组意见")
        expect(cp.locator("section#group-opinion")).to_contain_text("业绩成果突出，达到正高级水平。")

        cp.goto(session_page)
        attendance = cp.locator("section.box", has_text="出席情况")
        present = attendance.locator("input[name=present]")
        expect(present).to_have_count(PANEL)
        for i in range(PANEL):
            expect(present.nth(i)).to_be_checked()
        attendance.locator("button", has_text="确认出席并开始表决").click()
        expect(cp).to_have_url(session_page)
        _flash_ok(cp, "已记录出席情况，开始表决")
        expect(cp.locator("main > h1 + p strong")).to_have_text("表决中")
        _vote_yes(cp)

        # Every other member: agreement, then the ballot.
        for name in others:
            ctx, page = _expert_signs_in(browser, base, f"x-{name}", "表决中")
            assert page.url == session_page
            expect(page.locator("main > h1 + p strong")).to_have_text("表决中")
            expect(page.locator("section#ballot button", has_text="结束表决并封存结果")) \
                .to_have_count(0)
            _vote_yes(page)
            ctx.close()

        # The chair closes the ballot; the tally is sealed.
        cp.goto(session_page)
        cp.locator("section#ballot button", has_text="结束表决并封存结果").click()
        expect(cp).to_have_url(session_page)
        _flash_ok(cp, "表决已结束，结果已封存")
        expect(cp.locator("main > h1 + p strong")).to_have_text("已结束")
        sealed = cp.locator("section.box", has_text="表决结果（已封存）")
        expect(sealed).to_contain_text(f"出席委员 {PANEL} · 投票 {PANEL}")
        cells = sealed.locator("tbody tr td")
        expect(sealed.locator("tbody tr")).to_have_count(1)
        expect(cells).to_have_text(["A001", APPLICANT, str(PANEL), "0", "0", "评审通过"])
        expect(cp.locator("section#ballot")).to_have_count(0)
        chair_ctx.close()

        # The agency sees the result and a recount that matches the sealed tally.
        clerk.goto(session_url)
        if "/login" in clerk.url:
            _login(clerk, base, "ag")
            clerk.goto(session_url)
        expect(clerk.locator("main > h1 + p strong")).to_have_text("已结束")
        files = clerk.locator("section.box", has_text="参评申报")
        expect(files.locator("tbody tr td")).to_have_text(["A001", APPLICANT, "评审通过", "通过"])
        panel_rows = clerk.locator("section.box", has_text="专家抽取").locator("table tbody tr")
        expect(panel_rows.filter(has_text="✓")).to_have_count(PANEL)
        tally = clerk.locator("section.box", has_text="表决结果（已封存）")
        expect(tally.locator("tbody tr td")).to_have_text(["A001", str(PANEL), "0", "0", "通过"])
        expect(tally).to_contain_text("按存储的选票重新计票：与封存结果一致")
    office.close()
