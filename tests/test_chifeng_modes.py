"""Chifeng review modes as the 2026 notice sets them (seed 二(一), 四(一)2, 五(四)1): classified
personnel apply in the plan of their level and are reviewed offline on paper, never in an online
blind session; the teachers' evaluations the city education bureau runs (senior school teachers,
中等职业学校教师 at every level) are blind online plus the full paper file; directed evaluation at
高级 and 中级 in plans of its own; the application form shows a tenant's own fields only; the demo
plans review each file as the real plans would."""
import shutil
from datetime import date

import pytest
import sqlalchemy as sa
import time_machine

from app.extensions import db
from app.models import Application, Status
from app.tenancy import TenantConfigError, load_tenant, tenants
from app.workflow import applications as svc
from app.workflow import eligibility, paper, policies, profiles, sessions
from app.workflow.errors import Invalid
from app.workflow.transitions import transition

from . import factories as f
from .conftest import ROOT_TENANTS, at
from .test_chifeng_routing import travel

T = "chifeng"
# A moment inside the apply window of each real 2026 plan.
APPLY = {"cf-2026-junior": at(2026, 5, 12, 9), "cf-2026-intermediate": at(2026, 6, 1, 9),
         "cf-2026-senior": at(2026, 6, 15, 9), "cf-2026-directed": at(2026, 6, 15, 9),
         "cf-2026-directed-intermediate": at(2026, 6, 1, 9)}


def cfg(slug: str = T):
    return tenants()[slug]


def teacher(username: str, employer: str, district: str = "aohan", tier: str = "county",
            parent: str | None = "cf-edu-aohan"):
    if f.org(T, employer) is None:
        f.make_employer(T, employer, district, kind="public_institution", tier=tier,
                        parent=parent)
    return f.make_user(T, username, "applicant", employer)


def submit(a, user=None):
    with time_machine.travel(APPLY[a.plan.code], tick=False):
        transition(cfg(), a, "submit", f.actor(user or a.applicant), pledge=f.PLEDGE)
    assert a.status == Status.submitted.value


# -- CF-MODE-1: classified personnel -----------------------------------------------------------

@pytest.mark.rule("CF-MODE-1")
def test_classified_applicant_applies_in_the_senior_plan_and_is_reviewed_offline_on_paper(ctx):
    assert cfg().policies.classified_review_mode == "offline_paper"
    user = teacher("cf-t1", "cf-school")
    a = f.make_application(T, user, "cf-2026-senior", "nm-eng-senior", "engineering",
                           "associate_senior", "mechanical")
    assert a.review_mode == "online_blind"  # the plan's mode for everyone else (CF-MODE-2)
    a.basic = {**a.basic, "classified": True}
    db.session.commit()
    assert a.review_mode == "offline_paper"
    assert eligibility.problems(cfg(), a) == []
    submit(a)
    # Paper review whatever the plan's mode: both forms offered, the paper file received.
    assert paper.forms_for(a) == ["review", "send"] and paper.needs_paper(a)
    assert str(paper.mode_label(a)).startswith("线下纸质材料评审")
    clerk = f.make_user(T, "cf-clerk", "employer_clerk", "cf-school")
    with time_machine.travel(at(2026, 6, 16, 9), tick=False):
        receipt = paper.receive(cfg(), f.actor(clerk), paper.file_code(a),
                                [m.code for m in cfg().checklist.material
                                 if m.code in {x.material for x in a.attachments}])
    assert receipt.matched


def _checked(username: str, plan: str, committee: str, series: str, level: str,
             specialty: str | None = None, classified: bool = False):
    a = f.make_application(T, teacher(username, "cf-school"), plan, committee, series, level,
                           specialty, status=Status.checked.value)
    a.basic = {**a.basic, "classified": classified}
    db.session.commit()
    return a


def _session(agency, plan: str, committee: str, series: str, level: str, specialties=()):
    f.file_committee(T, committee)
    return sessions.create_session(
        cfg(), f.actor(agency), committee_id=f.committee(T, committee).id,
        plan_id=f.plan(T, plan).id, series=series, level=level,
        specialties=list(specialties), panel_size=5, held_on=date(2026, 9, 15))


@pytest.mark.rule("CF-MODE-1", "CF-MODE-3", "CF-MODE-4")
def test_a_classified_file_never_joins_an_online_blind_session(ctx):
    agency = f.make_user(T, "cf-ag", "agency_clerk", "cf-agency-city")
    ordinary = _checked("cf-t1", "cf-2026-senior", "cf-teacher", "school_teacher",
                        "associate_senior")
    secret = _checked("cf-t2", "cf-2026-senior", "cf-teacher", "school_teacher",
                      "associate_senior", classified=True)
    blind = _session(agency, "cf-2026-senior", "cf-teacher", "school_teacher", "associate_senior")
    assert blind.blind and sessions.session_mode(blind) == "online_blind_paper"
    assert [a.id for a in sessions.eligible_files(blind)] == [ordinary.id]
    with pytest.raises(Invalid):
        sessions.add_files(f.actor(agency), blind, [secret.id])
    assert sessions.add_files(f.actor(agency), blind, [ordinary.id, secret.id]) == 1
    db.session.refresh(secret)
    assert secret.status == Status.checked.value
    assert [i.application_id for i in blind.items] == [ordinary.id]

    # A session held on paper (construction engineering 初级: CF-MODE-4) takes the classified
    # file like any other.
    mine = _checked("cf-t3", "cf-2026-junior", "cf-eng", "engineering", "junior_assistant",
                    "construction", classified=True)
    offline = _session(agency, "cf-2026-junior", "cf-eng", "engineering", "junior_assistant",
                       ["construction"])
    assert sessions.session_mode(offline) == "offline_paper"
    assert [a.id for a in sessions.eligible_files(offline)] == [mine.id]
    assert sessions.add_files(f.actor(agency), offline, [mine.id]) == 1


@pytest.mark.rule("CF-MODE-1")
def test_the_agency_session_page_does_not_offer_a_classified_file(app, client, login):
    with app.app_context():
        agency = f.make_user(T, "cf-ag", "agency_clerk", "cf-agency-city")
        _checked("cf-t1", "cf-2026-senior", "cf-teacher", "school_teacher", "associate_senior")
        secret = _checked("cf-t2", "cf-2026-senior", "cf-teacher", "school_teacher",
                          "associate_senior", classified=True)
        names = {a.id: a.applicant.name for a in db.session.scalars(sa.select(Application))}
        s = _session(agency, "cf-2026-senior", "cf-teacher", "school_teacher",
                     "associate_senior")
        sid, secret_id = s.id, secret.id
    with time_machine.travel(at(2026, 9, 1, 9), tick=False):
        login(T, "cf-ag")
        page = client.get(f"/{T}/agency/sessions/{sid}").get_data(as_text=True)
    assert f'value="{secret_id}"' not in page
    assert all(f'value="{i}"' in page for i in names if i != secret_id)


# -- CF-MODE-3: the education bureau's teacher evaluations ----------------------------------

@pytest.mark.rule("CF-MODE-3", "CF-MODE-2", "CF-MODE-4")
def test_teacher_evaluations_of_the_education_bureau_are_blind_online_plus_paper(ctx):
    county = teacher("cf-t1", "cf-school")
    city = teacher("cf-t2", "cf-city-school", "hongshan", tier="city", parent="cf-edu")
    make = f.make_application
    # 全市中小学教师高级: county and city schools alike.
    for who in (county, city):
        for level in ("associate_senior", "senior"):
            assert make(T, who, "cf-2026-senior", "cf-teacher", "school_teacher",
                        level).review_mode == "online_blind_paper"
    # 市直中小学教师中、初级.
    assert make(T, city, "cf-2026-intermediate", "cf-teacher", "school_teacher",
                "intermediate").review_mode == "online_blind_paper"
    # 全市中等职业学校教师高、中、初级.
    for plan, level in (("cf-2026-junior", "junior_assistant"),
                        ("cf-2026-intermediate", "intermediate"),
                        ("cf-2026-senior", "associate_senior"), ("cf-2026-senior", "senior")):
        assert make(T, county, plan, "cf-vocational-teacher", "vocational_teacher",
                    level).review_mode == "online_blind_paper"
    # Other social senior titles stay blind online without paper; a county committee's 中级 on
    # paper only.
    assert make(T, county, "cf-2026-senior", "nm-eng-senior", "engineering", "associate_senior",
                "mechanical").review_mode == "online_blind"
    assert make(T, county, "cf-2026-intermediate", "cf-ningcheng", "school_teacher",
                "intermediate").review_mode == "offline_paper"
    # The rule is the plan's data, not code.
    senior = f.plan(T, "cf-2026-senior")
    assert {"when": {"series": ["school_teacher", "vocational_teacher"]},
            "review_mode": "online_blind_paper"} in senior.mode_rules


@pytest.mark.rule("CF-MODE-3")
def test_a_senior_teacher_downloads_both_forms_and_the_paper_file_is_received(ctx):
    user = teacher("cf-t1", "cf-school")
    a = f.make_application(T, user, "cf-2026-senior", "cf-teacher", "school_teacher",
                           "associate_senior")
    submit(a)
    assert paper.forms_for(a) == ["review", "send"] and paper.needs_paper(a)
    assert str(paper.mode_label(a)) == "线上盲审盲评，另交完整纸质材料"


@pytest.mark.rule("CF-MODE-3", "CF-ROUTE-2", "CF-ROUTE-5")
def test_vocational_teachers_are_routed_through_the_education_bureaus(ctx):
    assert cfg().series("vocational_teacher").levels == [lv.code for lv in cfg().tenant.levels]
    county = teacher("cf-v1", "cf-vschool")
    a = f.make_application(T, county, "cf-2026-junior", "cf-vocational-teacher",
                           "vocational_teacher", "junior_assistant")
    assert travel(a, outsiders=("cf-hr", "cf-hr-hongshan")) == [
        "cf-vschool", "cf-edu-aohan", "cf-hr-aohan", "cf-edu", "cf-agency-city"]
    senior = f.make_application(T, teacher("cf-v2", "cf-vschool"), "cf-2026-senior",
                                "cf-vocational-teacher", "vocational_teacher",
                                "associate_senior")
    assert travel(senior, outsiders=("cf-hr",)) == [
        "cf-vschool", "cf-edu-aohan", "cf-hr-aohan", "cf-edu", "cf-agency-city"]
    city = teacher("cf-v3", "cf-city-vschool", "hongshan", tier="city", parent="cf-edu")
    b = f.make_application(T, city, "cf-2026-intermediate", "cf-vocational-teacher",
                           "vocational_teacher", "intermediate")
    assert travel(b, outsiders=("cf-hr", "cf-hr-hongshan")) == [
        "cf-city-vschool", "cf-edu", "cf-agency-city"]


# -- CF-POL-1: directed evaluation at 高级 and 中级 ----------------------------------------------

@pytest.mark.rule("CF-POL-1", "CF-MODE-4")
def test_directed_evaluation_at_intermediate_and_senior_in_plans_of_its_own(ctx):
    rule = cfg().policy("directed")
    plans = {p.code: p for p in cfg().plans.plan if p.code in rule.plans}
    assert sorted(lv for p in plans.values() for lv in p.levels) == sorted(
        ["intermediate", "associate_senior", "senior"])
    assert policies.allowed(cfg(), "cf-2026-directed-intermediate") == ["directed"]
    assert "directed" not in policies.allowed(cfg(), "cf-2026-intermediate")
    user = teacher("cf-t0", "cf-school")
    clerk = f.make_user(T, "cf-clerk", "employer_clerk", "cf-school")
    profiles.verify(cfg(), f.actor(clerk), user.id, now=at(2026, 5, 1, 9))
    with time_machine.travel(APPLY["cf-2026-directed-intermediate"], tick=False):
        a = svc.create_application(cfg(), f.actor(user), user,
                                   plan_id=f.plan(T, "cf-2026-directed-intermediate").id,
                                   committee_id=f.committee(T, "cf-teacher").id,
                                   series="school_teacher", level="intermediate", specialty=None)
    assert (a.policy, a.level) == ("directed", "intermediate")
    for username, plan, level, series, committee in (
            ("cf-t1", "cf-2026-directed-intermediate", "intermediate", "school_teacher",
             "cf-teacher"),
            ("cf-t2", "cf-2026-directed", "associate_senior", "school_teacher", "cf-teacher"),
            ("cf-t3", "cf-2026-directed", "senior", "vocational_teacher",
             "cf-vocational-teacher")):
        full = f.make_application(T, teacher(username, "cf-school"), plan, committee, series,
                                  level, policy="directed")
        verdict = policies.assess(cfg(), full)
        assert verdict.qualifies, [str(c.text) for c in verdict.checks]
        assert policies.outside_quota(cfg(), full)  # its own separately listed quota
        assert full.review_mode == "offline_paper"
        submit(full)
    # The ordinary intermediate plan does not take a directed file.
    other = f.make_application(T, teacher("cf-t4", "cf-school"), "cf-2026-intermediate",
                               "cf-teacher", "school_teacher", "intermediate",
                               policy="directed")
    assert any("该政策只在以下申报计划中受理" in str(p)
               for p in eligibility.problems(cfg(), other))


# -- the application form follows the tenant ---------------------------------------------------

# Optional fields by the name of their input: each tenant's form shows exactly its own.
FIELDS = {"classified", "poge", "poge_recommenders", "intl_qualification", "exam_passed",
          "exam_year", "policy", "current_level", "title_on", "township_months",
          "township_years", "place", "edu_level"}
SHOWN = {"beijing": {"poge", "poge_recommenders", "intl_qualification", "exam_passed"},
         "chifeng": {"classified", "exam_year", "policy", "current_level", "title_on",
                     "township_months", "township_years", "place", "edu_level"}}
DRAFT = {"beijing": ("bj-2026", "bj-eng", "engineering", "intermediate", "mechanical",
                     at(2026, 7, 8, 9)),
         "chifeng": ("cf-2026-intermediate", "cf-eng", "engineering", "intermediate",
                     "mechanical", at(2026, 6, 1, 9))}


def _draft_of(app, slug: str) -> int:
    plan, committee, series, level, specialty, _ = DRAFT[slug]
    with app.app_context():
        f.make_employer(slug, "emp", "haidian" if slug == "beijing" else "songshan")
        user = f.make_user(slug, "a1", "applicant", "emp")
        return f.make_application(slug, user, plan, committee, series, level, specialty).id


def _inputs(page: str) -> set[str]:
    return {name for name in FIELDS if f'name="{name}"' in page}


@pytest.mark.parametrize("slug", ["beijing", "chifeng"])
def test_the_application_form_shows_the_tenants_own_fields_only(app, client, login, slug):
    app_id = _draft_of(app, slug)
    with time_machine.travel(DRAFT[slug][-1], tick=False):
        login(slug, "a1")
        page = client.get(f"/{slug}/me/applications/{app_id}").get_data(as_text=True)
    assert _inputs(page) == SHOWN[slug]
    assert ("苏木乡镇" in page) is (slug == "chifeng")
    assert ("涉密" in page) is (slug == "chifeng")
    assert ("破格" in page) is (slug == "beijing")


@pytest.mark.rule("CF-MODE-1")
def test_chifeng_keeps_classified_and_ignores_fields_its_data_does_not_ask_for(
        app, client, login):
    app_id = _draft_of(app, "chifeng")
    with time_machine.travel(DRAFT["chifeng"][-1], tick=False):
        login("chifeng", "a1")
        resp = client.post(f"/chifeng/me/applications/{app_id}/basic", data={
            "gender": "male", "birth_date": "1985-06-15", "classified": "y", "poge": "y",
            "poge_recommenders": "张三,李四", "intl_qualification": "ieee_senior"})
        assert resp.status_code == 303
        client.post(f"/chifeng/me/applications/{app_id}/entries/work", data={
            "org_name": "松山区某厂", "position": "技术员", "start": "2010-08-01",
            "place": "township"})
        page = client.get(f"/chifeng/me/applications/{app_id}").get_data(as_text=True)
    assert "线下纸质材料评审（涉密人员线下申报、线下评审）" in page
    with app.app_context():
        a = db.session.get(Application, app_id)
        assert a.basic["classified"] is True and a.review_mode == "offline_paper"
        assert not a.poge and a.basic["poge_recommenders"] == "" and a.intl_qualification is None
        assert a.entries[-1].data["place"] == "township"


def test_beijing_ignores_classified_and_township_fields(app, client, login):
    app_id = _draft_of(app, "beijing")
    with time_machine.travel(DRAFT["beijing"][-1], tick=False):
        login("beijing", "a1")
        client.post(f"/beijing/me/applications/{app_id}/basic", data={
            "gender": "male", "birth_date": "1985-06-15", "classified": "y", "poge": "y",
            "poge_recommenders": "张三,李四", "township_months": "3", "exam_year": "2025"})
        client.post(f"/beijing/me/applications/{app_id}/entries/work", data={
            "org_name": "海淀某厂", "position": "工程师", "start": "2010-08-01",
            "place": "township"})
    with app.app_context():
        a = db.session.get(Application, app_id)
        assert a.basic["classified"] is False and a.review_mode == "named"
        assert a.basic["township_months"] is None and a.basic["exam_year"] is None
        assert a.poge and a.basic["poge_recommenders"] == "张三,李四"
        assert "place" not in a.entries[-1].data


# -- the demo plans review each file as the real plans do ------------------------------------

def _modes_match(slug: str, extra_committees=()):
    """Every committee × series × specialty × level the demo plan takes is reviewed in the mode
    of the real plan of that level; the demo plan takes the levels of the real plans."""
    from app.demo import load_demo
    from app.models import Committee, Plan

    c = cfg(slug)
    load_demo(c, f.tenant_id(slug), date(2027, 3, 15))
    demo = db.session.scalar(sa.select(Plan).filter_by(tenant_id=f.tenant_id(slug),
                                                        is_demo=True))
    reserved = {code for r in c.policies.policy for code in r.plans}
    real = [f.plan(slug, p.code) for p in c.plans.plan if p.code not in reserved]
    assert sorted(demo.levels) == sorted(lv for p in real for lv in p.levels)
    committees = db.session.scalars(sa.select(Committee).filter_by(
        tenant_id=f.tenant_id(slug))).all()
    seen = set()
    for committee in committees:
        for series in committee.series:
            specialties = [s.code for s in c.series(series).specialties] or [None]
            for specialty in specialties:
                for level in committee.levels:
                    plan = next(p for p in real if level in p.levels)
                    args = (committee, series, specialty, level)
                    assert demo.mode_for(*args) == plan.mode_for(*args), args
                    seen.add(plan.mode_for(*args))
    return seen


@pytest.mark.rule("CF-MODE-2", "CF-MODE-3", "CF-MODE-4")
def test_the_chifeng_demo_plan_reviews_each_file_as_the_real_plans(ctx):
    from app.models import Committee
    hospital = f.org(T, "cf-self-hospital")
    db.session.add(Committee(tenant_id=hospital.tenant_id, code="cf-self-health",
                             name="医院自主评审委员会", agency_org_id=hospital.id,
                             series=["health"], levels=["intermediate", "associate_senior"]))
    db.session.commit()
    with time_machine.travel(at(2027, 3, 15, 9), tick=False):
        seen = _modes_match(T)
    assert seen == {"online_blind", "online_blind_paper", "offline_paper"}


def test_the_beijing_demo_plan_reviews_each_file_as_the_real_plan(ctx):
    with time_machine.travel(at(2027, 3, 15, 9), tick=False):
        assert _modes_match("beijing") == {"named"}


@pytest.mark.rule("CF-MODE-3")
@pytest.mark.parametrize("file,old,new,expect", [
    ("plans/2026.toml", 'when = { series = ["school_teacher", "vocational_teacher"] }',
     'when = { series = ["school_teachers", "vocational_teacher"] }',
     "plan.2.mode.0.when.series: unknown series ['school_teachers']"),
    ("demo.toml", 'when = { level = ["associate_senior", "senior"] }',
     'when = { level = ["associate_senior", "full_senior"] }',
     "demo_plan.mode.2.when.level: unknown level ['full_senior']"),
])
def test_a_misspelt_mode_rule_stops_start_up(tmp_path, file, old, new, expect):
    folder = tmp_path / T
    shutil.copytree(ROOT_TENANTS / T, folder)
    path = folder / file
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(TenantConfigError) as e:
        load_tenant(folder)
    assert expect in str(e.value), str(e.value)
