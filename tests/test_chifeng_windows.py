"""Chifeng 2026: per-level windows at their exact boundaries, one series per level and year, the
final plan choice, exam rules and the employer-verified profile, on the real tenant data."""
from datetime import date

import pytest
import sqlalchemy as sa
import time_machine

from app.extensions import db
from app.models import Application, AuditEvent, Entry, Status
from app.tenancy import tenants
from app.workflow import applications, eligibility, profiles, queries
from app.workflow.deadlines import close_stage
from app.workflow.errors import Forbidden, Invalid, WindowClosed
from app.workflow.transitions import transition

from . import factories as f
from .conftest import at

# (plan, level, last day to apply, last day for tiers to report) from tenants/chifeng/plans.
LEVELS = [("cf-2026-junior", "junior_assistant", date(2026, 5, 25), date(2026, 6, 10)),
          ("cf-2026-intermediate", "intermediate", date(2026, 6, 10), date(2026, 6, 25)),
          ("cf-2026-senior", "associate_senior", date(2026, 7, 10), date(2026, 7, 20))]
COMMITTEE = {"associate_senior": "nm-eng-senior", "senior": "nm-eng-senior"}


def cfg():
    return tenants()["chifeng"]


def last_second(d: date):
    return at(d.year, d.month, d.day, 23, 59, 59)


def first_second_after(d: date):
    return at(d.year, d.month, d.day + 1, 0, 0, 0)


@pytest.fixture
def people(ctx):
    """An approved county employer, its clerk, and two of its applicants with verified profiles."""
    f.make_employer("chifeng", "cf-firm", "songshan")
    clerk = f.make_user("chifeng", "cf-clerk", "employer_clerk", "cf-firm")
    staff = [f.make_user("chifeng", f"cf-a{i}", "applicant", "cf-firm") for i in range(2)]
    for u in staff:
        profiles.verify(cfg(), f.actor(clerk), u.id, now=at(2026, 5, 1, 9))
    return clerk, staff


def new(user, plan_code, level, series="engineering", specialty="mechanical", when=None):
    committee = f.committee("chifeng", COMMITTEE.get(level, "cf-eng"))
    with time_machine.travel(when or at(2026, 6, 15, 9), tick=False):
        return applications.create_application(
            cfg(), f.actor(user), user, plan_id=f.plan("chifeng", plan_code).id,
            committee_id=committee.id, series=series, level=level, specialty=specialty)


def count():
    return db.session.scalar(sa.select(sa.func.count(Application.id)))


# -- CF-WIN-1: apply windows --------------------------------------------------------------

@pytest.mark.rule("CF-WIN-1")
@pytest.mark.parametrize("plan,level,apply_close,_report", LEVELS)
def test_no_new_record_after_the_level_apply_close(people, plan, level, apply_close, _report):
    _, (a, b) = people
    made = new(a, plan, level, when=last_second(apply_close))
    assert made.status == Status.draft.value
    with pytest.raises(WindowClosed) as e:
        new(b, plan, level, when=first_second_after(apply_close))
    assert apply_close.isoformat() in str(e.value.message)
    assert count() == 1


@pytest.mark.rule("CF-WIN-1")
def test_submission_and_edits_stop_at_the_apply_close(people):
    _, (a, b) = people
    on_time = f.make_application("chifeng", a, "cf-2026-junior", "cf-eng", "engineering",
                                 "junior_assistant", "mechanical")
    late = f.make_application("chifeng", b, "cf-2026-junior", "cf-eng", "engineering",
                              "junior_assistant", "mechanical")
    with time_machine.travel(last_second(date(2026, 5, 25)), tick=False):
        transition(cfg(), on_time, "submit", f.actor(a), pledge=f.PLEDGE)
    assert on_time.status == Status.submitted.value
    with time_machine.travel(first_second_after(date(2026, 5, 25)), tick=False):
        with pytest.raises(WindowClosed):
            transition(cfg(), late, "submit", f.actor(b), pledge=f.PLEDGE)
        with pytest.raises(WindowClosed):
            applications.add_entry(cfg(), late, f.actor(b), "papers",
                                   {"title": "迟到的论文", "journal": "刊物", "year": "2026"})
    assert late.status == Status.draft.value
    assert db.session.scalar(sa.select(sa.func.count(Entry.id)).filter_by(
        application_id=late.id, section="papers")) == 0


@pytest.mark.rule("CF-WIN-1", "CF-WIN-2")
@pytest.mark.parametrize("plan,level,apply_close,report_close", LEVELS)
def test_the_job_closes_each_level_on_its_own_dates(people, plan, level, apply_close,
                                                    report_close):
    _, (a, b) = people
    committee = COMMITTEE.get(level, "cf-eng")
    draft = f.make_application("chifeng", a, plan, committee, "engineering", level, "mechanical")
    held = f.make_application("chifeng", b, plan, committee, "engineering", level, "mechanical",
                              status=Status.submitted.value)
    p = f.plan("chifeng", plan)
    with time_machine.travel(last_second(apply_close), tick=False):
        assert close_stage(p, "apply").status == "early"
    with time_machine.travel(first_second_after(apply_close), tick=False):
        assert close_stage(p, "apply").rows_changed == 1
    with time_machine.travel(last_second(report_close), tick=False):
        assert close_stage(p, "tier_report").status == "early"
    with time_machine.travel(first_second_after(report_close), tick=False):
        assert close_stage(p, "tier_report").rows_changed == 1
    db.session.expire_all()
    assert (draft.status, held.status) == (Status.abandoned.value, Status.not_recommended.value)
    # Other levels' plans are untouched by this level's closes.
    assert {e.subject_id for e in db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action.in_(("close_apply", "close_tier_report"))))} == {draft.id, held.id}


# -- CF-WIN-2: tiers report inside their window ------------------------------------------

def _held_by_county_hr(user, plan, level):
    """A submitted file sitting with the county HR bureau, next the city agency."""
    app = f.make_application("chifeng", user, plan, COMMITTEE.get(level, "cf-eng"),
                             "engineering", level, "mechanical", status=Status.submitted.value)
    county = f.org("chifeng", "cf-hr-songshan")
    app.route = [{"kind": "employer", "org_id": app.employer_org_id},
                 {"kind": "county_hr", "org_id": county.id},
                 {"kind": "agency", "org_id": f.org("chifeng", "cf-agency-city").id}]
    app.route_pos, app.holder_org_id = 1, county.id
    db.session.commit()
    return app


@pytest.mark.rule("CF-WIN-2")
@pytest.mark.parametrize("plan,level,_apply,report_close", LEVELS)
def test_a_tier_cannot_report_after_its_deadline(people, plan, level, _apply, report_close):
    _, (a, b) = people
    hr = f.make_user("chifeng", "cf-hr-ss", "hr_officer", "cf-hr-songshan")
    on_time, late = _held_by_county_hr(a, plan, level), _held_by_county_hr(b, plan, level)
    with time_machine.travel(last_second(report_close), tick=False):
        transition(cfg(), on_time, "recommend", f.actor(hr), opinion="同意推荐")
    with time_machine.travel(first_second_after(report_close), tick=False):
        with pytest.raises(WindowClosed) as e:
            transition(cfg(), late, "recommend", f.actor(hr), opinion="补报")
    assert report_close.isoformat() in str(e.value.message)
    assert (on_time.status, late.status) == (Status.recommended.value, Status.submitted.value)


# -- CF-ONE-1 / CF-PLAN-1 ----------------------------------------------------------------

@pytest.mark.rule("CF-ONE-1", "CF-PLAN-1")
def test_one_series_per_level_and_year_across_plans(people):
    _, (a, _b) = people
    first = new(a, "cf-2026-senior", "associate_senior")
    with pytest.raises(Invalid) as e:  # another series, same level, same plan
        new(a, "cf-2026-senior", "associate_senior", series="economics", specialty=None)
    with pytest.raises(Invalid) as e2:  # same level in another plan of the year
        new(a, "cf-2026-directed", "associate_senior")
    assert "同一年度同一级别" in str(e2.value.message) and "不能修改或新增" in str(e2.value.message)
    assert "不能重复申报" in str(e.value.message)
    assert count() == 1 and first.plan.code == "cf-2026-senior"


@pytest.mark.rule("CF-PLAN-1")
def test_an_abandoned_choice_still_binds_the_year(people):
    _, (a, _b) = people
    f.make_application("chifeng", a, "cf-2026-senior", "nm-eng-senior", "engineering",
                       "associate_senior", "mechanical", status=Status.abandoned.value)
    with pytest.raises(Invalid):
        new(a, "cf-2026-directed", "associate_senior")


@pytest.mark.rule("CF-ONE-1")
def test_beijing_keeps_one_per_plan_only(ctx):
    assert not tenants()["beijing"].policies.one_series_per_level_year
    assert cfg().policies.one_series_per_level_year


@pytest.mark.rule("CF-WIN-1", "CF-PLAN-1")
def test_entries_dated_after_the_level_close_do_not_count(people):
    _, (a, _b) = people
    app = f.make_application("chifeng", a, "cf-2026-junior", "cf-eng", "engineering",
                             "junior_assistant", "mechanical")
    assert not [p for p in eligibility.problems(cfg(), app) if "申报截止日" in str(p)]
    db.session.add_all([
        Entry(application_id=app.id, section="education", data={
            "school": "赤峰学院", "major": "机械", "degree": "本科", "graduated_on": "2026-05-26"}),
        Entry(application_id=app.id, section="work", data={
            "org_name": "新单位", "position": "技术员", "start": "2026-05-25"}),
        Entry(application_id=app.id, section="papers", data={
            "title": "明年的论文", "journal": "刊物", "year": "2027"})])
    db.session.commit()
    late = [str(p) for p in eligibility.problems(cfg(), app) if "申报截止日" in str(p)]
    assert len(late) == 2
    assert any("赤峰学院" in p and "2026-05-25" in p for p in late)
    assert any("明年的论文" in p for p in late)


# -- CF-EXAM-1 ----------------------------------------------------------------------------

@pytest.mark.rule("CF-EXAM-1")
def test_exam_replaces_review_titles_are_not_offered(people):
    _, (a, _b) = people
    with pytest.raises(Invalid) as e:
        new(a, "cf-2026-intermediate", "intermediate", series="accounting", specialty=None,
            when=at(2026, 6, 1, 9))
    assert "以考代评" in str(e.value.message)
    assert count() == 0
    # Shown beside the new-application form: economics and accounting, assistant and intermediate.
    assert len(queries.exam_only(cfg())) == 4


@pytest.mark.rule("CF-EXAM-1")
@pytest.mark.parametrize("exam_year,ok", [(None, False), (2023, False), (2024, True),
                                          (2026, True), (2027, False)])
def test_exam_plus_review_senior_needs_a_valid_score(people, exam_year, ok):
    _, (a, _b) = people
    app = f.make_application("chifeng", a, "cf-2026-senior", "nm-eng-senior", "economics",
                             "associate_senior", exam_passed=True)
    app.basic = {**app.basic, "exam_year": exam_year}
    db.session.commit()
    exam = [str(p) for p in eligibility.problems(cfg(), app)
            if "考评结合" in str(p) or "有效期" in str(p)]
    assert (exam == []) is ok, exam


@pytest.mark.rule("CF-EXAM-1")
def test_an_expired_score_refuses_submission(people):
    _, (a, _b) = people
    app = f.make_application("chifeng", a, "cf-2026-senior", "nm-eng-senior", "economics",
                             "associate_senior")
    app.basic = {**app.basic, "exam_year": 2022}
    db.session.commit()
    with time_machine.travel(at(2026, 7, 1, 9), tick=False):
        with pytest.raises(Invalid) as e:
            transition(cfg(), app, "submit", f.actor(a), pledge=f.PLEDGE)
    assert any("已过有效期" in str(p) for p in e.value.problems)
    assert app.status == Status.draft.value


# -- CF-REG-1 -----------------------------------------------------------------------------

@pytest.mark.rule("CF-REG-1")
def test_an_unverified_profile_cannot_apply_until_the_employer_verifies(people):
    clerk, _staff = people
    fresh = f.make_user("chifeng", "cf-new", "applicant", "cf-firm")
    with pytest.raises(Invalid) as e:
        new(fresh, "cf-2026-senior", "associate_senior")
    assert "尚未经所在单位审核通过" in str(e.value.message)
    assert [u.id for u in profiles.unverified_staff(fresh.tenant_id, clerk.org_id)] == [fresh.id]
    profiles.verify(cfg(), f.actor(clerk), fresh.id, now=at(2026, 6, 15, 8))
    assert new(fresh, "cf-2026-senior", "associate_senior").status == Status.draft.value
    event = db.session.scalar(sa.select(AuditEvent).filter_by(action="verify_profile",
                                                              subject_id=fresh.id))
    assert (event.subject_type, event.actor_id, event.actor_org_id) == (
        "users", clerk.id, clerk.org_id)


@pytest.mark.rule("CF-REG-1")
def test_only_the_own_unit_verifies(people):
    _clerk, _staff = people
    f.make_employer("chifeng", "cf-other", "hongshan")
    outsider = f.make_user("chifeng", "cf-o-clerk", "employer_clerk", "cf-other")
    fresh = f.make_user("chifeng", "cf-new", "applicant", "cf-firm")
    with pytest.raises(Forbidden):
        profiles.verify(cfg(), f.actor(outsider), fresh.id)
    with pytest.raises(Forbidden):
        profiles.verify(cfg(), f.actor(fresh), fresh.id)
    assert not profiles.is_verified(fresh)


@pytest.mark.rule("CF-REG-1")
def test_the_clerk_page_lists_and_verifies(app, client, login):
    with app.app_context():
        f.make_employer("chifeng", "cf-firm", "songshan")
        f.make_user("chifeng", "cf-clerk", "employer_clerk", "cf-firm")
        uid = f.make_user("chifeng", "cf-new", "applicant", "cf-firm", name="王新").id
    login("chifeng", "cf-clerk")
    page = client.get("/chifeng/office/staff")
    assert page.status_code == 200 and "王新" in page.get_data(as_text=True)
    r = client.post(f"/chifeng/office/staff/{uid}/verify")
    assert r.status_code == 303 and r.headers["Location"].endswith("/chifeng/office/staff")
    after = client.get("/chifeng/office/staff").get_data(as_text=True)
    assert "暂无待审核人员" in after and "已审核通过：王新" in after


@pytest.mark.rule("CF-REG-1")
def test_beijing_needs_no_verification(ctx):
    f.make_employer("beijing", "emp", "haidian")
    u = f.make_user("beijing", "bj-a", "applicant", "emp")
    assert not profiles.needs_verification(tenants()["beijing"], u)
    with time_machine.travel(at(2026, 7, 20, 9), tick=False):
        app = applications.create_application(
            tenants()["beijing"], f.actor(u), u, plan_id=f.plan("beijing", "bj-2026").id,
            committee_id=f.committee("beijing", "bj-eng").id, series="engineering",
            level="intermediate", specialty="mechanical")
    assert app.status == Status.draft.value
