"""Acceptance, public notice, objections and re-checks."""
from datetime import date

import pytest
import sqlalchemy as sa
import time_machine

from app.extensions import db
from app.models import Application, Org, Status, User
from app.models.results import Objection, Publication, PublicationFile
from app.tenancy import tenants
from app.workflow import results, sessions
from app.workflow.errors import Conflict, Forbidden, Invalid, WindowClosed
from app.workflow.transitions import transition

from . import factories as f
from .conftest import at
from .test_review import CFG, VOTE_DAY, chair_and_present, chifeng_session, drawn_session

EVIDENCE = {"kind": "material", "complainant": "王某", "contact": "13000000000",
            "target": "申报人0", "facts": "论文为他人代写", "evidence": "原作者的投稿记录",
            "lead": "可向某期刊编辑部核实"}


@pytest.fixture
def closed(ctx):
    """A closed Beijing senior session: A001 passed, A002 failed; the agency and city HR."""
    agency = f.make_user("beijing", "ag", "agency_clerk", "bj-agency-eng")
    hr = f.make_user("beijing", "city-hr", "hr_officer", "bj-hr")
    s, apps, chair = drawn_session(agency, 2, 5)
    active = [m for m in s.members if m.status == "active"]
    transition(CFG(), s, "open_voting", f.actor(chair.expert.user), present=[m.id for m in active],
               now=VOTE_DAY)
    first = s.items[0]
    for m in active:
        sessions.cast_ballot(f.actor(m.expert.user), s,
                             {i.id: "yes" if i is first else "no" for i in s.items})
    transition(CFG(), s, "close", f.actor(chair.expert.user))
    return {"s": s, "agency": agency, "hr": hr, "passed": first.application, "apps": apps}


def accept(c, when=at(2026, 11, 23, 10)):
    with time_machine.travel(when, tick=False):
        pub = results.request_acceptance(CFG(), f.actor(c["agency"]), c["s"], "评审情况报告")
        transition(CFG(), pub, "accept", f.actor(c["hr"]), opinion="验收通过")
    return pub


@pytest.mark.rule("BJ-ACC-1")
def test_results_are_accepted_then_publicised_for_five_working_days(closed):
    with time_machine.travel(at(2026, 11, 23, 10), tick=False):
        with pytest.raises(Invalid):  # a report is required
            results.request_acceptance(CFG(), f.actor(closed["agency"]), closed["s"], " ")
        pub = results.request_acceptance(CFG(), f.actor(closed["agency"]), closed["s"], "报告")
        assert pub.status == "requested" and pub.starts_on is None
        with pytest.raises(Forbidden):  # only the city HR bureau accepts
            transition(CFG(), pub, "accept", f.actor(closed["agency"]))
        with pytest.raises(Invalid):
            transition(CFG(), pub, "send_back", f.actor(closed["hr"]), opinion="")
        transition(CFG(), pub, "send_back", f.actor(closed["hr"]), opinion="缺评委会承诺书")
        assert pub.status == "sent_back" and pub.decision_note == "缺评委会承诺书"
        results.request_acceptance(CFG(), f.actor(closed["agency"]), closed["s"], "补充承诺书")
        transition(CFG(), pub, "accept", f.actor(closed["hr"]), opinion="验收通过")
    # Accepted Mon 23 Nov: 24, 25, 26, 27, 30 Nov → the notice runs to Monday 30 November.
    assert (pub.status, pub.starts_on, pub.ends_on) == ("accepted", date(2026, 11, 23),
                                                         date(2026, 11, 30))


@pytest.mark.rule("BJ23-PUB-1")
def test_senior_results_on_the_city_hr_page_others_on_the_agency_page(closed):
    pub = accept(closed)
    assert pub.publisher_org_id == f.org("beijing", "bj-hr").id  # senior
    rows = results.notice_rows(pub)
    assert [r["name"] for r in rows] == [closed["passed"].applicant.name]  # passed only
    assert set(rows[0]) == {"application_id", "code", "name", "employer", "series", "specialty",
                            "level"}  # no ID number, phone or birth date
    closed["s"].level = "intermediate"
    assert results._publisher(CFG(), closed["s"]).id == f.org("beijing", "bj-agency-eng").id


@pytest.mark.rule("BJ23-OBJ-1")
@pytest.mark.parametrize("missing", ["evidence", "lead", "target", "facts"])
def test_objection_without_evidence_lead_target_or_facts_is_refused_with_the_reason(closed,
                                                                                   missing):
    pub = accept(closed)
    with time_machine.travel(at(2026, 11, 25, 10), tick=False):
        obj = results.lodge_objection(CFG(), pub.tenant_id, pub, closed["passed"].id,
                                      {**EVIDENCE, missing: ""})
    assert obj.status == "refused" and "不予受理" in obj.refusal_reason
    label = {"evidence": "证据", "lead": "线索", "target": "举报对象", "facts": "违规事实"}[missing]
    assert label in obj.refusal_reason
    assert closed["passed"].id in results.certifiable_ids(pub.tenant_id, date(2026, 12, 1))


def test_an_objection_longer_than_its_columns_is_refused_with_the_field_named(closed):
    pub = accept(closed)
    with time_machine.travel(at(2026, 11, 25, 10), tick=False):
        with pytest.raises(Invalid) as refused:
            results.lodge_objection(CFG(), pub.tenant_id, pub, closed["passed"].id,
                                    {**EVIDENCE, "contact": "1" * 61, "target": "某" * 201})
    assert "联系方式" in str(refused.value.message)
    assert "举报对象" in str(refused.value.problems[0])
    assert db.session.scalar(sa.select(sa.func.count(Objection.id))) == 0


@pytest.mark.rule("BJ23-OBJ-1", "CF-OBJ-1")
def test_objections_outside_the_notice_are_not_taken(closed):
    pub = accept(closed)
    with time_machine.travel(at(2026, 12, 1, 0, 0, 1), tick=False):
        with pytest.raises(Invalid):
            results.lodge_objection(CFG(), pub.tenant_id, pub, closed["passed"].id, EVIDENCE)


@pytest.mark.rule("CF-OBJ-1")
@pytest.mark.parametrize("kind,office", [("review", "bj-agency-eng"), ("material", "emp")])
def test_accepted_objection_goes_to_the_right_office_and_holds_the_certificate(closed, kind,
                                                                               office):
    pub = accept(closed)
    app = closed["passed"]
    with time_machine.travel(at(2026, 11, 25, 10), tick=False):
        obj = results.lodge_objection(CFG(), pub.tenant_id, pub, app.id, {**EVIDENCE, "kind": kind})
    assert obj.status == "open" and obj.routed_org_id == f.org("beijing", office).id
    assert results.certifiable_ids(pub.tenant_id, date(2026, 12, 1)) == []  # held
    resolver = f.make_user("beijing", "resolver", "agency_clerk" if kind == "review"
                           else "employer_clerk", office)
    other = f.make_user("beijing", "other-hr", "hr_officer", "bj-hr-chaoyang")
    with pytest.raises(Forbidden):
        transition(CFG(), obj, "reject", f.actor(other), opinion="x")
    transition(CFG(), obj, "reject", f.actor(resolver), opinion="经核查，论文系本人完成")
    assert results.certifiable_ids(pub.tenant_id, date(2026, 12, 1)) == [app.id]


@pytest.mark.rule("CF-OBJ-1")
def test_upheld_objection_annuls_the_result(closed):
    pub = accept(closed)
    app = closed["passed"]
    with time_machine.travel(at(2026, 11, 25, 10), tick=False):
        obj = results.lodge_objection(CFG(), pub.tenant_id, pub, app.id, EVIDENCE)
    clerk = f.make_user("beijing", "resolver", "employer_clerk", "emp")
    transition(CFG(), obj, "uphold", f.actor(clerk), opinion="经核查，论文确系他人代写")
    assert db.session.get(Application, app.id).status == Status.annulled.value
    assert results.certifiable_ids(pub.tenant_id, date(2026, 12, 1)) == []


def test_notice_not_ended_is_not_certifiable(closed):
    pub = accept(closed)
    assert results.certifiable_ids(pub.tenant_id, date(2026, 11, 30)) == []
    assert results.certifiable_ids(pub.tenant_id, date(2026, 12, 1)) == [closed["passed"].id]


@pytest.mark.rule("AE-RECHECK-1")
def test_recheck_is_answered_from_the_sealed_tally(closed):
    failed = next(i.application for i in closed["s"].items if i.result == "failed")
    with pytest.raises(Forbidden):
        results.request_recheck(f.actor(closed["passed"].applicant), failed, "计票有误")
    r = results.request_recheck(f.actor(failed.applicant), failed, "我认为计票有误")
    assert results.rechecks_for_agency(f.actor(closed["agency"])) == [r]
    results.answer_recheck(f.actor(closed["agency"]), r)
    assert r.tally_matches is True
    assert "实到5人" in r.answer and "同意0票" in r.answer and "无漏计、错计" in r.answer


def closed_chifeng_session(held_on: date):
    """A closed Chifeng 中级 engineering session of the city committee and its agency clerk."""
    from app.models import ReviewSession
    ag = f.make_user("chifeng", "cf-ag", "agency_clerk", "cf-agency-city")
    c = f.committee("chifeng", "cf-eng")
    s = ReviewSession(tenant_id=c.tenant_id, committee_id=c.id,
                      plan_id=f.plan("chifeng", "cf-2026-intermediate").id, series="engineering",
                      level="intermediate", panel_size=5, held_on=held_on,
                      status="closed", tally={"attending": 5, "voted": 5, "items": {}})
    db.session.add(s)
    db.session.commit()
    return s, ag


def chifeng_closed_with_a_pass():
    """The Chifeng 中级 session of test_review.chifeng_session (15 Sep 2026), voted and closed:
    its one file passed. (cfg, session, agency clerk, file)."""
    cfg, s, ag, a = chifeng_session()
    with time_machine.travel(at(2026, 9, 1, 9), tick=False):
        transition(cfg, s, "file_plan", f.actor(ag))
    chair, present = chair_and_present(s)
    with time_machine.travel(at(2026, 9, 15, 9), tick=False):
        transition(cfg, s, "open_voting", f.actor(chair.expert.user), present=present)
        for m in s.members:
            if m.id in present:
                sessions.cast_ballot(f.actor(m.expert.user), s, {s.items[0].id: "yes"})
        transition(cfg, s, "close", f.actor(chair.expert.user))
    return cfg, s, ag, a


def upload_all(cfg, ag, pub, but=()):
    for kind in ("approval_report", "publicity_record", "passed_roster", "committee_pledge"):
        if kind not in but:
            results.add_document(cfg, f.actor(ag), pub, kind, f"{kind}.pdf", f.pdf_bytes())


@pytest.mark.rule("CF-WIN-3")
def test_chifeng_notice_must_end_by_the_review_close(ctx):
    cfg = tenants()["chifeng"]
    assert cfg.policies.result_order == "notice_then_confirm"
    s, ag = closed_chifeng_session(date(2026, 10, 20))
    # Opened Mon 26 Oct, 5 working days run to Mon 2 Nov: after the 30 Oct close.
    with time_machine.travel(at(2026, 10, 26, 9), tick=False):
        with pytest.raises(Invalid) as refused:
            results.publicise(cfg, f.actor(ag), s)
    assert str(refused.value.message) == (
        "公示期至2026年11月2日 24:00止，晚于评审和公示截止日2026年10月30日，不能公示。"
        "5个工作日的公示最迟须于2026年10月25日开始。")
    pub = db.session.scalar(sa.select(Publication))
    assert pub.status == "none" and pub.starts_on is None  # nothing half-saved
    with time_machine.travel(at(2026, 10, 31, 0, 0, 0), tick=False):  # the window itself closed
        with pytest.raises(WindowClosed, match="2026-10-30 24:00截止"):
            results.publicise(cfg, f.actor(ag), s)
    # Opened Fri 23 Oct: 26–30 Oct, ending on the close itself.
    with time_machine.travel(at(2026, 10, 23, 9), tick=False):
        pub = results.publicise(cfg, f.actor(ag), s)
    assert (pub.status, pub.starts_on, pub.ends_on) == ("noticed", date(2026, 10, 23),
                                                         date(2026, 10, 30))
    assert pub.publisher_org_id == f.org("chifeng", "cf-agency-city").id
    with pytest.raises(Forbidden):  # only the committee office reports (or files) its results
        transition(cfg, pub, "report", f.actor(f.make_user("chifeng", "x", "hr_officer", "cf-hr")),
                   report="x")


def test_chifeng_notice_in_english_names_the_dates(app):
    from flask_babel import force_locale
    with app.test_request_context():
        cfg = tenants()["chifeng"]
        s, ag = closed_chifeng_session(date(2026, 10, 20))
        with force_locale("en"), time_machine.travel(at(2026, 10, 26, 9), tick=False):
            with pytest.raises(Invalid) as refused:
                results.publicise(cfg, f.actor(ag), s)
            text = str(refused.value.message)
    assert "November 2, 2026" in text and "October 30, 2026" in text


@pytest.mark.rule("CF-RESULT-1", "CF-RESULT-2")
def test_chifeng_intermediate_results_publicised_then_filed_with_all_four_documents(ctx):
    cfg, s, ag, a = chifeng_closed_with_a_pass()
    with time_machine.travel(at(2026, 9, 16, 9), tick=False):  # Wed; Sun 20 Sep is a workday
        pub = results.publicise(cfg, f.actor(ag), s)
    assert pub.ends_on == date(2026, 9, 22)
    assert [p.id for p in results.notices(pub.tenant_id, None, date(2026, 9, 17))] == [pub.id]
    with time_machine.travel(at(2026, 9, 17, 10), tick=False):
        obj = results.lodge_objection(cfg, pub.tenant_id, pub, a.id, EVIDENCE)
        with pytest.raises(Invalid, match="公示期满后方可报送"):
            results.report_results(cfg, f.actor(ag), s, "公示无异议")
    assert obj.status == "open"
    with time_machine.travel(at(2026, 9, 23, 9), tick=False):
        with pytest.raises(Invalid) as e:
            results.add_document(cfg, f.actor(ag), pub, "approval_report", "x.pdf", b"not a pdf")
        assert "PDF、JPEG或PNG" in str(e.value.message)  # the upload checks apply
        upload_all(cfg, ag, pub, but=("committee_pledge",))
        with pytest.raises(Invalid) as e:
            results.report_results(cfg, f.actor(ag), s, "公示期间收到举报一件")
        problems = [str(e.value.message)] + [str(p) for p in e.value.problems]
        assert problems == ["公示期间受理的异议尚有1件未办结，须核查处理后一并报送处理结果。",
                            "缺少评委会书面承诺书。"]
        assert db.session.get(Publication, pub.id).status == "noticed"
        office = obj.routed_to  # whoever the objection was routed to looks into it
        role = {"employer": "employer_clerk", "hr_bureau": "hr_officer",
                "department": "department_clerk"}.get(office.kind, "agency_clerk")
        checker = f.make_user("chifeng", "cf-checker", role, office.code)
        transition(cfg, obj, "reject", f.actor(checker), opinion="经核查，论文系本人完成")
        results.add_document(cfg, f.actor(ag), pub, "committee_pledge", "承诺书.pdf", f.pdf_bytes())
        results.report_results(cfg, f.actor(ag), s, "公示期间收到举报一件，经核查不属实")
    # 中级: filed by the committee office itself, confirmed the day it is reported.
    assert (pub.status, pub.reported_on, pub.confirmed_on) == ("accepted", date(2026, 9, 23),
                                                                date(2026, 9, 23))
    assert results.days_late(cfg, pub) == 0
    assert sorted(x.kind for x in pub.files) == ["approval_report", "committee_pledge",
                                                 "passed_roster", "publicity_record"]
    assert [o.resolution for o in results.notice_objections(pub)] == ["经核查，论文系本人完成"]
    assert results.certifiable_ids(pub.tenant_id, date(2026, 9, 23)) == []
    assert results.certifiable_ids(pub.tenant_id, date(2026, 9, 24)) == [a.id]
    from app.workflow.certificates import issue_batch
    from app.models.certificates import Certificate
    issue_batch(pub.tenant_id, date(2026, 9, 24))
    cert = db.session.scalar(sa.select(Certificate).filter_by(application_id=a.id))
    assert cert is not None and db.session.get(Application, a.id).status == "certified"


@pytest.mark.rule("CF-RESULT-1")
def test_chifeng_results_reported_after_a_month_are_taken_and_marked_late(ctx):
    cfg, s, ag, a = chifeng_closed_with_a_pass()
    with time_machine.travel(at(2026, 9, 16, 9), tick=False):
        pub = results.publicise(cfg, f.actor(ag), s)
    assert results.report_due(cfg, s) == date(2026, 10, 15)
    with time_machine.travel(at(2026, 10, 17, 9), tick=False):  # 32 days after the review
        assert results.days_late(cfg, pub) == 2  # shown while still unreported
        upload_all(cfg, ag, pub)
        results.report_results(cfg, f.actor(ag), s, "公示无异议")
    assert pub.status == "accepted" and results.days_late(cfg, pub) == 2
    assert results.certifiable_ids(pub.tenant_id, date(2026, 10, 18)) == [a.id]


@pytest.mark.rule("CF-RESULT-2")
def test_chifeng_directed_senior_results_are_confirmed_by_city_hr(ctx):
    from app.models import ReviewSession
    cfg = tenants()["chifeng"]
    ag = f.make_user("chifeng", "cf-ag", "agency_clerk", "cf-agency-city")
    hr = f.make_user("chifeng", "cf-city-hr", "hr_officer", "cf-hr")
    county_hr = f.make_user("chifeng", "cf-county-hr", "hr_officer", "cf-hr-songshan")
    s = ReviewSession(tenant_id=f.tenant_id("chifeng"), committee_id=f.committee("chifeng", "cf-eng").id,
                      plan_id=f.plan("chifeng", "cf-2026-directed").id, series="engineering",
                      level="associate_senior", panel_size=5, held_on=date(2026, 9, 15),
                      status="closed", tally={"attending": 5, "voted": 5, "items": {}})
    db.session.add(s)
    db.session.commit()
    assert not results.self_filed(cfg, s)
    with time_machine.travel(at(2026, 9, 16, 9), tick=False):
        pub = results.publicise(cfg, f.actor(ag), s)
    with time_machine.travel(at(2026, 9, 24, 9), tick=False):
        upload_all(cfg, ag, pub)
        results.report_results(cfg, f.actor(ag), s, "公示无异议")
        assert pub.status == "requested" and pub.confirmed_on is None
        assert results.pending_acceptance(pub.tenant_id) == [pub]
        with pytest.raises(Forbidden):  # a senior result is not filed by the office
            transition(cfg, pub, "file", f.actor(ag))
        with pytest.raises(Forbidden):  # nor confirmed by a county bureau
            transition(cfg, pub, "accept", f.actor(county_hr))
        transition(cfg, pub, "send_back", f.actor(hr), opinion="承诺书未签字")
        with pytest.raises(Conflict):
            transition(cfg, pub, "accept", f.actor(hr))  # nothing to confirm now
    with time_machine.travel(at(2026, 9, 25, 9), tick=False):
        results.add_document(cfg, f.actor(ag), pub, "committee_pledge", "签字承诺书.pdf",
                             f.pdf_bytes())
        results.report_results(cfg, f.actor(ag), s, "补正承诺书")
    with time_machine.travel(at(2026, 9, 28, 9), tick=False):
        transition(cfg, pub, "accept", f.actor(hr), opinion="确认")
    # Confirming does not open a second notice: it ran 16–22 Sep.
    assert (pub.status, pub.starts_on, pub.ends_on, pub.confirmed_on) == (
        "accepted", date(2026, 9, 16), date(2026, 9, 22), date(2026, 9, 28))
    assert [x.filename for x in pub.files if x.kind == "committee_pledge"] == ["签字承诺书.pdf"]


def _closed_and_accepted(app):
    with app.app_context():
        agency = f.make_user("beijing", "ag", "agency_clerk", "bj-agency-eng")
        hr = f.make_user("beijing", "city-hr", "hr_officer", "bj-hr")
        s, apps, chair = drawn_session(agency, 2, 5)
        active = [m for m in s.members if m.status == "active"]
        transition(CFG(), s, "open_voting", f.actor(chair.expert.user),
                   present=[m.id for m in active], now=VOTE_DAY)
        first = s.items[0]
        for m in active:
            sessions.cast_ballot(f.actor(m.expert.user), s,
                                 {i.id: "yes" if i is first else "no" for i in s.items})
        transition(CFG(), s, "close", f.actor(chair.expert.user))
        return {"session": s.id, "passed": first.application_id,
                "name": first.application.applicant.name,
                "failed_name": s.items[1].application.applicant.name, "hr": hr.username}


@pytest.mark.rule("BJ-ACC-1", "BJ23-PUB-1", "BJ23-OBJ-1")
def test_report_accept_publish_and_object_through_the_pages(app, client, login):
    ids = _closed_and_accepted(app)
    with time_machine.travel(at(2026, 11, 23, 10), tick=False):
        login("beijing", "ag")
        client.post(f"/beijing/results/sessions/{ids['session']}/report", data={"report": "报告"})
        client.post("/beijing/logout")
        login("beijing", ids["hr"])
        page = client.get("/beijing/results/acceptance").get_data(as_text=True)
        assert "验收通过并公示" in page
        with app.app_context():
            pub_id = db.session.scalar(sa.select(Publication.id))
        client.post(f"/beijing/results/publications/{pub_id}/accept", data={"opinion": "通过"})
        client.post("/beijing/logout")
    with time_machine.travel(at(2026, 11, 25, 10), tick=False):
        anon = app.test_client()  # the public notice needs no account
        page = anon.get("/beijing/results/").get_data(as_text=True)
        assert ids["name"] in page and ids["failed_name"] not in page
        assert "北京市人力资源和社会保障局" in page
        url = f"/beijing/results/notices/{pub_id}/objections/{ids['passed']}"
        r = anon.post(url, data={**EVIDENCE, "evidence": ""})
        assert "不予受理" in r.get_data(as_text=True) and "证据" in r.get_data(as_text=True)
        r = anon.post(url, data=EVIDENCE)
        assert r.status_code == 303
    with app.app_context():
        assert [o.status for o in db.session.scalars(
            sa.select(Objection).order_by(Objection.id))] == ["refused", "open"]


def test_objections_are_limited_per_source(app, client):
    app.config["OBJECTION_LIMIT"] = "2/hour"
    url = "/beijing/results/notices/999/objections/1"
    there, elsewhere = {"REMOTE_ADDR": "203.0.113.30"}, {"REMOTE_ADDR": "203.0.113.31"}
    assert [client.post(url, data=EVIDENCE, environ_base=there).status_code
            for _ in range(3)] == [404, 404, 429]
    assert client.post(url, data=EVIDENCE, environ_base=elsewhere).status_code == 404


@pytest.mark.rule("AE-RECHECK-1")
def test_recheck_through_the_pages(app, client, login):
    _closed_and_accepted(app)
    with app.app_context():
        failed = db.session.scalar(sa.select(Application).filter_by(status="failed"))
        username, app_id = failed.applicant.username, failed.id
    login("beijing", username)
    page = client.get("/beijing/results/mine").get_data(as_text=True)
    assert "提交复查申请" in page
    client.post("/beijing/results/mine", data={"application": app_id, "reason": "计票可能有误"})
    client.post("/beijing/logout")
    login("beijing", "ag")
    client.post("/beijing/results/rechecks",
                data={"recheck": db_one_recheck_id(app)})
    client.post("/beijing/logout")
    login("beijing", username)
    assert "无漏计、错计" in client.get("/beijing/results/mine").get_data(as_text=True)


def db_one_recheck_id(app) -> int:
    from app.models.results import Recheck
    with app.app_context():
        return db.session.scalar(sa.select(Recheck.id))


# -- CF-OBJ-1 on Chifeng data: material truth goes to the office on the file's route ------------

def chifeng_published(files):
    """The files passed by a closed Chifeng 中级 engineering session whose results the city
    committee office publicises first (CF-WIN-3): the notice opens on 14 October 2026."""
    from app.models.review import SessionItem
    s, ag = closed_chifeng_session(date(2026, 9, 15))
    for i, a in enumerate(files):
        db.session.add(SessionItem(session_id=s.id, application_id=a.id, code=f"C{i:03d}",
                                   result="passed"))
        a.status = Status.passed.value
    db.session.commit()
    with time_machine.travel(at(2026, 10, 14, 10), tick=False):
        pub = results.publicise(tenants()["chifeng"], f.actor(ag), s)
    assert results.in_notice(pub, date(2026, 10, 15))
    return pub


@pytest.mark.rule("CF-OBJ-1", "CF-ROUTE-1", "CF-ROUTE-4", "CF-ROUTE-7")
def test_chifeng_material_objections_go_to_the_county_hr_or_department_on_the_route(
        app, client, login):
    from .test_chifeng_routing import applicant, department, draft, travel
    with app.app_context():
        department("cf-agri-aohan", "county", "aohan", "cf-hr-aohan")
        department("cf-industry", "city", None, "cf-hr")
        f.make_employer("chifeng", "cf-station", "aohan", parent="cf-agri-aohan")
        f.make_employer("chifeng", "cf-plant", "hongshan", tier="city", parent="cf-industry")
        f.make_employer("chifeng", "cf-works", "hongshan", tier="city")
        f.make_employer("chifeng", "cf-firm", "songshan", kind="non_public")
        files = {code: draft(applicant(f"cf-o-{code}", code, name=f"申报人{code}"), "cf-eng",
                             "engineering", "intermediate", "mechanical")
                 for code in ("cf-station", "cf-plant", "cf-works", "cf-firm")}
        routes = {code: travel(a, outsiders=()) for code, a in files.items()}
        assert routes == {
            "cf-station": ["cf-station", "cf-agri-aohan", "cf-hr-aohan", "cf-hr",
                           "cf-agency-city"],
            "cf-plant": ["cf-plant", "cf-industry", "cf-hr", "cf-agency-city"],
            "cf-works": ["cf-works", "cf-hr", "cf-agency-city"],
            "cf-firm": ["cf-firm", "cf-hr-songshan", "cf-hr", "cf-agency-city"]}
        pub = chifeng_published(list(files.values()))
        pub_id, ids = pub.id, {code: a.id for code, a in files.items()}
    # 涉及材料真实性的，由各旗县区人社部门、市直主管部门和用人单位调查核实处理: the county HR bureau
    # of a county file, the supervising department of a city file, else the employer.
    expected = {"cf-station": "cf-hr-aohan", "cf-plant": "cf-industry", "cf-works": "cf-works",
                "cf-firm": "cf-hr-songshan"}
    with time_machine.travel(at(2026, 10, 15, 10), tick=False):
        anon = app.test_client()
        for code, app_id in ids.items():
            resp = anon.post(f"/chifeng/results/notices/{pub_id}/objections/{app_id}",
                             data={**EVIDENCE, "target": f"申报人{code}"})
            assert resp.status_code == 303
        review = anon.post(f"/chifeng/results/notices/{pub_id}/objections/{ids['cf-station']}",
                           data={**EVIDENCE, "kind": "review", "facts": "评审程序违规"})
        assert review.status_code == 303
    with app.app_context():
        routed = {(o.application_id, o.kind): db.session.get(Org, o.routed_org_id).code
                  for o in db.session.scalars(sa.select(Objection))}
        assert routed == {**{(ids[c], "material"): office for c, office in expected.items()},
                          (ids["cf-station"], "review"): "cf-agency-city"}
        held = results.certifiable_ids(f.tenant_id("chifeng"), date(2026, 12, 1))
        assert ids["cf-station"] not in held
        obj_id = db.session.scalar(sa.select(Objection.id).filter_by(
            application_id=ids["cf-station"], kind="material"))
    # The county HR bureau sees it in its objection inbox and resolves it there; the employer
    # that recommended the file neither sees it nor resolves it.
    with time_machine.travel(at(2026, 10, 16, 10), tick=False):
        login("chifeng", "u-cf-station")
        assert "申报人cf-station" not in client.get("/chifeng/results/objections").get_data(
            as_text=True)
        assert client.post(f"/chifeng/results/objections/{obj_id}/reject",
                           data={"opinion": "x"}).status_code == 404
        client.post("/chifeng/logout")
        login("chifeng", "u-cf-hr-aohan")
        inbox = client.get("/chifeng/results/objections").get_data(as_text=True)
        assert "申报人cf-station" in inbox and "论文为他人代写" in inbox
        assert "申报人cf-firm" not in inbox
        resp = client.post(f"/chifeng/results/objections/{obj_id}/reject",
                           data={"opinion": "经核查，论文系本人完成"})
        assert resp.status_code == 303
    with app.app_context():
        obj = db.session.get(Objection, obj_id)
        assert (obj.status, obj.resolution) == ("rejected", "经核查，论文系本人完成")
        assert obj.resolved_by == db.session.scalar(sa.select(User.id).filter_by(
            username="u-cf-hr-aohan"))


@pytest.mark.rule("CF-WIN-3", "CF-RESULT-1", "CF-RESULT-2")
def test_chifeng_publicise_upload_report_and_confirm_through_the_pages(app, client, login):
    import io
    with app.app_context():
        from app.models import ReviewSession
        f.make_user("chifeng", "cf-ag", "agency_clerk", "cf-agency-city")
        f.make_user("chifeng", "cf-city-hr", "hr_officer", "cf-hr")
        s = ReviewSession(tenant_id=f.tenant_id("chifeng"),
                          committee_id=f.committee("chifeng", "cf-eng").id,
                          plan_id=f.plan("chifeng", "cf-2026-directed").id, series="engineering",
                          level="associate_senior", panel_size=5, held_on=date(2026, 10, 20),
                          status="closed", tally={"attending": 5, "voted": 5, "items": {}})
        db.session.add(s)
        db.session.commit()
        url = f"/chifeng/agency/sessions/{s.id}"
    with time_machine.travel(at(2026, 10, 26, 9), tick=False):
        login("chifeng", "cf-ag")
        page = client.get(url).get_data(as_text=True)
        assert "发布评审结果公示" in page and "公示期须在2026-10-30前结束" in page
        client.post(f"/chifeng/results/sessions/{s.id}/publicise")
        page = client.get(url).get_data(as_text=True)
        assert "公示期至2026年11月2日 24:00止，晚于评审和公示截止日2026年10月30日" in page
    with time_machine.travel(at(2026, 10, 23, 9), tick=False):
        login("chifeng", "cf-ag")
        client.post(f"/chifeng/results/sessions/{s.id}/publicise")
        page = client.get(url).get_data(as_text=True)
    assert "公示期 2026-10-23 — 2026-10-30" in page and page.count("未上传") == 4
    with app.app_context():
        pub_id = db.session.scalar(sa.select(Publication.id))
    with time_machine.travel(at(2026, 11, 2, 9), tick=False):
        login("chifeng", "cf-ag")
        for kind in ("approval_report", "publicity_record", "passed_roster"):
            client.post(f"/chifeng/results/publications/{pub_id}/documents",
                        data={"kind": kind, "file": (io.BytesIO(f.pdf_bytes()), f"{kind}.pdf")})
        client.post(f"/chifeng/results/sessions/{s.id}/report", data={"report": "公示无异议"})
        page = client.get(url).get_data(as_text=True)
        assert "缺少评委会书面承诺书" in page and page.count("未上传") == 1
        client.post(f"/chifeng/results/publications/{pub_id}/documents",
                    data={"kind": "committee_pledge",
                          "file": (io.BytesIO(f.png_bytes()), "承诺书.png")})
        client.post(f"/chifeng/results/sessions/{s.id}/report", data={"report": "公示无异议"})
        page = client.get(url).get_data(as_text=True)
    assert "待确认" in page and "未上传" not in page
    with time_machine.travel(at(2026, 11, 3, 9), tick=False):
        login("chifeng", "cf-city-hr")
        page = client.get("/chifeng/results/acceptance").get_data(as_text=True)
        assert "确认评审结果" in page and "承诺书.png" in page and "公示期间未收到异议" in page
        with app.app_context():
            pledge = db.session.scalar(sa.select(PublicationFile).filter_by(kind="committee_pledge"))
        got = client.get(f"/chifeng/results/publications/{pub_id}/documents/{pledge.id}")
        assert got.status_code == 200 and got.data[:4] == b"\x89PNG"
        client.post(f"/chifeng/results/publications/{pub_id}/accept", data={"opinion": "确认"})
    with app.app_context():
        pub = db.session.get(Publication, pub_id)
        assert (pub.status, pub.confirmed_on) == ("accepted", date(2026, 11, 3))
