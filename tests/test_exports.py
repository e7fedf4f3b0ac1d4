"""Office lists as .xlsx (app/workflow/exports.py) and the employer's notice sheet
(app/workflow/notice_sheet.py)."""
import io
import os
import re
from datetime import datetime, timedelta, timezone

import openpyxl
import pytest
import sqlalchemy as sa
import time_machine

from app.extensions import db
from app.models import Application, AuditEvent
from app.tenancy import tenants
from app.workflow import exports, inbox
from app.workflow.transitions import transition

from . import factories as f
from .conftest import at
from .test_review import recommended

CFG = lambda: tenants()["beijing"]  # noqa: E731
NAMES = ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄强", "周杰", "吴霞",
         "徐亮", '=HYPERLINK("http://x","y")']
ID_NUMBER = "11010519491231002X"


@pytest.fixture
def office(app):
    """An employer holding twelve files (levels and series alternate, the first in its notice,
    the fourth with an ID number, the last named like a formula); another employer's file named
    like ours; a Chifeng employer's file."""
    with app.app_context():
        emp = f.make_employer("beijing", "emp", "haidian", name="海淀精密机械厂")
        other = f.make_employer("beijing", "emp2", "chaoyang", name="朝阳电子公司")
        f.make_user("beijing", "clerk", "employer_clerk", "emp")
        f.make_user("beijing", "clerk2", "employer_clerk", "emp2")
        ids, mobiles = [], []
        for i, name in enumerate(NAMES):
            u = f.make_user("beijing", f"a{i}", "applicant", "emp", name=name,
                            id_number=ID_NUMBER if i == 3 else None)
            mobiles.append(u.mobile)
            a = f.make_application("beijing", u, "bj-2026", "bj-eng",
                                   "engineering" if i % 3 else "economics",
                                   "intermediate" if i % 2 else "associate_senior",
                                   complete=False)
            a.status = "in_notice" if i == 0 else "submitted"
            a.holder_org_id = emp.id
            a.route, a.route_pos = [{"kind": "employer", "org_id": emp.id}], 0
            a.submitted_at = datetime(2026, 7, 1, 9, tzinfo=timezone.utc) + timedelta(days=i)
            ids.append(a.id)
        u = f.make_user("beijing", "x", "applicant", "emp2", name="张伟")
        a = f.make_application("beijing", u, "bj-2026", "bj-eng", "engineering", "intermediate",
                               complete=False)
        a.status, a.holder_org_id = "submitted", other.id
        cf = f.make_employer("chifeng", "cf-emp", "hongshan")
        f.make_user("chifeng", "cf-clerk", "employer_clerk", "cf-emp")
        cu = f.make_user("chifeng", "cf-a", "applicant", "cf-emp", name="张伟")
        ca = f.make_application("chifeng", cu, "cf-2026-intermediate", "cf-eng", "engineering",
                                "intermediate", complete=False)
        ca.status, ca.holder_org_id = "submitted", cf.id
        db.session.commit()
        yield {"tenant": emp.tenant_id, "org": emp.id, "ids": ids, "other": a.id,
               "mobiles": mobiles, "chifeng": ca.id}


def _sheet(resp):
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    assert resp.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    wb = openpyxl.load_workbook(io.BytesIO(resp.data))
    ws = wb.worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    return ws, rows[0], rows[1:]


def test_office_export_holds_exactly_the_filtered_rows(app, client, login, office):
    with time_machine.travel(at(2026, 7, 20, 10), tick=False):
        login("beijing", "clerk")
        ws, head, rows = _sheet(client.get(
            "/beijing/office/export.xlsx?level=intermediate&series=engineering"))
        expected = [i for n, i in enumerate(office["ids"]) if n % 2 and n % 3]
        assert head[0] == "申报编号" and "下一步" in head
        assert [r[0] for r in rows] == expected
        assert all(r[head.index("级别")] == "中级" for r in rows)
        # Dates are spreadsheet dates (sortable), in local time.
        assert rows[0][head.index("提交时间")] == datetime(2026, 7, 2, 17, 0)
        assert all(isinstance(r[head.index("办理期限")], datetime) for r in rows)
        # The whole list, in the list's order, and a status filter.
        _, _, rows = _sheet(client.get("/beijing/office/export.xlsx"))
        assert [r[0] for r in rows] == office["ids"]
        _, _, rows = _sheet(client.get("/beijing/office/export.xlsx?status=in_notice"))
        assert [r[0] for r in rows] == office["ids"][:1]
        resp = client.get("/beijing/office/export.xlsx?sort=name&dir=desc&q=%E5%BC%A0")
        _, _, rows = _sheet(resp)
        assert [r[0] for r in rows] == office["ids"][:1]  # 张伟 of this office only
        disposition = resp.headers["Content-Disposition"]
        assert "attachment" in disposition and "2026-07-20" in disposition
        assert "%E6%B5%B7%E6%B7%80" in disposition  # the office's name (海淀…), RFC 5987


def test_the_list_links_its_export_with_the_filters_even_after_an_htmx_update(
        app, client, login, office):
    with time_machine.travel(at(2026, 7, 20, 10), tick=False):
        login("beijing", "clerk")
        frag = client.get("/beijing/office/?level=intermediate&series=engineering",
                          headers={"HX-Request": "true"}).get_data(as_text=True)
        link = re.search(r'<a href="([^"]*export\.xlsx[^"]*)" hx-boost="false" download>', frag)
        assert link, frag[-600:]
        url = link.group(1).replace("&amp;", "&")
        assert "level=intermediate" in url and "series=engineering" in url
        _, _, rows = _sheet(client.get(url))
        assert [r[0] for r in rows] == [i for n, i in enumerate(office["ids"]) if n % 2 and n % 3]


def test_personal_numbers_are_masked_and_formulas_stay_text(app, client, login, office):
    login("beijing", "clerk")
    ws, head, rows = _sheet(client.get("/beijing/office/export.xlsx"))
    by_id = {r[0]: r for r in rows}
    number = by_id[office["ids"][3]][head.index("证件号码（脱敏）")]
    assert number == "110*************2X"
    cells = [str(v) for r in rows for v in r if v is not None]
    assert not any(ID_NUMBER in c or ID_NUMBER.lower() in c for c in cells)
    assert not any(m in c for m in office["mobiles"] for c in cells)
    # A name that looks like a formula is exported as text, with the quote prefix.
    row = next(i for i, r in enumerate(rows, start=2) if r[0] == office["ids"][-1])
    cell = ws.cell(row=row, column=2)
    assert cell.value == NAMES[-1] and cell.data_type == "s" and cell.quotePrefix


def test_written_a_chunk_at_a_time(app, office):
    """Rows come from the database `chunk` at a time, each chunk's applicants loaded by one
    query: three chunks of five for twelve files."""
    seen = []
    with app.app_context():
        engine = db.engine
    listener = lambda *a, **k: seen.append(a[2])  # noqa: E731
    with app.test_request_context():
        f_ = inbox.Filters()
        today = datetime(2026, 7, 20).date()
        for chunk in (5, 100):
            stmt = inbox.ordered(inbox.filtered(office["tenant"], office["org"], f_, today), f_)
            seen.clear()
            sa.event.listen(engine, "before_cursor_execute", listener)
            try:
                done = exports.write(CFG(), stmt, "t", today, chunk=chunk)
            finally:
                sa.event.remove(engine, "before_cursor_execute", listener)
            users = [s for s in seen if re.match(r"\s*SELECT users\.", s)]
            assert len(users) == (3 if chunk == 5 else 1), (chunk, len(users))
            wb = openpyxl.load_workbook(done.path)
            got = [r[0] for r in wb.worksheets[0].iter_rows(min_row=2, values_only=True)]
            assert got == office["ids"] and done.rows == 12
            os.unlink(done.path)


def test_other_offices_and_tenants_never_exported(app, client, login, office):
    login("beijing", "clerk2")
    _, _, rows = _sheet(client.get("/beijing/office/export.xlsx"))
    assert [r[0] for r in rows] == [office["other"]]
    _, _, rows = _sheet(client.get("/beijing/office/export.xlsx?q=%E5%BC%A0%E4%BC%9F"))
    assert [r[0] for r in rows] == [office["other"]]
    client.post("/beijing/logout")
    login("chifeng", "cf-clerk")  # another tenant's clerk sees their own file only
    _, _, rows = _sheet(client.get("/chifeng/office/export.xlsx?q=%E5%BC%A0%E4%BC%9F"))
    assert [r[0] for r in rows] == [office["chifeng"]]
    client.post("/chifeng/logout")
    login("beijing", "a0")
    assert client.get("/beijing/office/export.xlsx").status_code == 403


def test_export_is_audited_with_its_filter_and_a_masked_search(app, client, login, office):
    login("beijing", "clerk")
    mobile = office["mobiles"][5]
    _, _, rows = _sheet(client.get(f"/beijing/office/export.xlsx?level=intermediate&q={mobile}"))
    assert [r[0] for r in rows] == [office["ids"][5]]
    with app.app_context():
        e = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "export"))
        assert e.actor_name == "clerk" and e.subject_type == "applications"
        assert "office.export" in e.reason and "level=intermediate" in e.reason
        assert "rows=1" in e.reason and mobile not in e.reason
        assert f"{mobile[:3]}****{mobile[-4:]}" in e.reason


def test_agency_export_defaults_to_recommended_and_handled_list(app, client, login):
    with app.app_context():
        files, clerk = recommended(3)
        ag = f.make_user("beijing", "ag", "agency_clerk", "bj-agency-eng")
        ids = [a.id for a in files]
        with time_machine.travel(at(2026, 7, 21, 9), tick=False):
            transition(CFG(), files[0], "check_pass", f.actor(ag), opinion="齐全")
    with time_machine.travel(at(2026, 7, 22, 9), tick=False):
        login("beijing", "ag")
        _, head, rows = _sheet(client.get("/beijing/agency/export.xlsx"))
        assert sorted(r[0] for r in rows) == ids[1:]
        assert {r[head.index("下一步")] for r in rows} == {"审核材料"}  # as the list page says
        _, _, rows = _sheet(client.get("/beijing/agency/export.xlsx?status=checked"))
        assert [r[0] for r in rows] == ids[:1]
        _, _, rows = _sheet(client.get("/beijing/agency/export.xlsx?status="))
        assert sorted(r[0] for r in rows) == ids
    client.post("/beijing/logout")
    login("beijing", "clerk-emp")  # the employer passed all three on
    _, _, rows = _sheet(client.get("/beijing/office/handled.xlsx"))
    assert sorted(r[0] for r in rows) == ids
    page = client.get("/beijing/office/").get_data(as_text=True)
    assert "/beijing/office/export.xlsx" in page and "/beijing/office/handled.xlsx" in page
    assert "/beijing/office/notice-sheet" in page
    assert "/beijing/office/export.xlsx?status=in_notice" in client.get(
        "/beijing/office/?status=in_notice").get_data(as_text=True)


# -- the notice sheet -----------------------------------------------------------------------------

@pytest.fixture
def notice(app):
    """Three files of one employer put in notice (two on 8 Jul, one on 9 Jul), one submitted
    but not yet in notice, another employer's file in notice."""
    with app.app_context():
        emp = f.make_employer("beijing", "emp", "haidian", name="海淀精密机械厂")
        f.make_employer("beijing", "emp2", "chaoyang", name="朝阳电子公司")
        clerk = f.make_user("beijing", "clerk", "employer_clerk", "emp")
        clerk2 = f.make_user("beijing", "clerk2", "employer_clerk", "emp2")
        out = {}
        for i, (name, who, day, start) in enumerate([
                ("张伟", "emp", 8, True), ("王芳", "emp", 8, True), ("李娜", "emp", 9, True),
                ("刘洋", "emp", 8, False), ("陈静", "emp2", 8, True)]):
            u = f.make_user("beijing", f"n{i}", "applicant", who, name=name,
                            id_number=f.ID_NUMBERS[i])
            a = f.make_application("beijing", u, "bj-2026", "bj-eng", "engineering", "senior",
                                   "mechanical")
            a.basic = {**a.basic, "current_title": "高级工程师"}
            db.session.commit()
            with time_machine.travel(at(2026, 7, day, 9), tick=False):
                transition(CFG(), a, "submit", f.actor(u), pledge=f.PLEDGE)
                if start:
                    transition(CFG(), a, "start_notice", f.actor(clerk if who == "emp" else clerk2))
            a.poge = i == 1  # shown as how the person applies
            db.session.commit()
            out[name] = a.id
        return out


@pytest.mark.rule("BJ-WIN-2", "CF-UNIT-1")
def test_notice_sheet_lists_exactly_the_files_in_notice_with_their_period(
        app, client, login, notice):
    with time_machine.travel(at(2026, 7, 10, 10), tick=False):
        login("beijing", "clerk")
        page = client.get("/beijing/office/notice-sheet?contact=%E6%9D%8E%E8%80%81%E5%B8%88"
                          "&phone=010-12345678").get_data(as_text=True)
    body = page.split('<article class="notice-sheet">')[1]
    names = re.findall(r"<tr><td[^>]*>\d+</td><td[^>]*>([^<]+)</td>", body)
    assert names == ["张伟", "王芳", "李娜"]  # by the day the notice began; not 刘洋, not 陈静
    assert "海淀精密机械厂职称申报人员公示" in body
    # Two starting days: each row carries its own period, counted as everywhere else.
    assert "5 个工作日，自 2026-07-09 起算，至 2026-07-15 24:00 止" in body
    assert "5 个工作日，自 2026-07-10 起算，至 2026-07-16 24:00 止" in body
    assert "破格申报" in body and "正常申报" in body and "高级工程师" in body
    assert "向本单位反映" in body and "公示期满无异议的，本单位方可推荐上报" in body
    assert "联系人：李老师" in body and "联系电话：010-12345678" in body
    assert "（盖章）" in body
    for number in f.ID_NUMBERS:  # never an ID number, even masked
        assert number not in body and number[:3] + "*" not in body


@pytest.mark.rule("BJ-WIN-2", "CF-UNIT-1")
def test_notice_sheet_with_one_period_and_a_plan_filter(app, client, login, notice):
    with app.app_context():
        a = db.session.get(Application, notice["李娜"])
        plan_id = a.plan_id
        a.status = "submitted"  # out of its notice: the others share one period
        db.session.commit()
    with time_machine.travel(at(2026, 7, 10, 10), tick=False):
        login("beijing", "clerk")
        page = client.get(f"/beijing/office/notice-sheet?plan={plan_id}").get_data(as_text=True)
        body = page.split('<article class="notice-sheet">')[1]
        assert re.findall(r"<tr><td[^>]*>\d+</td><td[^>]*>([^<]+)</td>", body) == ["张伟", "王芳"]
        assert re.search(r'id="period"><strong>公示期：5 个工作日，自 2026-07-09 起算，'
                         r"至 2026-07-15 24:00 止", body)
        assert "联系人：________" in body
        page = client.get(f"/beijing/office/notice-sheet?plan={plan_id + 999}")
        assert "目前没有处于单位公示期的申报" in page.get_data(as_text=True)
        client.post("/beijing/logout")
        login("beijing", "clerk2")
        body = client.get("/beijing/office/notice-sheet").get_data(as_text=True)
    assert "陈静" in body and "张伟" not in body and "王芳" not in body
