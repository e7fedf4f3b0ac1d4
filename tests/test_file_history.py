"""A file's whole history on the office's page and the agency's check page
(app/workflow/history.py, templates/office/_history.html)."""
import re

import pytest
import sqlalchemy as sa
import time_machine

from app.extensions import db
from app.models import Application, Entry
from app.tenancy import tenants
from app.workflow import history, queries
from app.workflow.transitions import transition

from . import factories as f
from .conftest import at
from .test_review import recommended

CFG = lambda: tenants()["beijing"]  # noqa: E731


def _history(page: str) -> str:
    return re.search(r'<section class="box" id="history">(.*?)</section>', page, re.S).group(1)


def _items(section: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", li).strip()
            for li in re.findall(r"<li[^>]*>(.*?)(?=<li|</ol>\s*</li>|$)", section, re.S)]


@pytest.fixture
def corrected_twice(app):
    """A Beijing file returned by its employer (work history), corrected, recommended, returned
    by the agency (papers, the current title's certificate), corrected again and recommended
    again."""
    with app.app_context():
        (a,), clerk = recommended()  # submitted 8 Jul, notice, recommended 20 Jul
        agency = f.make_user("beijing", "ag", "agency_clerk", "bj-agency-eng")
        u = a.applicant
        with time_machine.travel(at(2026, 7, 21, 9), tick=False):
            transition(CFG(), a, "agency_return", f.actor(agency), opinion="材料不全",
                       items=[{"target": "papers", "text": "论文须附检索证明"},
                              {"target": "material:current_title", "text": "缺现职称证书"}])
        with time_machine.travel(at(2026, 7, 22, 9), tick=False):
            db.session.add(Entry(application_id=a.id, section="papers",
                                 data={"title": "补充的论文", "journal": "学报", "year": "2025"}))
            a.basic = {**a.basic, "current_title": "工程师"}
            db.session.commit()
            transition(CFG(), a, "resubmit", f.actor(u), pledge=f.PLEDGE)
        with time_machine.travel(at(2026, 7, 23, 9), tick=False):
            transition(CFG(), a, "recommend", f.actor(clerk), opinion="已补正，同意推荐")
        return {"app": a.id, "applicant": u.username}


def test_agency_and_employer_see_the_return_its_items_and_what_the_correction_changed(
        app, client, login, corrected_twice):
    url = f"/beijing/agency/applications/{corrected_twice['app']}"
    with time_machine.travel(at(2026, 7, 24, 9), tick=False):
        login("beijing", "ag")
        section = _history(client.get(url).get_data(as_text=True))
        client.post("/beijing/logout")
        login("beijing", "clerk-emp")
        office = _history(client.get(
            f"/beijing/office/applications/{corrected_twice['app']}").get_data(as_text=True))
    assert section == office  # one partial, the same history on both pages
    text = re.sub(r"<[^>]+>", " ", section)
    text = re.sub(r"\s+", " ", text)
    # In order: submitted, the notice, recommended, the agency's return with every item, the
    # applicant's correction with what changed, recommended again.
    order = ["提交申报", "开始单位公示", "推荐", "一次性告知补正", "论文须附检索证明",
             "缺现职称证书", "补正后重新提交", "补正2026-07-21的退回", "基本信息已修改：现职称（如有）",
             "新增 · 论文著作：补充的论文", "已补正，同意推荐"]
    positions = [text.find(s) for s in order]
    assert all(p >= 0 for p in positions), list(zip(order, positions))
    assert positions == sorted(positions), list(zip(order, positions))
    assert "材料不全" in text
    # Who and for which office: the employer's clerk for its unit, the agency's clerk for it.
    assert "clerk-emp" in text and " ag " in text


def test_an_employer_return_records_what_the_file_was_and_the_correction_is_shown(
        app, client, login):
    with app.app_context():
        f.make_employer("beijing", "emp", "haidian", name="海淀精密机械厂")
        clerk = f.make_user("beijing", "clerk", "employer_clerk", "emp")
        u = f.make_user("beijing", "a1", "applicant", "emp", name="王芳")
        a = f.make_application("beijing", u, "bj-2026", "bj-eng", "engineering", "senior",
                               "mechanical")
        with time_machine.travel(at(2026, 7, 8, 9), tick=False):
            transition(CFG(), a, "submit", f.actor(u), pledge=f.PLEDGE)
            transition(CFG(), a, "return", f.actor(clerk), opinion="请补充",
                       items=[{"target": "work", "text": "工作经历须写明起止年月"}])
        with time_machine.travel(at(2026, 7, 9, 9), tick=False):
            work = db.session.scalar(sa.select(Entry).filter_by(application_id=a.id,
                                                                section="work"))
            db.session.delete(work)
            db.session.add(Entry(application_id=a.id, section="work",
                                 data={"org_name": "海淀精密机械厂", "position": "工程师",
                                       "start": "2007-08-01", "end": "2026-06-30"}))
            db.session.commit()
            transition(CFG(), a, "resubmit", f.actor(u), pledge=f.PLEDGE)
        app_id = a.id
    with time_machine.travel(at(2026, 7, 10, 9), tick=False):
        login("beijing", "clerk")
        section = _history(client.get(f"/beijing/office/applications/{app_id}")
                           .get_data(as_text=True))
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", section))
    assert "退回补正" in text and "工作经历须写明起止年月" in text and "请补充" in text
    assert "补正2026-07-08的退回" in text
    assert "新增 · 工作经历：海淀精密机械厂" in text and "删除 · 工作经历：单位" in text
    assert text.index("工作经历须写明起止年月") < text.index("补正后重新提交")


def test_history_is_two_queries_whatever_its_length(app, corrected_twice):
    seen = []
    with app.app_context():
        engine = db.engine
        a = db.session.get(Application, corrected_twice["app"])
        app_ = queries.office_application(a.tenant_id, a.holder_org_id, a.id)
        listener = lambda *args, **k: seen.append(args[2])  # noqa: E731
        with app.test_request_context():
            sa.event.listen(engine, "before_cursor_execute", listener)
            try:
                events = history.of(app_)
            finally:
                sa.event.remove(engine, "before_cursor_execute", listener)
        assert len(seen) == 2, seen
        actions = [e.action for e in events]
        assert actions == ["submit", "start_notice", "recommend", "agency_return", "resubmit",
                           "recommend"]
        correction = events[4]
        assert correction.answers is events[3]
        assert [d["title"] for s, d in correction.changes["added"]] == ["补充的论文"]
