"""Chifeng review modes and paper files: the 评审表/送审表 with a verifiable code and the checklist,
the office's receipt of the paper file, mismatches returned, and classified personnel kept to
offline paper review (seed 二(一), 四(一)2, 四(二)1, 四(三)1–2)."""
import io

import pytest
import sqlalchemy as sa
import time_machine
from pypdf import PdfReader

from app.extensions import db
from app.models import AuditEvent, Status, utcnow
from app.models.paper import PaperReceipt
from app.tenancy import tenants
from app.workflow import eligibility, paper
from app.workflow.errors import Invalid, WindowClosed
from app.workflow.transitions import transition

from . import factories as f
from .conftest import at

T = "chifeng"


def cfg():
    return tenants()[T]


@pytest.fixture
def people(ctx):
    """A county employer (its clerk holds the first step) and two of its applicants."""
    f.make_employer(T, "cf-firm", "songshan")
    clerk = f.make_user(T, "cf-clerk", "employer_clerk", "cf-firm")
    staff = [f.make_user(T, f"cf-p{i}", "applicant", "cf-firm") for i in range(2)]
    return clerk, staff


def junior(user, specialty="mechanical", **kw):
    """A 2026 初级 application to the city engineering committee: blind online plus paper."""
    return f.make_application(T, user, "cf-2026-junior", "cf-eng", "engineering",
                              "junior_assistant", specialty,
                              materials={"achievements": 1}, **kw)


def submitted_junior(user):
    a = junior(user)
    with time_machine.travel(at(2026, 5, 12, 9), tick=False):
        transition(cfg(), a, "submit", f.actor(user), pledge=f.PLEDGE)
    assert a.status == Status.submitted.value
    return a


def pdf_of(client, app_id, kind):
    resp = client.get(f"/{T}/paper/applications/{app_id}/{kind}.pdf")
    return resp


def text_and_images(data: bytes):
    reader = PdfReader(io.BytesIO(data))
    return ("".join(p.extract_text() for p in reader.pages).replace(" ", ""),
            sum(len(p.images) for p in reader.pages))


# -- CF-FORMS-1 --------------------------------------------------------------------------------

@pytest.mark.rule("CF-FORMS-1", "CF-PAPER-1")
def test_paper_mode_applicants_download_both_forms_with_code_and_checklist(app, client, login):
    with app.app_context():
        f.make_employer(T, "cf-firm", "songshan")
        u = f.make_user(T, "cf-p0", "applicant", "cf-firm")
        a = submitted_junior(u)
        app_id, code = a.id, paper.file_code(a)
        assert paper.forms_for(a) == ["review", "send"]
    login(T, "cf-p0")
    page = client.get(f"/{T}/me/applications/{app_id}").get_data(as_text=True)
    assert f"/paper/applications/{app_id}/send.pdf" in page
    assert "评审方式：线上盲审盲评，另交完整纸质材料" in page  # 市直 初级 (CF-MODE-4)
    for kind, title in (("review", "评审表"), ("send", "送审表")):
        resp = pdf_of(client, app_id, kind)
        assert resp.status_code == 200 and resp.mimetype == "application/pdf"
        text, images = text_and_images(resp.data)
        assert title in text and code in text
        assert "材料目录单" in text and "学历学位证书" in text and "业绩成果佐证材料" in text
        assert "education-0.pdf" in text
        # The checklist keeps the configured order.
        assert text.index("学历学位证书") < text.index("业绩成果佐证材料")
        assert images >= 1  # the QR code


@pytest.mark.rule("CF-FORMS-1")
def test_online_blind_applicants_download_the_review_form_only(app, client, login):
    with app.app_context():
        f.make_employer(T, "cf-firm", "songshan")
        u = f.make_user(T, "cf-p0", "applicant", "cf-firm")
        a = f.make_application(T, u, "cf-2026-senior", "nm-eng-senior", "engineering",
                               "associate_senior")
        draft_id = f.make_application(T, f.make_user(T, "cf-p1", "applicant", "cf-firm"),
                                      "cf-2026-junior", "cf-eng", "engineering",
                                      "junior_assistant").id
        assert paper.forms_for(a) == []  # not before submitting
        a.status, a.submitted_at = Status.submitted.value, utcnow()
        db.session.commit()
        assert paper.forms_for(a) == ["review"]
        app_id = a.id
    login(T, "cf-p0")
    assert pdf_of(client, app_id, "send").status_code == 404
    resp = pdf_of(client, app_id, "review")
    assert resp.status_code == 200
    text, images = text_and_images(resp.data)
    assert "评审表" in text and "送审表" not in text and images >= 1
    # Someone else's draft gives nothing.
    assert pdf_of(client, draft_id, "review").status_code == 404


# -- CF-PAPER-1 / CF-PAPER-2 ---------------------------------------------------------------------

@pytest.mark.rule("CF-PAPER-1")
def test_a_wrong_or_forged_code_is_refused(people):
    clerk, (u, _) = people
    a = submitted_junior(u)
    code = paper.file_code(a)
    assert paper.parse_code(a.tenant_id, code) == a.id
    assert paper.parse_code(a.tenant_id, code.lower().replace("-", " - ")) == a.id
    forged = f"CF-{a.id}-{'000000' if not code.endswith('000000') else '111111'}"
    with time_machine.travel(at(2026, 5, 20, 9), tick=False):
        for bad in (forged, f"CF-{a.id + 1}-{code.rsplit('-', 1)[1]}", "hello", ""):
            with pytest.raises(Invalid):
                paper.receive(cfg(), f.actor(clerk), bad, ["id_card", "education", "achievements"])
    assert db.session.scalar(sa.select(sa.func.count(PaperReceipt.id))) == 0


@pytest.mark.rule("CF-PAPER-1", "CF-PAPER-2")
def test_a_mismatch_returns_the_file_with_the_list_and_the_fixed_file_is_received(people):
    clerk, (u, _) = people
    a = submitted_junior(u)
    code = paper.file_code(a)
    with time_machine.travel(at(2026, 5, 20, 9), tick=False):
        # Achievements uploaded online but not on paper; a title certificate on paper only.
        r = paper.receive(cfg(), f.actor(clerk), code,
                          ["id_card", "education", "continuing_education", "current_title"])
    assert not r.matched
    assert a.status == Status.returned.value and a.holder_org_id is None
    step = a.steps[-1]
    assert step.action == "return"
    assert [i["target"] for i in step.items] == ["material:achievements",
                                                 "material:current_title"]
    assert "业绩成果佐证材料" in step.items[0]["text"]
    assert db.session.scalar(sa.select(AuditEvent).filter_by(
        subject_id=a.id, action="paper_mismatch")) is not None
    # Returned, the applicant has no forms until resubmitting.
    assert paper.forms_for(a) == []
    # The applicant fixes the file online (uploads the certificate too) and resubmits.
    db.session.add(type(a.attachments[0])(
        application_id=a.id, material="current_title", filename="title.pdf", stored_name="t.pdf",
        mime="application/pdf", size=100, sha256="0" * 64, uploaded_by=u.id))
    db.session.commit()
    db.session.refresh(a)
    with time_machine.travel(at(2026, 5, 21, 9), tick=False):
        transition(cfg(), a, "resubmit", f.actor(u), pledge=f.PLEDGE)
        r = paper.receive(cfg(), f.actor(clerk), code,
                          ["id_card", "education", "continuing_education", "current_title",
                           "achievements"])
    assert r.matched and a.status == Status.submitted.value
    assert [i["material"] for i in r.items] == ["id_card", "education", "continuing_education",
                                                "current_title", "achievements"]
    assert db.session.scalar(sa.select(AuditEvent).filter_by(
        subject_id=a.id, action="paper_received")) is not None


@pytest.mark.rule("CF-PAPER-2")
def test_receipt_after_the_tier_report_close_is_refused(people):
    clerk, (u, _) = people
    a = submitted_junior(u)
    code = paper.file_code(a)
    with time_machine.travel(at(2026, 6, 11, 0, 0, 1), tick=False):  # junior tier_report: 10 Jun
        for arrived in (["id_card", "education", "achievements"], []):
            with pytest.raises(WindowClosed):
                paper.receive(cfg(), f.actor(clerk), code, arrived)
    assert a.status == Status.submitted.value
    assert db.session.scalar(sa.select(sa.func.count(PaperReceipt.id))) == 0


@pytest.mark.rule("CF-PAPER-1")
def test_only_the_holder_records_a_receipt(people):
    clerk, (u, _) = people
    a = submitted_junior(u)
    other = f.make_user(T, "cf-hr-clerk", "hr_officer", "cf-hr-songshan")
    with time_machine.travel(at(2026, 5, 20, 9), tick=False):
        with pytest.raises(Exception) as e:
            paper.receive(cfg(), f.actor(other), paper.file_code(a), ["education"])
    assert "不在本单位办理" in str(e.value.message)


@pytest.mark.rule("CF-PAPER-1", "CF-PAPER-2")
def test_the_office_types_the_code_and_ticks_the_checklist(app, client, login):
    with app.app_context():
        f.make_employer(T, "cf-firm", "songshan")
        f.make_user(T, "cf-clerk", "employer_clerk", "cf-firm")
        u = f.make_user(T, "cf-p0", "applicant", "cf-firm")
        a = submitted_junior(u)
        app_id, code = a.id, paper.file_code(a)
    with time_machine.travel(at(2026, 5, 20, 9), tick=False):
        login(T, "cf-clerk")
        page = client.post(f"/{T}/paper/receive", data={"code": code}).get_data(as_text=True)
        assert "学历学位证书" in page and "education-0.pdf" in page
        resp = client.post(f"/{T}/paper/receive/record",
                           data={"code": code,
                                 "arrived": ["id_card", "education", "continuing_education",
                                             "achievements"]})
        assert resp.status_code == 303
        bad = client.post(f"/{T}/paper/receive", data={"code": "CF-1-XXXXXX"})
        assert "编码无效" in bad.get_data(as_text=True)
    with app.app_context():
        r = db.session.scalar(sa.select(PaperReceipt).filter_by(application_id=app_id))
        assert r.matched and r.code == code


# -- CF-MODE-1 / CF-MODE-4 -----------------------------------------------------------------------

@pytest.mark.rule("CF-MODE-1", "CF-MODE-4")
def test_classified_personnel_are_reviewed_offline_in_the_plan_of_their_level(people):
    _, (u, v) = people
    assert junior(u).review_mode == "online_blind_paper"   # 市直 初级
    assert junior(u, specialty="construction").review_mode == "offline_paper"
    county = f.make_application(T, u, "cf-2026-intermediate", "cf-ningcheng", "agriculture",
                                "intermediate")
    assert county.review_mode == "offline_paper"
    assert f.plan(T, "cf-2026-directed").review_mode == "offline_paper"
    assert f.plan(T, "cf-2026-senior").review_mode == "online_blind"
    from app.models import Committee
    hospital = f.org(T, "cf-self-hospital")
    db.session.add(Committee(tenant_id=hospital.tenant_id, code="cf-self-health",
                             name="医院自主评审委员会", agency_org_id=hospital.id,
                             series=["health"], levels=["intermediate"]))
    db.session.commit()
    own = f.make_application(T, u, "cf-2026-intermediate", "cf-self-health", "health",
                             "intermediate")
    assert own.review_mode == "offline_paper"  # a self-review unit's 中级: on paper
    # A classified applicant in the blind online plus paper part of the plan of their level:
    # nothing refuses the file, and it is reviewed offline on paper, both forms offered.
    online = junior(v)
    assert online.review_mode == "online_blind_paper"
    online.basic = {**online.basic, "classified": True}
    db.session.commit()
    assert online.review_mode == cfg().policies.classified_review_mode == "offline_paper"
    assert eligibility.problems(cfg(), online) == []
    with time_machine.travel(at(2026, 5, 12, 9), tick=False):
        transition(cfg(), online, "submit", f.actor(v), pledge=f.PLEDGE)
    assert online.status == Status.submitted.value
    assert paper.forms_for(online) == ["review", "send"] and paper.needs_paper(online)


@pytest.mark.rule("CF-MODE-1")
def test_the_basic_info_form_records_classified(app, client, login):
    with app.app_context():
        f.make_employer(T, "cf-firm", "songshan")
        u = f.make_user(T, "cf-p0", "applicant", "cf-firm")
        app_id = junior(u).id
    with time_machine.travel(at(2026, 5, 12, 9), tick=False):
        login(T, "cf-p0")
        client.post(f"/{T}/me/applications/{app_id}/basic",
                    data={"gender": "male", "birth_date": "1985-06-15", "classified": "y"})
    with app.app_context():
        from app.models import Application
        assert db.session.get(Application, app_id).basic["classified"] is True


# -- CF-PAPER-2 at every holder of the route, CF-WIN-4 ----------------------------------------

def on_page(client, login, username: str, code: str, arrived, when) -> str:
    """An office clerk records a paper file on the paper page; the page shown after it."""
    with time_machine.travel(when, tick=False):
        login(T, username)
        found = client.post(f"/{T}/paper/receive", data={"code": code}).get_data(as_text=True)
        shown = client.post(f"/{T}/paper/receive/record", data={"code": code, "arrived": arrived},
                            follow_redirects=True).get_data(as_text=True)
        client.post(f"/{T}/logout")
    return found + shown


def routed(a, submit_on, employer_clerk) -> list[str]:
    """Submit and, for an employer step, open the unit notice; the route's offices by code."""
    from .test_chifeng_routing import declare_posts
    with time_machine.travel(at(*submit_on, 9), tick=False):
        transition(cfg(), a, "submit", f.actor(a.applicant), pledge=f.PLEDGE)
        transition(cfg(), a, "start_notice", f.actor(employer_clerk))
        declare_posts(a)
    from app.models import Org
    return [db.session.get(Org, s["org_id"]).code for s in a.route]


def send_on(app, app_id: int, holder: str, when) -> None:
    from app.models import Application
    from .test_chifeng_routing import clerk
    with app.app_context(), time_machine.travel(when, tick=False):
        a = db.session.get(Application, app_id)
        transition(cfg(), a, "recommend", f.actor(clerk(holder)), opinion="同意",
                   no_objection=True)


def receipts(app, app_id: int) -> list[tuple[str, bool]]:
    with app.app_context():
        return [(r.org.code, r.matched) for r in db.session.scalars(
            sa.select(PaperReceipt).filter_by(application_id=app_id).order_by(PaperReceipt.id))]


@pytest.mark.rule("CF-PAPER-2", "CF-ROUTE-1")
def test_every_holder_on_the_route_records_the_paper_the_committee_office_included(
        app, client, login):
    from .test_chifeng_routing import applicant, clerk, department
    with app.app_context():
        department("cf-agri-aohan", "county", "aohan", "cf-hr-aohan")
        f.make_employer(T, "cf-station", "aohan", parent="cf-agri-aohan")
        a = f.make_application(T, applicant("cf-e1", "cf-station"), "cf-2026-intermediate",
                               "cf-eng", "engineering", "intermediate", "mechanical",
                               materials={"achievements": 1})
        route = routed(a, (2026, 6, 1), clerk("cf-station"))
        for code in route:
            clerk(code)
        app_id, code, mode = a.id, paper.file_code(a), a.review_mode
        arrived = sorted({x.material for x in a.attachments})
    assert mode == "online_blind_paper"  # 市直 中级: blind online, and the full paper file
    assert route == ["cf-station", "cf-agri-aohan", "cf-hr-aohan", "cf-hr", "cf-agency-city"]
    day = at(2026, 6, 15, 9)
    for i, holder in enumerate(route):
        if i + 1 < len(route):  # the next office cannot record it before it holds the file
            assert "不在本单位办理" in on_page(client, login, f"u-{route[i + 1]}", code, arrived,
                                               day)
        page = on_page(client, login, f"u-{holder}", code, arrived, day)
        assert "纸质材料与网上申报一致，已登记接收" in page, holder
        if i + 1 < len(route):
            send_on(app, app_id, holder, day)
    assert receipts(app, app_id) == [(c, True) for c in route]
    with app.app_context():
        from app.models import Application
        assert db.session.get(Application, app_id).status == Status.recommended.value


@pytest.mark.rule("CF-PAPER-2")
def test_a_mismatch_at_the_committee_office_returns_the_file_to_the_applicant(
        app, client, login):
    from .test_chifeng_routing import applicant, clerk
    with app.app_context():
        f.make_employer(T, "cf-firm", "songshan", kind="non_public")
        a = f.make_application(T, applicant("cf-p9", "cf-firm"), "cf-2026-intermediate",
                               "cf-eng", "engineering", "intermediate", "mechanical",
                               materials={"achievements": 1})
        route = routed(a, (2026, 6, 1), clerk("cf-firm"))
        for c in route:
            clerk(c)
        app_id, code = a.id, paper.file_code(a)
        arrived = sorted({x.material for x in a.attachments} - {"achievements"})
    assert route == ["cf-firm", "cf-hr-songshan", "cf-hr", "cf-agency-city"]
    for holder in route[:-1]:
        send_on(app, app_id, holder, at(2026, 6, 15, 9))
    page = on_page(client, login, "u-cf-agency-city", code, arrived, at(2026, 6, 16, 9))
    assert "纸质材料与网上申报不一致，已退回申报人补正" in page
    assert "不在本单位办理" not in page
    with app.app_context():
        from app.models import Application
        a = db.session.get(Application, app_id)
        assert (a.status, a.holder_org_id) == (Status.returned.value, None)
        assert a.correction_due is not None  # the committee office's correction deadline
        step = a.steps[-1]
        assert (step.action, step.org.code) == ("agency_return", "cf-agency-city")
        assert [i["target"] for i in step.items] == ["material:achievements"]
    assert receipts(app, app_id) == [("cf-agency-city", False)]
    login(T, "cf-p9")
    mine = client.get(f"/{T}/me/applications/{app_id}").get_data(as_text=True)
    assert "纸质材料中缺少“业绩成果佐证材料”" in mine


@pytest.mark.rule("CF-WIN-4", "CF-PAPER-2")
def test_directed_paper_must_reach_city_hr_by_its_date_a_county_receipt_does_not_count(
        app, client, login):
    from datetime import date

    from app.models import Application, AuditEvent
    from app.workflow.deadlines import close_stage
    from .test_chifeng_routing import applicant, clerk
    with app.app_context():
        window = f.plan(T, "cf-2026-directed").window("paper_to_city")
        assert window.closes_on == date(2026, 7, 20)  # tenant data: 三(五)
        f.make_employer(T, "cf-school", "aohan", kind="public_institution",
                        parent="cf-edu-aohan")
        school = clerk("cf-school")
        files = [f.make_application(T, applicant(f"cf-d{i}", "cf-school"), "cf-2026-directed",
                                    "cf-teacher", "school_teacher", "associate_senior",
                                    policy="directed") for i in range(2)]
        routes = [routed(a, (2026, 6, 15), school) for a in files]
        for c in routes[0]:
            clerk(c)
        late, on_time = ((a.id, paper.file_code(a), sorted({x.material for x in a.attachments}))
                         for a in files)
        assert files[0].review_mode == "offline_paper"
    # Directed files are reported tier by tier to city HR, whatever their series.
    assert routes == [["cf-school", "cf-edu-aohan", "cf-hr-aohan", "cf-hr", "cf-agency-city"]] * 2
    for app_id, code, arrived in (late, on_time):
        for holder in ("cf-school", "cf-edu-aohan"):
            send_on(app, app_id, holder, at(2026, 6, 29, 9))
        # County HR records the paper: that is not city HR's receipt.
        assert "一致，已登记接收" in on_page(client, login, "u-cf-hr-aohan", code, arrived,
                                             at(2026, 7, 1, 9))
        send_on(app, app_id, "cf-hr-aohan", at(2026, 7, 1, 9))
    # City HR cannot send a directed file on before its paper has arrived there.
    with pytest.raises(Invalid) as e:
        send_on(app, late[0], "cf-hr", at(2026, 7, 20, 9))
    assert "定向评价纸质材料须报送至市人社局" in str(e.value.message)
    # On 20 July at the last second the on-time file is recorded and sent on.
    assert "一致，已登记接收" in on_page(client, login, "u-cf-hr", on_time[1], on_time[2],
                                         at(2026, 7, 20, 23, 59, 59))
    send_on(app, on_time[0], "cf-hr", at(2026, 7, 20, 23, 59, 59))
    # From 21 July city HR takes no directed paper.
    page = on_page(client, login, "u-cf-hr", late[1], late[2], at(2026, 7, 21, 0, 0, 1))
    assert "2026-07-20 24:00截止" in page and "一致，已登记接收" not in page
    with app.app_context(), time_machine.travel(at(2026, 7, 21, 0, 0, 1), tick=False):
        run = close_stage(f.plan(T, "cf-2026-directed"), "paper_to_city")
        assert run.rows_changed == 1
        assert [db.session.get(Application, i).status for i in (late[0], on_time[0])] == [
            Status.not_recommended.value, Status.recommended.value]
        assert db.session.scalar(sa.select(AuditEvent.reason).filter_by(
            subject_id=late[0], action="close_paper_to_city")) == "纸质材料逾期未报送至市人社局，不再补报"
    assert receipts(app, late[0]) == [("cf-hr-aohan", True)]
    assert receipts(app, on_time[0]) == [("cf-hr-aohan", True), ("cf-hr", True)]
