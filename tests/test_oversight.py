"""Supervisory members of review sessions (AE-SUPERV-1, 办法 第三十条) and the city HR bureau's
oversight tables, complaint list and file audit trails, each exportable to .xlsx."""
import io
import re
from datetime import date

import pytest
import sqlalchemy as sa
import time_machine
from openpyxl import load_workbook

from app.extensions import db
from app.models import Application, AuditEvent, Score, User
from app.models.oversight import SessionSupervisor
from app.models.results import Objection
from app.tenancy import tenants
from app.workflow import complaints, oversight, sessions
from app.workflow.transitions import transition

from . import factories as f
from .conftest import at
from .test_complaints import FULL
from .test_review import CFG, VOTE_DAY, new_session, pool_of, ready_to_vote, recommended

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def drawn(app):
    """A drawn Beijing session of two files, the offices around it and a supervisor-to-be."""
    with app.app_context():
        apps, _ = recommended(2)
        agency = f.make_user("beijing", "ag", "agency_clerk", "bj-agency-eng")
        pool_of(14)
        s = new_session(agency, apps, size=5)
        transition(CFG(), s, "draw", f.actor(agency))
        ready_to_vote(s, agency)
        f.make_user("beijing", "hr-city", "hr_officer", "bj-hr")
        hd = f.make_user("beijing", "hr-hd", "hr_officer", "bj-hr-haidian", name="监督员甲")
        f.make_user("beijing", "hr-cy", "hr_officer", "bj-hr-chaoyang")
        return {"session": s.id, "agency": agency.id, "hd": hd.id,
                "applicant": apps[0].applicant.id}


def _close(app, ids):
    """Vote and seal the session as its panel would; one member leaves a written score."""
    with app.app_context():
        from app.models import ReviewSession
        s = db.session.get(ReviewSession, ids["session"])
        chair = next(m for m in s.members if m.role == "chair")
        active = [m for m in s.members if m.status == "active"]
        db.session.add(Score(item_id=s.items[0].id, member_id=active[0].id, scores={},
                             opinion="个人评分意见：论文水平一般"))
        db.session.commit()
        transition(CFG(), s, "open_voting", f.actor(chair.expert.user),
                   present=[m.id for m in active], now=VOTE_DAY)
        for i, m in enumerate(active):
            choice = "no" if i == 0 else "yes"
            sessions.cast_ballot(f.actor(m.expert.user), s, {it.id: choice for it in s.items})
        transition(CFG(), s, "close", f.actor(chair.expert.user))
        return [m.expert.name for m in active]


@pytest.mark.rule("AE-SUPERV-1")
def test_city_hr_appoints_a_supervisory_member_who_watches_read_only_and_records_presence(
        app, client, login, drawn):
    sid = drawn["session"]
    with time_machine.travel(at(2026, 11, 18, 9), tick=False):
        # a district bureau may not appoint; the city bureau may, staff of HR or departments only
        login("beijing", "hr-hd")
        assert client.get("/beijing/oversight/sessions").status_code == 403
        assert client.post(f"/beijing/oversight/sessions/{sid}/supervisors",
                           data={"user": drawn["hd"]}).status_code == 403
        client.post("/beijing/logout")
        login("beijing", "hr-city")
        client.post(f"/beijing/oversight/sessions/{sid}/supervisors",
                    data={"user": drawn["applicant"]})
        client.post(f"/beijing/oversight/sessions/{sid}/supervisors", data={"user": drawn["hd"]})
        page = client.get("/beijing/oversight/sessions").get_data(as_text=True)
        assert "监督员甲" in page and "未到场" in page
        client.post("/beijing/logout")
    with app.app_context():
        rows = db.session.scalars(sa.select(SessionSupervisor)).all()
        assert [r.user_id for r in rows] == [drawn["hd"]]
        assert db.session.scalar(sa.select(AuditEvent.action).filter_by(
            subject_type="session_supervisors", subject_id=rows[0].id)) == "appoint"
    panel = _close(app, drawn)
    with time_machine.travel(at(2026, 11, 20, 9), tick=False):
        # a bureau clerk not appointed is told nothing
        login("beijing", "hr-cy")
        assert client.get(f"/beijing/oversight/supervision/{sid}").status_code == 404
        client.post("/beijing/logout")
        login("beijing", "hr-hd")
        assert f"#{sid}" in client.get("/beijing/oversight/supervision").get_data(as_text=True)
        page = client.get(f"/beijing/oversight/supervision/{sid}").get_data(as_text=True)
        assert all(name in page for name in panel)           # the panel and its attendance
        assert "表决结果（已封存）" in page                    # the tally...
        assert "个人评分意见" not in page                       # ...never a member's score or vote
        assert "记录本人到场" in page
        client.post(f"/beijing/oversight/supervision/{sid}/present")
        assert "记录本人到场" not in client.get(
            f"/beijing/oversight/supervision/{sid}").get_data(as_text=True)
        client.post("/beijing/logout")
    with app.app_context():
        row = db.session.scalar(sa.select(SessionSupervisor))
        assert row.present_at is not None
        assert db.session.scalar(sa.select(AuditEvent.action).filter_by(
            subject_type="session_supervisors", subject_id=row.id, action="present")) == "present"
        # the tally the member saw counts votes; nothing ties a vote to a member
        from app.models import ReviewSession
        s = db.session.get(ReviewSession, sid)
        assert s.tally["items"][s.items[0].code]["no"] == 1


@pytest.mark.rule("AE-SUPERV-1")
def test_recordings_are_downloadable_by_the_appointed_member_only(app, client, login, drawn):
    from app import uploads
    from app.models import SessionFile
    with app.app_context():
        rec = SessionFile(session_id=drawn["session"], kind="minutes", filename="纪要.pdf",
                          stored_name="m-1.pdf", mime="application/pdf", size=10,
                          sha256="0" * 64, uploaded_by=drawn["agency"])
        db.session.add(rec)
        db.session.add(SessionSupervisor(tenant_id=f.tenant_id("beijing"),
                                         session_id=drawn["session"], user_id=drawn["hd"]))
        db.session.commit()
        # the member's home page lists the session until it is held
        hd = db.session.get(User, drawn["hd"])
        assert [(w["endpoint"], w["count"]) for w in oversight.waiting(hd, date(2026, 11, 1))] \
            == [("oversight.supervision_list", 1)]
        uploads.storage().put(f"beijing/{rec.stored_name}", f.pdf_bytes())
        url = f"/beijing/oversight/supervision/{drawn['session']}/files/{rec.id}"
    login("beijing", "hr-hd")
    resp = client.get(url)
    assert resp.status_code == 200 and resp.data.startswith(b"%PDF")
    client.post("/beijing/logout")
    login("beijing", "hr-cy")
    assert client.get(url).status_code == 404


@pytest.fixture
def filled(app):
    """Beijing files at the engineering agency: one checked, one returned with reasons, an
    objection, a re-check-free world, complaints of both kinds."""
    with app.app_context():
        apps, _ = recommended(3)
        agency = f.make_user("beijing", "ag", "agency_clerk", "bj-agency-eng")
        f.make_user("beijing", "hr-city", "hr_officer", "bj-hr")
        f.make_user("beijing", "hr-hd", "hr_officer", "bj-hr-haidian")
        with time_machine.travel(at(2026, 8, 10, 9), tick=False):
            transition(CFG(), apps[0], "agency_return", f.actor(agency),
                       items=[{"target": "papers", "text": "论文须附检索证明"}],
                       opinion="材料不全", due=date(2026, 8, 20))
            transition(CFG(), apps[1], "check_pass", f.actor(agency))
        db.session.add(Objection(tenant_id=apps[2].tenant_id, application_id=apps[2].id,
                                 kind="material", target="x", facts="x", evidence="x", lead="x",
                                 status="upheld"))
        db.session.commit()
        with time_machine.travel(at(2026, 9, 1, 10), tick=False):
            complaints.lodge(tenants()["beijing"], apps[0].tenant_id,
                             {**FULL, "agency": str(agency.org_id)})
            complaints.lodge(tenants()["beijing"], apps[0].tenant_id, {**FULL, "lead": "",
                                                                        "agency": str(agency.org_id)})
        return {"returned": apps[0].id, "agency": agency.org_id}


def _rows(html_table_title: str, page: str) -> str:
    start = page.index(html_table_title)
    return page[start:page.index("</section>", start)]


@pytest.mark.rule("AE-SUPERV-1")
def test_city_hr_sees_counts_by_stage_overdue_returns_objections_and_complaints(
        app, client, login, filled):
    with time_machine.travel(at(2026, 9, 21, 10), tick=False):
        login("beijing", "hr-hd")
        assert client.get("/beijing/oversight/").status_code == 403
        client.post("/beijing/logout")
        login("beijing", "hr-city")
        page = client.get("/beijing/oversight/?by=agency").get_data(as_text=True)
        stages = _rows("各环节申报数", page)
        assert "评审服务机构审核通过" in stages and "退回补正" in stages
        returns = _rows("退回及原因", page)
        assert "论文须附检索证明" in returns and "材料不全" in returns
        # past the correction day and the complaint's 7 working days
        # the recommended file still unchecked after the agency's close (17 Sep), the return
        # past its correction day, the complaint past its 7 working days
        assert re.search(r"<td[^>]*>工程技术系列职称评审服务机构</td>(<td[^>]*>1</td>){3}",
                         _rows("逾期事项", page))
        assert "2026-08-10 09:00" in returns
        assert re.search(r"<td[^>]*>1</td>", _rows("异议", page))
        by_county = client.get("/beijing/oversight/?by=county").get_data(as_text=True)
        assert "海淀区" in by_county
        listing = client.get("/beijing/oversight/complaints?status=refused").get_data(
            as_text=True)
        assert "不予受理：缺少可查证的线索。" in listing
        resp = client.get("/beijing/oversight/export/returns.xlsx?by=agency")
        assert resp.status_code == 200 and resp.mimetype == XLSX
        cells = [c for row in load_workbook(io.BytesIO(resp.data)).active.iter_rows(
            values_only=True) for c in row]
        assert any("论文须附检索证明" in str(c) for c in cells)
        resp = client.get("/beijing/oversight/export/complaints.xlsx?by=agency")
        rows = list(load_workbook(io.BytesIO(resp.data)).active.iter_rows(values_only=True))
        assert rows[-1][1:] == (1, 0, 1, 0, 0)   # total: one refused, one overdue
        assert client.get("/beijing/oversight/complaints.xlsx").mimetype == XLSX


@pytest.mark.rule("AE-SUPERV-1")
def test_the_audit_trail_of_a_file_and_its_export(app, client, login, filled):
    login("beijing", "hr-city")
    page = client.get(f"/beijing/oversight/files/{filled['returned']}").get_data(as_text=True)
    for step in ("提交申报", "开始单位公示", "推荐", "一次性告知补正", "投诉举报"):
        assert step in page
    resp = client.get(f"/beijing/oversight/files/{filled['returned']}/trail.xlsx")
    rows = list(load_workbook(io.BytesIO(resp.data)).active.iter_rows(values_only=True))
    assert rows[0][0] == "时间" and len(rows) >= 5
    with app.app_context():
        other_tenant = db.session.scalar(sa.select(Application.id).where(
            Application.tenant_id == f.tenant_id("chifeng")))
    if other_tenant:
        assert client.get(f"/beijing/oversight/files/{other_tenant}").status_code == 404


def _statements(app, client, url: str) -> int:
    count = [0]

    def seen(*_a, **_k):
        count[0] += 1
    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        assert client.get(url).status_code == 200
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)
    return count[0]


@pytest.mark.parametrize("by", ["agency", "committee", "county"])
def test_the_oversight_page_runs_the_same_number_of_queries_whatever_the_rows(
        app, client, login, filled, by):
    login("beijing", "hr-city")
    url = f"/beijing/oversight/?by={by}"
    before = _statements(app, client, url)
    with app.app_context():
        more, _ = recommended(3, employer="emp2", district="chaoyang")
        agency = f.make_user("beijing", "ag2", "agency_clerk", "bj-agency-eng")
        with time_machine.travel(at(2026, 8, 11, 9), tick=False):
            for a in more[:2]:
                transition(CFG(), a, "agency_return", f.actor(agency),
                           items=[{"target": "papers", "text": "缺检索证明"}],
                           due=date(2026, 8, 21))
        u = db.session.scalar(sa.select(User).filter_by(username="emp2-a2"))
        f.make_application("beijing", u, "bj-2026", "bj-econ", "economics", "intermediate")
    assert _statements(app, client, url) == before


@pytest.mark.rule("AE-SUPERV-1")
def test_the_supervision_page_runs_the_same_number_of_queries_whatever_the_panel(
        app, client, login, drawn):
    with app.app_context():
        db.session.add(SessionSupervisor(tenant_id=f.tenant_id("beijing"),
                                         session_id=drawn["session"], user_id=drawn["hd"]))
        db.session.commit()
    login("beijing", "hr-hd")
    url = f"/beijing/oversight/supervision/{drawn['session']}"
    small = _statements(app, client, url)
    with app.app_context():
        from app.models import ReviewSession
        agency = db.session.scalar(sa.select(User).filter_by(username="ag"))
        more, _ = recommended(3, employer="emp3", district="chaoyang")
        big = new_session(agency, more, size=9)
        transition(CFG(), big, "draw", f.actor(agency))
        db.session.add(SessionSupervisor(tenant_id=f.tenant_id("beijing"), session_id=big.id,
                                         user_id=drawn["hd"]))
        db.session.commit()
        assert len(db.session.get(ReviewSession, big.id).members) > 5
        big_id = big.id
    assert _statements(app, client, f"/beijing/oversight/supervision/{big_id}") == small


@pytest.mark.rule("AE-COMPLAIN-1")
def test_city_hr_lists_every_complaint_and_opens_its_evidence(app, client, login, filled):
    from app.models.oversight import Complaint
    with app.app_context():
        with time_machine.travel(at(2026, 9, 2, 10), tick=False):
            c = complaints.lodge(tenants()["beijing"], f.tenant_id("beijing"),
                                 {**FULL, "evidence": "", "kind": "material",
                                  "target": "申报人0", "employer": str(f.org("beijing", "emp").id)},
                                 ("证明.pdf", f.pdf_bytes()))
        assert db.session.get(Complaint, c.id).application_id == filled["returned"]
    login("beijing", "hr-city")
    page = client.get("/beijing/oversight/complaints").get_data(as_text=True)
    assert c.code in page and f"/beijing/complaints/{c.id}/evidence" in page
    assert f"/beijing/oversight/files/{filled['returned']}" in page
    resp = client.get(f"/beijing/complaints/{c.id}/evidence")
    assert resp.status_code == 200 and resp.data.startswith(b"%PDF")
