"""The agency's pages: check and return, committee filing, the pool, a session with its draw,
recordings and the sealed tally."""
import io
import re
from datetime import date

import pytest
import sqlalchemy as sa
import time_machine

from app.extensions import db
from app.models import Application, Committee, Expert, ReviewSession, SessionFile, User

from . import factories as f
from .conftest import at
from .test_review import CFG, pool_of, recommended


@pytest.fixture
def setup(app):
    with app.app_context():
        (a,), _ = recommended()
        f.make_user("beijing", "ag", "agency_clerk", "bj-agency-eng")
        f.make_user("beijing", "ag-other", "agency_clerk", "bj-agency-econ")
        return {"app": a.id, "applicant": a.applicant.username}


@pytest.mark.rule("BJ-WIN-3")
def test_agency_returns_through_the_page_and_sees_the_change(app, client, login, setup):
    with time_machine.travel(at(2026, 8, 10, 9), tick=False):
        login("beijing", "ag")
        assert "申报人0" in client.get("/beijing/agency/").get_data(as_text=True)
        url = f"/beijing/agency/applications/{setup['app']}"
        client.post(f"{url}/agency_return", data={
            "target-0": "papers", "text-0": "论文须附检索证明",
            "target-1": "material:current_title", "text-1": "缺现职称证书",
            "due": "2026-08-20"})
        with app.app_context():
            row = db.session.get(Application, setup["app"])
            assert (row.status, row.correction_due) == ("returned", date(2026, 8, 20))
        client.post("/beijing/logout")
        login("beijing", setup["applicant"])
        page = client.get(f"/beijing/me/applications/{setup['app']}").get_data(as_text=True)
        assert "论文须附检索证明" in page and "缺现职称证书" in page
        client.post(f"/beijing/me/applications/{setup['app']}/entries/papers",
                    data={"title": "补充的论文", "journal": "学报", "year": "2025"})
        client.post(f"/beijing/me/applications/{setup['app']}/submit", data={"pledge": "2026.1"})
        client.post("/beijing/logout")
        login("beijing", "clerk-emp")
        client.post(f"/beijing/office/applications/{setup['app']}/recommend",
                    data={"opinion": "已补正"})
        client.post("/beijing/logout")
        login("beijing", "ag")
        page = client.get(url).get_data(as_text=True)
        assert "退回后的变化" in page and "补充的论文" in page
        client.post(f"{url}/check_pass", data={"opinion": "齐全"})
        with app.app_context():
            assert db.session.get(Application, setup["app"]).status == "checked"


@pytest.mark.rule("BJ-WIN-3")
def test_corrected_file_is_recommended_again_and_a_second_return_is_held_to_the_first(
        app, client, login, setup):
    url = f"/beijing/agency/applications/{setup['app']}"
    office = f"/beijing/office/applications/{setup['app']}"
    with time_machine.travel(at(2026, 8, 10, 9), tick=False):
        login("beijing", "ag")
        client.post(f"{url}/agency_return", data={
            "target-0": "papers", "text-0": "论文须附检索证明",
            "target-1": "material:current_title", "text-1": "缺现职称证书",
            "due": "2026-08-20"})
        client.post("/beijing/logout")
        login("beijing", setup["applicant"])  # corrects the papers only
        client.post(f"/beijing/me/applications/{setup['app']}/entries/papers",
                    data={"title": "补充的论文", "journal": "学报", "year": "2025"})
        client.post(f"/beijing/me/applications/{setup['app']}/submit", data={"pledge": "2026.1"})
        client.post("/beijing/logout")
        login("beijing", "clerk-emp")
        page = client.get(office).get_data(as_text=True)
        assert "再次推荐" in page and "无需再次公示" in page
        assert "开始公示" not in page and "公示期满，公示期间无异议" not in page
        client.post(f"{office}/recommend", data={"opinion": "已补正，同意推荐"})
        with app.app_context():
            assert db.session.get(Application, setup["app"]).status == "recommended"
        client.post("/beijing/logout")
        login("beijing", "ag")
        page = client.get(url).get_data(as_text=True)
        offered = re.search(r'<div id="second-return">(.*?)</div>', page, re.S).group(1)
        # Still missing from the first list, and what the correction changed; nothing else.
        assert re.search(r"现职称证书[^<]*（上次告知，未补正）", offered)
        assert re.search(r"论文著作（补正时改动）", offered)
        assert "工作经历" not in offered and "基本信息" not in offered
        select = re.search(r'<select name="target-0"[^>]*>(.*?)</select>', page, re.S).group(1)
        assert sorted(re.findall(r'value="([^"]+)"', select)) == ["material:current_title",
                                                                "papers"]
        refused = client.post(f"{url}/agency_return", data={
            "target-0": "work", "text-0": "工作经历须写明起止年月", "due": "2026-08-25"},
            follow_redirects=True).get_data(as_text=True)
        assert "已于上次退回时一次性告知" in refused and "工作经历须写明起止年月" in refused
        with app.app_context():
            assert db.session.get(Application, setup["app"]).status == "recommended"
        client.post(f"{url}/agency_return", data={
            "target-0": "material:current_title", "text-0": "仍缺现职称证书",
            "due": "2026-08-25"})
        with app.app_context():
            row = db.session.get(Application, setup["app"])
            assert (row.status, row.correction_due) == ("returned", date(2026, 8, 25))


def test_another_agency_gets_404(client, login, setup):
    login("beijing", "ag-other")
    assert client.get(f"/beijing/agency/applications/{setup['app']}").status_code == 404
    assert client.post(f"/beijing/agency/applications/{setup['app']}/check_pass").status_code == 404


@pytest.mark.rule("AE-COMM-1", "AE-EXP-1")
def test_filing_and_pool_through_the_pages(app, client, login, setup):
    login("beijing", "ag")
    r = client.post("/beijing/agency/experts", data={
        "name": "钱学", "gender": "male", "birth_date": "1972-03-01", "title_level": "senior",
        "title_year": "2012", "series": "engineering", "specialty": "", "employer_org_id": 0,
        "employer_name": "某研究院", "role": "chair", "entry_route": "invited",
        "recommended_by_org_id": 0, "term_start": "2026-01-01", "terms": 1,
        "username": "13600000001"}, follow_redirects=True)
    body = r.get_data(as_text=True)
    assert "初始密码" in body and "钱学" in body
    with app.app_context():
        e = db.session.scalar(sa.select(Expert).filter_by(name="钱学"))
        assert db.session.get(User, e.user_id).role == "expert"
        c_id = f.committee("beijing", "bj-eng").id
    bad = client.post(f"/beijing/agency/committees/{c_id}/file", data={
        "filed_on": "2026-01-01", "valid_until": "2030-01-01", "scope": "x",
        "standard": "业绩|60", "procedure": "y", "roster": [e.id]}).get_data(as_text=True)
    assert "不超过3年" in bad
    client.post(f"/beijing/agency/committees/{c_id}/file", data={
        "filed_on": "2026-01-01", "valid_until": "2028-12-31", "scope": "本市工程技术人员",
        "standard": "业绩成果|60\n答辩|40", "procedure": "评审、表决", "roster": [e.id]})
    with app.app_context():
        assert db.session.get(Committee, c_id).roster == [e.id]
    assert "2028-12-31" in client.get("/beijing/agency/committees").get_data(as_text=True)


@pytest.mark.rule("CF-EXP-1", "AE-DUTY-1")
def test_session_draw_and_recordings_through_the_pages(app, client, login, setup):
    with app.app_context():
        f.file_committee("beijing", "bj-eng")
        pool_of(8)
        from app.workflow.transitions import transition
        from app.models import Application as A
        agency = db.session.scalar(sa.select(User).filter_by(username="ag"))
        with time_machine.travel(at(2026, 8, 1, 9), tick=False):
            a = db.session.get(A, setup["app"])
            transition(CFG(), a, "check_pass", f.actor(agency))
            transition(CFG(), a, "confirm_payment", f.actor(agency), reference="B-1")
        ids = {"committee": f.committee("beijing", "bj-eng").id,
               "plan": f.plan("beijing", "bj-2026").id}
    login("beijing", "ag")
    r = client.post("/beijing/agency/sessions", data={
        "committee": ids["committee"], "plan": ids["plan"], "series": "engineering",
        "level": "senior", "panel_size": 5, "held_on": "2026-11-20"})
    assert r.status_code == 303
    url = r.location
    client.post(f"{url}/add", data={"app": setup["app"]})
    client.post(f"{url}/draw")
    page = client.get(url).get_data(as_text=True)
    assert "A001" in page and "结果一致" in page
    mp4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 2048
    client.post(f"{url}/upload", data={"kind": "recording", "file": (io.BytesIO(mp4), "会议.mp4")},
                content_type="multipart/form-data")
    bad = client.post(f"{url}/upload", data={"kind": "recording",
                                            "file": (io.BytesIO(b"not a video"), "x.mp4")},
                      content_type="multipart/form-data", follow_redirects=True)
    assert "文件类型不符" in bad.get_data(as_text=True)
    with app.app_context():
        files = db.session.scalars(sa.select(SessionFile)).all()
        assert [(x.kind, x.mime) for x in files] == [("recording", "video/mp4")]
        sid = db.session.scalar(sa.select(ReviewSession.id))
    dl = client.get(f"/beijing/agency/sessions/{sid}/files/{files[0].id}")
    assert dl.status_code == 200 and dl.data == mp4
    assert re.search(r"会议\.mp4", client.get(url).get_data(as_text=True))


@pytest.mark.rule("AE-RECUSE-1")
def test_conflict_declared_after_the_draw_is_shown_to_the_agency(app, client, login, setup):
    with app.app_context():
        f.file_committee("beijing", "bj-eng")
        pool_of(7)
        from app.models import Application as A
        from app.workflow import sessions as svc
        from app.workflow.transitions import transition
        agency = db.session.scalar(sa.select(User).filter_by(username="ag"))
        a = db.session.get(A, setup["app"])
        with time_machine.travel(at(2026, 8, 1, 9), tick=False):
            transition(CFG(), a, "check_pass", f.actor(agency))
            transition(CFG(), a, "confirm_payment", f.actor(agency), reference="B-1")
        s = svc.create_session(CFG(), f.actor(agency), committee_id=a.committee_id,
                               plan_id=a.plan_id, series="engineering", level="senior",
                               specialties=[], panel_size=5, held_on=date(2026, 11, 20))
        svc.add_files(f.actor(agency), s, [a.id])
        transition(CFG(), s, "draw", f.actor(agency))
        on_panel = next(m.expert.name for m in s.members if m.role != "chair")
        svc.declare_conflict(f.actor(a.applicant), on_panel, "dispute", "")
        sid = s.id
    login("beijing", "ag")
    page = client.get(f"/beijing/agency/sessions/{sid}").get_data(as_text=True)
    assert "存在回避情形" in page and on_panel in page and "申报存在纠纷" in page


@pytest.mark.rule("CF-PLAN-2")
def test_agency_files_the_implementation_plan_from_the_session_page(app, client, login):
    from .test_review import chifeng_session
    with app.app_context():
        s = chifeng_session()[1]  # meets on 15 Sep 2026: filed by 8 Sep
        url = f"/chifeng/agency/sessions/{s.id}"
    with time_machine.travel(at(2026, 9, 8, 16), tick=False):
        login("chifeng", "cf-ag")
        page = client.get(url).get_data(as_text=True)
        assert "尚未备案" in page and "最迟2026-09-08" in page
        assert client.post(f"{url}/file_plan").status_code == 303
        assert "已于2026-09-08 16:00备案" in client.get(url).get_data(as_text=True)
    with time_machine.travel(at(2026, 9, 9, 9), tick=False):
        login("chifeng", "cf-ag")
        client.post(f"{url}/file_plan")
        page = client.get(url).get_data(as_text=True)
        assert "已不能备案" in page and "已于2026-09-08 16:00备案" in page


def test_filing_page_shows_the_standard_as_lines_and_a_post_without_it_is_no_error(
        app, client, login, setup):
    """The stored criteria are offered as "名称|满分" lines, not as a Python list; a POST that
    leaves the field out is answered with the form, never a server error."""
    with app.app_context():
        c_id = f.file_committee("beijing", "bj-eng").id
    login("beijing", "ag")
    url = f"/beijing/agency/committees/{c_id}/file"
    page = client.get(url).get_data(as_text=True)
    assert "业绩成果|60\n答辩|40" in page and "&#39;max&#39;" not in page
    resp = client.post(url, data={"filed_on": "2026-01-01", "valid_until": "2028-12-31"})
    assert resp.status_code == 200
