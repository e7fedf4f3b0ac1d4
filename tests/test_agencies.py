"""Agency filing and assessment, committee expiry warnings, the year's directory and what
applicants may choose from it, the public help, and the yearly notices."""
import io
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
import time_machine
from markupsafe import escape
from openpyxl import load_workbook

from app.extensions import db
from app.models import AuditEvent, Plan, ReviewSession
from app.models.agencies import AgencyFiling, AgencySuspension, Directory, YearlyNotice
from app.models.results import Objection, Publication, Recheck
from app.tenancy import tenants
from app.workflow import agencies, applications, directory, notices, sessions
from app.workflow.errors import Forbidden, Invalid

from . import factories as f
from .conftest import at

BJ = lambda: tenants()["beijing"]  # noqa: E731
CF = lambda: tenants()["chifeng"]  # noqa: E731

FILING = {"profile": "市属事业单位，承担工程技术系列评审服务", "head": "王主任", "head_title": "主任",
          "scope": "工程技术系列各专业", "purpose": "组织开展工程技术系列职称评审",
          "address": "北京市西城区某路1号", "phone": "010-88886666",
          "hours": "工作日 9:00-17:00", "staff_count": "6", "staff": "专职工作人员6名",
          "facilities": "评审会议室、录音录像设备", "strengths": "长期承担评审组织工作",
          "committees": "北京市工程技术系列职称评审委员会：正高级、副高级"}


def _open_session(clerk, committee="bj-eng", held=date(2026, 11, 20)):
    return sessions.create_session(
        BJ(), f.actor(clerk), committee_id=f.committee("beijing", committee).id,
        plan_id=f.plan("beijing", "bj-2026").id, series="engineering", level="senior",
        specialties=[], panel_size=5, held_on=held)


def _unfile(code):
    """The agency without the filing the tenant files give it."""
    db.session.execute(sa.delete(AgencyFiling).where(
        AgencyFiling.org_id == f.org("beijing", code).id))
    db.session.commit()


@pytest.fixture
def people(ctx):
    return {"clerk": f.make_user("beijing", "ag", "agency_clerk", "bj-agency-eng"),
            "hr": f.make_user("beijing", "hr-city", "hr_officer", "bj-hr"),
            "county": f.make_user("beijing", "hr-hd", "hr_officer", "bj-hr-haidian")}


# -- AE-AGENCY-1: applying, returning, resubmitting, filing ---------------------------------------

@pytest.mark.rule("AE-AGENCY-1")
def test_an_agency_applies_is_returned_corrects_and_is_filed_before_it_opens_sessions(people):
    clerk, hr = people["clerk"], people["hr"]
    _unfile("bj-agency-eng")
    f.file_committee("beijing", "bj-eng")
    with pytest.raises(Invalid) as e:  # not filed: no session
        _open_session(clerk)
    assert any("尚未经市人力资源社会保障部门备案" in str(p) for p in e.value.problems)

    # Every item of 第十条 is required; nothing is saved on a refusal.
    with pytest.raises(Invalid) as e:
        agencies.submit_filing(BJ(), f.actor(clerk), {**FILING, "facilities": "", "staff_count": "0"})
    assert {str(p) for p in e.value.problems} >= {"请填写“配套设备设施”。",
                                                   "请填写专职工作人员人数（1人以上）。"}
    assert agencies.filing_of(clerk.tenant_id, clerk.org_id) is None

    filing = agencies.submit_filing(BJ(), f.actor(clerk), FILING)
    assert filing.status == "submitted" and filing.staff_count == 6
    with pytest.raises(Forbidden):  # a county bureau does not file agencies
        agencies.decide_filing(BJ(), f.actor(people["county"]), filing, "file",
                               expected_version=filing.version, filed_on=date(2026, 3, 1),
                               valid_until=date(2029, 2, 28))
    with pytest.raises(Invalid):  # returned only with reasons
        agencies.decide_filing(BJ(), f.actor(hr), filing, "return",
                               expected_version=filing.version, reason=" ")
    agencies.decide_filing(BJ(), f.actor(hr), filing, "return", expected_version=filing.version,
                           reason="缺少专职工作人员名单")
    assert filing.status == "returned" and filing.return_reason == "缺少专职工作人员名单"
    with pytest.raises(Invalid):
        _open_session(clerk)

    agencies.submit_filing(BJ(), f.actor(clerk), {**FILING, "staff": "张三、李四等6名"},
                           expected_version=filing.version)
    assert filing.status == "submitted" and filing.staff == "张三、李四等6名"
    years = BJ().policies.agencies.filing_years
    with pytest.raises(Invalid) as e:  # longer than the tenant's years (at most 3)
        agencies.decide_filing(BJ(), f.actor(hr), filing, "file", expected_version=filing.version,
                               filed_on=date(2026, 3, 1), valid_until=date(2026 + years, 3, 2))
    assert "不超过3年" in str(e.value.message)
    agencies.decide_filing(BJ(), f.actor(hr), filing, "file", expected_version=filing.version,
                           filed_on=date(2026, 3, 1), valid_until=date(2029, 2, 28))
    assert (filing.status, filing.filed_on, filing.valid_until) == (
        "filed", date(2026, 3, 1), date(2029, 2, 28))
    assert _open_session(clerk).id
    with pytest.raises(Invalid) as e:  # past its validity, no session
        _open_session(clerk, held=date(2029, 3, 1))
    assert any("到期" in str(p) for p in e.value.problems)
    actions = set(db.session.scalars(sa.select(AuditEvent.action).filter_by(
        subject_type="agency_filings", subject_id=filing.id)))
    assert actions == {"submit", "return", "resubmit", "file"}


@pytest.mark.rule("AE-AGENCY-1")
def test_filing_pages_for_the_agency_and_the_city_hr_bureau(people, client, login):
    clerk = people["clerk"]
    _unfile("bj-agency-eng")
    login("beijing", clerk.username)
    page = client.get("/beijing/agencies/filing").get_data(as_text=True)
    assert "单位简介" in page and "拟开展评委会的备案内容" in page and "尚未经市人力资源社会保障部门备案" in page
    resp = client.post("/beijing/agencies/filing", data={**FILING, "address": ""})
    assert resp.status_code == 200 and "请填写“办公地址”。" in resp.get_data(as_text=True)
    resp = client.post("/beijing/agencies/filing", data=FILING)
    assert resp.status_code == 303
    filing = agencies.filing_of(clerk.tenant_id, clerk.org_id)

    login("beijing", people["county"].username)
    assert client.get("/beijing/agencies/filings").status_code == 403
    login("beijing", people["hr"].username)
    page = client.get("/beijing/agencies/filings").get_data(as_text=True)
    assert f"/beijing/agencies/filings/{filing.id}" in page
    assert "北京市西城区某路1号" in client.get(f"/beijing/agencies/filings/{filing.id}").get_data(
        as_text=True)
    resp = client.post(f"/beijing/agencies/filings/{filing.id}/return",
                       data={"version": filing.version, "reason": "请补充设备清单"})
    assert resp.status_code == 303

    login("beijing", clerk.username)
    page = client.get("/beijing/agencies/filing").get_data(as_text=True)
    assert "已退回" in page and "请补充设备清单" in page
    client.post("/beijing/agencies/filing", data={**FILING, "version": filing.version})
    login("beijing", people["hr"].username)
    client.post(f"/beijing/agencies/filings/{filing.id}/file",
                data={"version": filing.version, "filed_on": "2026-03-01",
                      "valid_until": "2029-02-28"})
    db.session.refresh(filing)
    assert filing.status == "filed" and filing.valid_until == date(2029, 2, 28)


# -- AE-SUPERV-1: assessment and suspension -------------------------------------------------------

@pytest.mark.rule("AE-SUPERV-1")
def test_a_suspended_agency_cannot_open_sessions_until_lifted(people):
    clerk, hr = people["clerk"], people["hr"]
    f.file_committee("beijing", "bj-eng")
    org = f.org("beijing", "bj-agency-eng")
    with pytest.raises(Invalid):
        agencies.suspend(BJ(), f.actor(hr), org, "")
    with pytest.raises(Forbidden):
        agencies.suspend(BJ(), f.actor(clerk), org, "违反评审程序")
    agencies.suspend(BJ(), f.actor(hr), org, "违反评审程序，责令整改")
    with pytest.raises(Invalid) as e:
        _open_session(clerk)
    assert any("暂停" in str(p) for p in e.value.problems)
    agencies.lift(BJ(), f.actor(hr), org, "整改完成")
    assert _open_session(clerk).id
    actions = list(db.session.scalars(sa.select(AuditEvent.action).filter_by(
        subject_type="agency_suspensions").order_by(AuditEvent.id)))
    assert actions == ["suspend", "lift"]


@pytest.mark.rule("AE-SUPERV-1")
def test_yearly_assessment_shows_the_data_and_a_failing_agency_stops_reviewing(people):
    clerk, hr = people["clerk"], people["hr"]
    f.file_committee("beijing", "bj-eng")
    s1, s2 = _open_session(clerk), _open_session(clerk)
    tid = clerk.tenant_id
    db.session.add_all([
        Publication(tenant_id=tid, session_id=s1.id, publisher_org_id=clerk.org_id,
                    status="accepted"),
        Publication(tenant_id=tid, session_id=s2.id, publisher_org_id=clerk.org_id,
                    status="sent_back")])
    u = f.make_user("beijing", "app-x", "applicant", None)
    f.make_employer("beijing", "emp", "haidian")
    a = f.make_application("beijing", u, "bj-2026", "bj-eng", "engineering", "senior")
    db.session.add_all([
        Objection(tenant_id=tid, application_id=a.id, kind="review", status="rejected",
                  routed_org_id=clerk.org_id),
        Objection(tenant_id=tid, application_id=a.id, kind="review", status="open",
                  routed_org_id=clerk.org_id),
        Recheck(tenant_id=tid, application_id=a.id, reason="复核票数")])
    db.session.commit()
    figs = agencies.figures(tid, 2026, [clerk.org_id])[clerk.org_id]
    assert (figs["sessions"], figs["accepted"], figs["sent_back"]) == (2, 1, 1)
    assert (figs["objections"], figs["objections_handled"]) == (2, 1)
    assert (figs["rechecks"], figs["rechecks_answered"]) == (1, 0)
    assert agencies.figures(tid, 2025, [clerk.org_id])[clerk.org_id]["sessions"] == 0

    org = f.org("beijing", "bj-agency-eng")
    with pytest.raises(Invalid):  # a failing result needs its reason
        agencies.assess(BJ(), f.actor(hr), org, 2026, "fail", "")
    row = agencies.assess(BJ(), f.actor(hr), org, 2026, "fail", "验收退回且异议未处理")
    assert row.figures["accepted"] == 1
    stop = agencies.active_suspension(tid, org.id)
    assert stop is not None and "考核不合格" in stop.reason
    with pytest.raises(Invalid):
        _open_session(clerk)


@pytest.mark.rule("AE-SUPERV-1")
def test_assessment_page_and_suspension_through_the_portal(people, client, login):
    org = f.org("beijing", "bj-agency-eng")
    login("beijing", people["hr"].username)
    page = client.get("/beijing/agencies/filings?year=2026").get_data(as_text=True)
    assert "北京市工程技术" in page or "工程技术" in page
    assert client.post(f"/beijing/agencies/register/{org.id}/suspend",
                       data={"reason": "违规"}).status_code == 303
    assert agencies.active_suspension(org.tenant_id, org.id).reason == "违规"
    assert "已暂停" in client.get("/beijing/agencies/filings").get_data(as_text=True)
    client.post(f"/beijing/agencies/register/{org.id}/lift", data={"reason": "已整改"})
    assert agencies.active_suspension(org.tenant_id, org.id) is None
    client.post(f"/beijing/agencies/register/{org.id}/assess",
                data={"year": "2026", "result": "pass", "note": ""})
    assert db.session.scalar(sa.select(sa.func.count(AgencySuspension.id))) == 1
    emp = f.make_employer("beijing", "emp-z", "haidian")  # not an agency: 404
    assert client.post(f"/beijing/agencies/register/{emp.id}/suspend",
                       data={"reason": "x"}).status_code == 404


# -- AE-COMM-1: filings running out are warned ahead ---------------------------------------------

@pytest.mark.rule("AE-COMM-1")
def test_committee_expiry_is_warned_within_the_tenant_days(people, client, login):
    clerk, hr = people["clerk"], people["hr"]
    today = date(2026, 10, 1)
    days = BJ().policies.agencies.expiry_warning_days
    assert days == 60
    soon = f.file_committee("beijing", "bj-eng", filed=(2024, 1, 1),
                            until=(today + timedelta(days=days)).timetuple()[:3])
    f.file_committee("beijing", "bj-econ", filed=(2024, 1, 1),
                     until=(today + timedelta(days=days + 1)).timetuple()[:3])
    mine = agencies.waiting(clerk, today)
    assert [(i["count"], i["due"], i["endpoint"]) for i in mine] == [
        (1, soon.valid_until, "agency.committee_list")]
    city = {i["endpoint"]: i for i in agencies.waiting(hr, today)}
    assert city["agencies.filings"]["count"] == 1 and city["agencies.filings"]["due"] == soon.valid_until
    assert agencies.waiting(people["county"], today) == []
    # The seeded agency filings run to 2028-06-30: within the warning days of 2028-05-15.
    late = {str(i["label"]): i for i in agencies.waiting(hr, date(2028, 5, 15))}
    assert late["评审服务机构备案即将到期"]["count"] == 8
    with time_machine.travel(at(2026, 10, 1, 9), tick=False):
        login("beijing", clerk.username)
        page = client.get("/beijing/agency/committees").get_data(as_text=True)
    assert "60天后到期" in page and page.count("天后到期") == 1


# -- BJ-DIR-1, AE-DUTY-1: the directory -----------------------------------------------------------

def _publish(hr, client, login, year=2026):
    login("beijing", hr.username)
    with time_machine.travel(at(2026, 6, 1, 9), tick=False):
        assert client.post(f"/beijing/agencies/directory?year={year}").status_code == 303
        page = client.get(f"/beijing/agencies/directory?year={year}").get_data(as_text=True)
        d = directory.of_year(hr.tenant_id, year)
        assert client.post(f"/beijing/agencies/directory/{year}/publish",
                           data={"version": d.version}).status_code == 303
    return page, d


@pytest.mark.rule("BJ-DIR-1", "AE-DUTY-1")
def test_the_directory_is_generated_from_filings_and_published_with_the_agencies_terms(
        people, client, login):
    clerk = people["clerk"]
    c = f.file_committee("beijing", "bj-eng")
    login("beijing", clerk.username)
    client.post(f"/beijing/agencies/committees/{c.id}/publish",
                data={"version": c.version, "conditions": "具备本市工程技术系列申报条件",
                      "materials": "申报表、业绩材料"})
    f.file_committee("beijing", "bj-econ")
    agencies.suspend(BJ(), f.actor(people["hr"]), f.org("beijing", "bj-agency-econ"), "整改中")
    page, d = _publish(people["hr"], client, login)
    assert "评委会未备案" in page and "评审服务机构已被暂停评审工作" in page
    db.session.refresh(d)
    assert {r["committee_code"] for r in d.rows} == {"bj-eng"}
    levels = [r["level"] for r in d.rows]
    assert levels == list(f.committee("beijing", "bj-eng").levels)
    row = d.rows[-1]
    assert (row["phone"], row["conditions"], row["materials"], row["procedure"]) == (
        "010-68001001", "具备本市工程技术系列申报条件", "申报表、业绩材料", "材料评审、答辩、表决")
    assert row["review_mode"] == f.plan("beijing", "bj-2026").mode_for(
        f.committee("beijing", "bj-eng"), "engineering", None, row["level"])

    client.get("/beijing/logout")
    public = client.get("/beijing/directory").get_data(as_text=True)
    assert "2026年度" in public and "具备本市工程技术系列申报条件" in public
    assert "010-68001001" in public and "工作日 9:00-11:30" in public
    resp = client.get("/beijing/directory/2026.xlsx")
    ws = load_workbook(io.BytesIO(resp.data)).active
    sheet = list(ws.values)
    assert sheet[0][:5] == ("系列", "专业", "级别", "评审委员会", "评审服务机构")
    assert len(sheet) == 1 + len(d.rows) and sheet[-1][5] == "010-68001001"
    assert client.get("/beijing/directory/2025.xlsx").status_code == 404


@pytest.mark.rule("BJ-DIR-1")
def test_applicants_choose_only_from_the_published_directory(people, client, login):
    f.make_employer("beijing", "emp", "haidian")
    u = f.make_user("beijing", "app-1", "applicant", "emp", id_number=f.ID_NUMBERS[1])
    plan = f.plan("beijing", "bj-2026")
    econ = f.committee("beijing", "bj-econ")
    when = at(2026, 7, 8, 9)

    def apply(committee, series="engineering", level="senior", specialty="mechanical"):
        return applications.create_application(
            BJ(), f.actor(u), u, plan_id=plan.id, committee_id=committee.id, series=series,
            level=level, specialty=specialty, now=when)

    f.file_committee("beijing", "bj-eng")
    _publish(people["hr"], client, login)
    with pytest.raises(Invalid) as e:  # not filed, so not in the directory
        apply(econ, series="economics", specialty=None)
    assert str(e.value.message) == "所选评审委员会不在2026年度评审委员会名录中，不能受理，请从名录中选择。"
    with pytest.raises(Invalid) as e:  # in the directory, but not for this specialty
        apply(f.committee("beijing", "bj-eng"), specialty="robotics")
    assert "不评审该系列、专业或级别" in str(e.value.message)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(
        sa.text("applications"))) == 0

    with time_machine.travel(when, tick=False):
        login("beijing", u.username)
        page = client.get("/beijing/me/applications/new").get_data(as_text=True)
    assert "北京市工程技术系列职称评审委员会" in page and econ.name not in page
    assert apply(f.committee("beijing", "bj-eng")).id


@pytest.mark.rule("BJ-DIR-1")
def test_an_empty_directory_is_not_published(people):
    d = directory.generate(BJ(), f.actor(people["hr"]), 2026, date(2026, 6, 1))
    assert d.draft_rows == []
    with pytest.raises(Invalid):
        directory.publish(BJ(), f.actor(people["hr"]), d, d.version)
    assert directory.published(people["hr"].tenant_id, 2026) is None
    with pytest.raises(Forbidden):
        directory.generate(BJ(), f.actor(people["county"]), 2026, date(2026, 6, 1))


# -- BJ-HELP-1: the public help -------------------------------------------------------------------

@pytest.mark.rule("BJ-HELP-1")
def test_public_pages_carry_the_helpline_agency_phones_and_the_training_warning(app, client):
    with app.app_context():  # the pages themselves run without one, so the language can change
        public = BJ().policies.public
    warning = public.training_warning
    assert "不举办也不委托任何机构开展各种职称评审培训或代报名" in warning
    for url in ("/beijing/", "/beijing/directory", "/beijing/notices"):
        page = client.get(url).get_data(as_text=True)
        assert "12333" in page and warning in page and "010-68001001" in page, url
    english = client.get("/beijing/directory?lang=en").get_data(
        as_text=True)
    assert str(escape(public.training_warning_en)) in english
    assert "Helpline: 12333" in english
    with app.app_context():  # a suspended agency is not advertised
        hr = f.make_user("beijing", "hr-city", "hr_officer", "bj-hr")
        agencies.suspend(BJ(), f.actor(hr), f.org("beijing", "bj-agency-eng"), "整改中")
    page = client.get("/beijing/").get_data(as_text=True)
    assert "010-68001001" not in page and "010-68001002" in page
    chifeng = client.get("/chifeng/").get_data(as_text=True)
    assert "12333" in chifeng and warning not in chifeng and "0476-8001001" in chifeng


@pytest.mark.rule("AE-AGENCY-1", "BJ-HELP-1")
def test_a_closed_agency_opens_no_session_and_is_not_advertised(people):
    from app.workflow import orgtree
    clerk, hr = people["clerk"], people["hr"]
    f.file_committee("beijing", "bj-eng")
    org = f.org("beijing", "bj-agency-eng")
    day = date(2026, 11, 1)
    assert org.id in {c["org"].id for c in directory.contacts(org.tenant_id, day)}
    orgtree.close_unit(BJ(), hr, org, "机构调整，职能划转")
    with pytest.raises(Invalid) as e:
        _open_session(clerk)
    assert any("已撤销" in str(p) for p in e.value.problems + [e.value.message])
    assert org.id not in {c["org"].id for c in directory.contacts(org.tenant_id, day)}
    rows, excluded = directory.build_rows(BJ(), org.tenant_id, 2026, day)
    assert all(r["committee"].agency_org_id != org.id for r in rows)
    assert any(x["committee"].agency_org_id == org.id for x in excluded)


# -- CF-NOTICE-1: yearly notices ------------------------------------------------------------------

@pytest.mark.rule("CF-NOTICE-1")
def test_offices_file_their_yearly_notice_and_city_hr_acknowledges_it(ctx, client, login):
    county = f.make_user("chifeng", "cf-hr-ss", "hr_officer", "cf-hr-songshan")
    office = f.make_user("chifeng", "cf-ag", "agency_clerk", "cf-agency-city")
    city = f.make_user("chifeng", "cf-city", "hr_officer", "cf-hr")
    employer = f.make_employer("chifeng", "cf-firm", "songshan")
    clerk = f.make_user("chifeng", "cf-clerk", "employer_clerk", employer.code)

    login("chifeng", clerk.username)
    assert client.get("/chifeng/agencies/notices").status_code == 403

    login("chifeng", county.username)
    resp = client.post("/chifeng/agencies/notices", data={
        "year": "2026", "title": "", "issued_on": "2026-05-06", "body": ""})
    page = resp.get_data(as_text=True)
    assert "请填写通知标题。" in page and "请填写通知正文或上传通知PDF文件。" in page
    resp = client.post("/chifeng/agencies/notices", data={
        "year": "2026", "title": "松山区2026年职称评审工作通知", "issued_on": "2026-05-06",
        "file": (io.BytesIO(f.png_bytes() if hasattr(f, "png_bytes") else b"not a pdf"),
                 "n.png")}, content_type="multipart/form-data")
    assert resp.status_code == 200
    assert db.session.scalar(sa.select(sa.func.count(YearlyNotice.id))) == 0
    resp = client.post("/chifeng/agencies/notices", data={
        "year": "2026", "title": "松山区2026年职称评审工作通知", "issued_on": "2026-05-06",
        "opens_on": "2026-05-11", "closes_on": "2026-07-10",
        "file": (io.BytesIO(f.pdf_bytes()), "通知.pdf")}, content_type="multipart/form-data")
    assert resp.status_code == 303
    notices.file_notice(CF(), f.actor(office), year=2026, title="市评委会办事机构2026年评审通知",
                        body="一、申报范围……", issued_on=date(2026, 5, 8), opens_on=None,
                        closes_on=None)
    with pytest.raises(Forbidden):
        notices.file_notice(CF(), f.actor(clerk), year=2026, title="x", body="y",
                            issued_on=date(2026, 5, 8), opens_on=None, closes_on=None)
    county_notice, office_notice = db.session.scalars(
        sa.select(YearlyNotice).order_by(YearlyNotice.id)).all()
    assert county_notice.stored_name and county_notice.mime == "application/pdf"

    assert "松山区2026年职称评审工作通知" not in client.get("/chifeng/notices").get_data(as_text=True)
    assert client.get(f"/chifeng/notices/{county_notice.id}").status_code == 404
    with pytest.raises(Forbidden):
        notices.acknowledge(CF(), f.actor(county), county_notice)

    assert [str(i["label"]) for i in agencies.waiting(city, date(2026, 5, 9))] == [
        "待确认备案的年度评审工作通知"]
    login("chifeng", city.username)
    page = client.get("/chifeng/agencies/notices").get_data(as_text=True)
    assert "市评委会办事机构2026年评审通知" in page and "松山区2026年职称评审工作通知" in page
    assert client.post(f"/chifeng/agencies/notices/{county_notice.id}/acknowledge").status_code == 303
    assert client.get(f"/chifeng/agencies/notices/{county_notice.id}/file").status_code == 200

    client.get("/chifeng/logout")
    public = client.get("/chifeng/notices").get_data(as_text=True)
    assert "松山区2026年职称评审工作通知" in public and "市评委会办事机构2026年评审通知" not in public
    assert client.get(f"/chifeng/notices/{county_notice.id}?pdf=1").data.startswith(b"%PDF")
    assert client.get(f"/chifeng/notices/{office_notice.id}").status_code == 404
    actions = list(db.session.scalars(sa.select(AuditEvent.action).filter_by(
        subject_type="yearly_notices", subject_id=county_notice.id).order_by(AuditEvent.id)))
    assert actions == ["submit", "acknowledge"]


@pytest.mark.rule("AE-AGENCY-1", "AE-COMM-1", "BJ-DIR-1")
def test_a_new_agency_goes_from_its_application_to_the_published_directory(people, client,
                                                                          login):
    """An organisation new to the tenant: applies, is filed, is given a committee, files it, and
    the directory lists it for applicants to choose."""
    from app.models import Committee, Org
    from app.workflow import committees
    hr = people["hr"]
    org = Org(tenant_id=hr.tenant_id, code="bj-agency-new", name="新设评审服务中心",
              name_en="New review centre", kind="agency", tier="city")
    db.session.add(org)
    db.session.commit()
    clerk = f.make_user("beijing", "new-ag", "agency_clerk", "bj-agency-new")
    filing = agencies.submit_filing(BJ(), f.actor(clerk), {**FILING, "phone": "010-66668888"})
    with pytest.raises(Invalid) as e:  # not yet filed: no committee
        agencies.create_committee(BJ(), f.actor(hr), org, name="新评委会", name_en="",
                                  series="engineering", levels=["senior"], specialties=[])
    assert "备案后才能设立评委会" in str(e.value.problems[0])
    agencies.decide_filing(BJ(), f.actor(hr), filing, "file", expected_version=filing.version,
                           filed_on=date(2026, 3, 1), valid_until=date(2029, 2, 28))

    login("beijing", hr.username)
    resp = client.post(f"/beijing/agencies/register/{org.id}/committees", data={
        "name": "新设工程技术评委会", "series": "engineering", "levels": ["senior", "junior_staff_x"]})
    assert "请选择该系列的评审级别。" in resp.get_data(as_text=True)
    resp = client.post(f"/beijing/agencies/register/{org.id}/committees", data={
        "name": "新设工程技术评委会", "name_en": "New engineering committee",
        "series": "engineering", "levels": ["senior", "associate_senior"],
        "specialties": ["civil"]})
    assert resp.status_code == 303
    c = db.session.scalar(sa.select(Committee).filter_by(agency_org_id=org.id))
    assert (c.series, c.levels, c.specialties, c.filed_on) == (
        ["engineering"], ["associate_senior", "senior"], ["civil"], None)

    expert = f.make_expert("beijing", "新专家")
    committees.file_committee(f.actor(clerk), c, filed_on=date(2026, 3, 10),
                              valid_until=date(2029, 3, 9), scope="本市土木工程技术人员",
                              standard_text="业绩|60\n答辩|40", procedure="材料评审、答辩、表决",
                              roster=[expert.id])
    _page, d = _publish(hr, client, login)
    db.session.refresh(d)
    mine = [r for r in d.rows if r["committee_id"] == c.id]
    assert [(r["level"], r["specialties"], r["phone"]) for r in mine] == [
        ("associate_senior", ["civil"], "010-66668888"), ("senior", ["civil"], "010-66668888")]
    client.get("/beijing/logout")
    assert "新设工程技术评委会" in client.get("/beijing/directory").get_data(as_text=True)
    assert _open_session(clerk, committee=c.code).id


def _statements(fn):
    counted = []
    listen = lambda *a, **k: counted.append(a[2])  # noqa: E731
    sa.event.listen(db.engine, "before_cursor_execute", listen)
    try:
        out = fn()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", listen)
    return out, len(counted)


@pytest.mark.rule("AE-COMM-1", "AE-AGENCY-1", "CF-NOTICE-1")
def test_waiting_work_is_a_fixed_number_of_queries_whatever_the_rows(people):
    hr, clerk = people["hr"], people["clerk"]
    today = date(2026, 10, 1)
    f.file_committee("beijing", "bj-eng", filed=(2024, 1, 1), until=(2026, 11, 1))
    db.session.expire_all()
    few, n_few = _statements(lambda: agencies.waiting(hr, today))
    mine_few, m_few = _statements(lambda: agencies.waiting(clerk, today))
    for code in ("bj-econ", "bj-art", "bj-agri", "bj-robot-jingkai"):
        f.file_committee("beijing", code, filed=(2024, 1, 1), until=(2026, 11, 20))
    db.session.expire_all()
    many, n_many = _statements(lambda: agencies.waiting(hr, today))
    _mine, m_many = _statements(lambda: agencies.waiting(clerk, today))
    assert few[0]["count"] == 1 and many[0]["count"] == 5 and many[0]["due"] == date(2026, 11, 1)
    assert n_few == n_many and m_few == m_many
    assert mine_few[0]["count"] == 1
