"""The employer clerk's workbench in a real headless Chromium, without JavaScript: an inbox of
three hundred files is filtered by level and series, searched by a name, twenty-one files are
selected and recommended with one opinion after one confirmation page (one is refused with its
reason: its notice is still running), the batch is undone, and the filtered list is exported to
a spreadsheet that holds exactly the rows shown."""
from __future__ import annotations

import io
import re
from datetime import datetime, timedelta, timezone

import pytest

from .test_browser import _context, _login, live_app, serving
from .test_browser import BROWSER, browser  # noqa: F401  (fixture)

time_machine = pytest.importorskip("time_machine", reason="time-machine is not installed")

from openpyxl import load_workbook  # noqa: E402
from playwright.sync_api import expect  # noqa: E402

from app.extensions import db  # noqa: E402
from app.models import Application, AuditEvent, User  # noqa: E402
from app.tenancy import tenants  # noqa: E402
from app.workflow.transitions import transition  # noqa: E402

from . import factories as f  # noqa: E402
from .conftest import at  # noqa: E402

pytestmark = BROWSER

BATCH = 21           # selected: twenty recommended, one refused
LATE = "批量申报人20"  # started its notice later: still running on the day of the batch
OTHERS = 280
SOUGHT = "欧阳修远"


@pytest.fixture
def inbox_world(tmp_path):
    """A Beijing employer holding 301 files. Twenty-one senior engineering files were submitted
    on 8 Jul 2026 and their notices started (the last one's on 16 Jul); 280 intermediate and
    associate-senior files of two series wait beside them, one of them SOUGHT's."""
    app = live_app(tmp_path)
    with app.app_context():
        cfg = tenants()["beijing"]
        emp = f.make_employer("beijing", "emp", "haidian", name="海淀测试机械有限公司")
        clerk = f.make_user("beijing", "wb-clerk", "employer_clerk", "emp", name="单位经办人")
        route = None
        for i in range(BATCH):
            u = f.make_user("beijing", f"wb{i}", "applicant", "emp", name=f"批量申报人{i}")
            a = f.make_application("beijing", u, "bj-2026", "bj-eng", "engineering", "senior",
                                   "mechanical")
            with time_machine.travel(at(2026, 7, 8, 9), tick=False):
                transition(cfg, a, "submit", f.actor(u), pledge=f.PLEDGE)
            day = 16 if i == BATCH - 1 else 8
            with time_machine.travel(at(2026, 7, day, 10), tick=False):
                transition(cfg, a, "start_notice", f.actor(clerk))
            route = a.route
        hashed = clerk.password_hash
        users = [User(tenant_id=emp.tenant_id, username=f"wbo{i}", role="applicant",
                      name=SOUGHT if i == 137 else f"其他申报人{i}", org_id=emp.id,
                      person_type="professional", password_hash=hashed)
                 for i in range(OTHERS)]
        db.session.add_all(users)
        db.session.flush()
        plan, eng = f.plan("beijing", "bj-2026"), f.committee("beijing", "bj-eng")
        start = datetime(2026, 7, 1, 1, tzinfo=timezone.utc)
        db.session.add_all(Application(
            tenant_id=emp.tenant_id, applicant_id=u.id, plan_id=plan.id, committee_id=eng.id,
            series="engineering" if i % 2 else "economics",
            specialty="mechanical" if i % 2 else None,
            level="intermediate" if i % 3 else "associate_senior", person_type="professional",
            employer_org_id=emp.id, status="submitted", route=route, route_pos=0,
            holder_org_id=emp.id, basic={"name": u.name},
            submitted_at=start + timedelta(minutes=i)) for i, u in enumerate(users))
        db.session.commit()
        db.session.remove()
    with serving(app) as base:
        yield base, app


def test_filter_search_batch_recommend_undo_and_export(browser, inbox_world):  # noqa: F811
    base, app = inbox_world
    with time_machine.travel(at(2026, 7, 20, 10), tick=True):
        ctx = _context(browser, js=False)
        page = ctx.new_page()
        _login(page, base, "wb-clerk")
        page.goto(f"{base}/beijing/office/")
        expect(page.locator("#list")).to_contain_text("301")

        # Filter by level and series: only the twenty-one senior engineering files.
        form = page.locator("form#filters")
        form.locator("summary").click()  # 更多筛选与排序
        form.locator("select[name=level]").select_option("senior")
        form.locator("select[name=series]").select_option("engineering")
        form.locator("button", has_text="筛选").click()
        expect(page).to_have_url(re.compile(r"level=senior"))
        expect(page).to_have_url(re.compile(r"series=engineering"))
        rows = page.locator("#list table tbody tr")
        expect(rows).to_have_count(BATCH)

        # A search by name, across the whole inbox.
        page.goto(f"{base}/beijing/office/")
        page.locator("form#filters input[name=q]").fill(SOUGHT)
        page.locator("form#filters button", has_text="筛选").click()
        expect(page.locator("#list table tbody tr")).to_have_count(1)
        expect(page.locator("#list table tbody")).to_contain_text(SOUGHT)

        # Back to the filtered list; select all twenty-one and recommend them with one opinion.
        page.goto(f"{base}/beijing/office/?level=senior&series=engineering")
        boxes = page.locator("#list input[name=ids]")
        expect(boxes).to_have_count(BATCH)
        for i in range(BATCH):
            boxes.nth(i).check()
        bar = page.locator("form#batch-form")
        bar.locator("select[name=action]").select_option("recommend")
        bar.locator("input[name=opinion]").fill("经单位审核，同意推荐。")
        bar.locator("input[name=no_objection]").check()
        bar.locator("button", has_text="办理所选").click()

        # The confirmation lists exactly the selection, the refused one with its reason.
        main = page.locator("main")
        expect(main).to_contain_text("批量申报人0")
        expect(main.locator("#batch-ok tbody tr")).to_have_count(BATCH - 1)
        refused = main.locator("#batch-refused tbody tr")
        expect(refused).to_have_count(1)
        expect(refused).to_contain_text(LATE)
        expect(refused).to_contain_text("公示")
        main.locator("#batch-confirm button").click()

        # Done: the twenty went through; the refused one was left out of the run.
        expect(page.locator("#batch-done tbody tr")).to_have_count(BATCH - 1)
        with app.app_context():
            moved = db.session.scalars(
                db.select(Application.status).join(User, User.id == Application.applicant_id)
                .where(User.name.like("批量申报人%"))).all()
            assert sorted(moved).count("recommended") == BATCH - 1
            assert moved.count("in_notice") == 1
            db.session.remove()

        # Undo within the window: the twenty are back in the unit's notice.
        page.locator("#batch-undo button").click()
        expect(page.locator("p.flash.ok")).to_be_visible()
        with app.app_context():
            back = db.session.scalars(
                db.select(Application.status).join(User, User.id == Application.applicant_id)
                .where(User.name.like("批量申报人%"))).all()
            assert back.count("in_notice") == BATCH
            # Every file moved has its audit row, for the batch and for its undoing.
            ids = db.session.scalars(
                db.select(Application.id).join(User, User.id == Application.applicant_id)
                .where(User.name.like("批量申报人%"))).all()
            actions = db.session.scalars(db.select(AuditEvent.action).where(
                AuditEvent.subject_type == "applications", AuditEvent.subject_id.in_(ids),
                AuditEvent.action.in_(("recommend", "batch_undo")))).all()
            assert actions.count("recommend") == BATCH - 1
            assert actions.count("batch_undo") == BATCH - 1
            db.session.remove()

        # Export what the filter shows: exactly those rows, streamed as a workbook.
        page.goto(f"{base}/beijing/office/?level=senior&series=engineering")
        with page.expect_download() as download:
            page.locator("a[href*='export.xlsx']").click()
        data = open(download.value.path(), "rb").read()
        sheet = load_workbook(io.BytesIO(data), read_only=True).worksheets[0]
        values = [[c for c in row] for row in sheet.iter_rows(values_only=True)]
        names = {v for row in values for v in row if isinstance(v, str)
                 and v.startswith("批量申报人")}
        assert len(names) == BATCH and not any(SOUGHT in str(row) for row in values)
        ctx.close()
