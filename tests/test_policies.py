"""Chifeng preferential application policies (seed 五(三)–(六)): each condition checked from the
file's own data and listed in the user's language; once per person, expiry, the directed plan's
separate quota, the waived continuing-education material; rank-by-rank progression otherwise."""
import re
import shutil
from datetime import date

import pytest
import sqlalchemy as sa
import time_machine

from app.extensions import db
from app.models import Application, Entry, Status
from app.tenancy import TenantConfigError, load_tenant, tenants
from app.workflow import applications as svc
from app.workflow import eligibility, policies, profiles
from app.workflow.errors import Invalid
from app.workflow.transitions import transition

from . import factories as f
from .conftest import ROOT_TENANTS, at

T = "chifeng"
# (plan, a moment inside its apply window) of the real 2026 plans.
PLAN = {"intermediate": ("cf-2026-intermediate", at(2026, 6, 1, 9)),
        "associate_senior": ("cf-2026-senior", at(2026, 6, 15, 9)),
        "directed": ("cf-2026-directed", at(2026, 6, 15, 9))}


def cfg():
    return tenants()[T]


def person(username: str, employer: str, district: str = "ningcheng", kind: str = "state_owned",
           tier: str = "county"):
    if f.org(T, employer) is None:
        f.make_employer(T, employer, district, kind=kind, tier=tier)
    return f.make_user(T, username, "applicant", employer)


def draft(user, committee: str, series: str, level: str, specialty: str | None = None, *,
          plan: str | None = None, policy: str | None = None, education=(), work=(), **basic):
    """A complete draft whose education entries are (level, graduated_on) and work entries
    (start, end, place); `basic` fields are set over the factory's."""
    a = f.make_application(T, user, plan or PLAN[level][0], committee, series, level, specialty,
                           policy=policy)
    if education or work:
        for e in list(a.entries):
            db.session.delete(e)
        for edu, day in education:
            db.session.add(Entry(application_id=a.id, section="education", data={
                "school": "内蒙古大学", "major": "专业", "degree": "学士", "graduated_on": day,
                "edu_level": edu}))
        for start, end, place in work:
            db.session.add(Entry(application_id=a.id, section="work", data={
                "org_name": "单位", "position": "技术员", "start": start, "end": end,
                "place": place}))
    a.basic = {**a.basic, **basic}
    db.session.commit()
    db.session.refresh(a)
    return a


def texts(checks) -> list[str]:
    return [str(c.text) for c in checks]


def problems(a) -> list[str]:
    return [str(p) for p in eligibility.problems(cfg(), a)]


def submit(a, user, when=None):
    when = when or PLAN["directed" if a.policy == "directed" else a.level][1]
    with time_machine.travel(when, tick=False):
        transition(cfg(), a, "submit", f.actor(user), pledge=f.PLEDGE)


def refused(a, user) -> list[str]:
    with pytest.raises(Invalid) as e:
        submit(a, user)
    assert a.status == Status.draft.value
    return [str(p) for p in e.value.problems]


# -- CF-POL-1: directed evaluation, a separately listed quota ---------------------------------

@pytest.mark.rule("CF-POL-1")
def test_a_directed_plan_takes_only_the_directed_policy_which_no_other_plan_offers(ctx):
    assert policies.allowed(cfg(), "cf-2026-directed") == ["directed"]
    ordinary = policies.allowed(cfg(), "cf-2026-senior")
    assert ordinary[0] is None and "directed" not in ordinary and "non_public" in ordinary
    assert policies.allowed(tenants()["beijing"], "bj-2026") == [None]  # Beijing: none


@pytest.mark.rule("CF-POL-1")
def test_an_application_in_the_directed_plan_is_made_under_the_directed_policy(ctx):
    f.make_employer(T, "cf-school", "ningcheng", kind="public_institution")
    clerk = f.make_user(T, "cf-clerk", "employer_clerk", "cf-school")
    user = f.make_user(T, "cf-t1", "applicant", "cf-school")
    profiles.verify(cfg(), f.actor(clerk), user.id, now=at(2026, 5, 1, 9))
    with time_machine.travel(PLAN["directed"][1], tick=False):
        a = svc.create_application(cfg(), f.actor(user), user,
                                   plan_id=f.plan(T, "cf-2026-directed").id,
                                   committee_id=f.committee(T, "cf-teacher").id,
                                   series="school_teacher", level="associate_senior",
                                   specialty=None)
    assert a.policy == "directed" and policies.outside_quota(cfg(), a)


@pytest.mark.rule("CF-POL-1")
def test_a_county_teacher_qualifies_for_directed_evaluation_and_submits(ctx):
    user = person("cf-t1", "cf-school")
    a = draft(user, "cf-teacher", "school_teacher", "associate_senior", plan="cf-2026-directed",
              policy="directed")
    verdict = policies.assess(cfg(), a)
    assert verdict.qualifies, texts(verdict.checks)
    assert any("在该政策单列的申报计划中申报" in t for t in texts(verdict.checks))
    submit(a, user)
    assert a.status == Status.submitted.value


@pytest.mark.rule("CF-POL-1")
def test_directed_evaluation_refuses_ordinary_files_city_units_and_other_plans(ctx):
    county = person("cf-t1", "cf-school")
    ordinary = draft(county, "cf-teacher", "school_teacher", "associate_senior",
                     plan="cf-2026-directed")
    assert any("本申报计划只受理按“基层定向评价”申报" in p for p in refused(ordinary, county))
    city = person("cf-t2", "cf-city-school", "hongshan", tier="city")
    a = draft(city, "cf-teacher", "school_teacher", "associate_senior", plan="cf-2026-directed",
              policy="directed")
    assert any("该政策只适用于旗县区基层单位的人员" in p for p in refused(a, city))
    elsewhere = draft(person("cf-t3", "cf-school"), "cf-teacher", "school_teacher",
                      "associate_senior", policy="directed")
    assert any("该政策只在以下申报计划中受理：2026年度赤峰市基层定向评价高级职称评审" in p
               for p in problems(elsewhere))


# -- CF-POL-2: 30 years in a county or 20 in a township ---------------------------------------

@pytest.mark.rule("CF-POL-2")
def test_thirty_years_in_a_county_or_twenty_in_a_township_qualify_outside_the_quota(ctx):
    county = draft(person("cf-e1", "cf-works"), "nm-eng-senior", "engineering", "associate_senior",
                   "mechanical", policy="long_service", education=[("college", "1994-07-01")],
                   work=[("1994-08-01", "", "county")])
    verdict = policies.assess(cfg(), county)
    assert verdict.qualifies
    assert "在旗县区从事专业工作满30年：已满31年11个月" in texts(verdict.checks)
    assert policies.outside_quota(cfg(), county)
    township = draft(person("cf-e2", "cf-works"), "nm-eng-senior", "engineering",
                     "associate_senior", "mechanical", policy="long_service",
                     work=[("2000-03-01", "2004-03-01", "city"), ("2005-01-01", "", "township")])
    assert policies.assess(cfg(), township).qualifies
    assert "在苏木乡镇从事专业工作满20年：已满21年6个月" in texts(
        policies.assess(cfg(), township).checks)


@pytest.mark.rule("CF-POL-2")
def test_long_service_short_of_both_lists_each_shortfall(ctx):
    user = person("cf-e1", "cf-works")
    a = draft(user, "nm-eng-senior", "engineering", "associate_senior", "mechanical",
              policy="long_service", work=[("2000-07-10", "2014-07-10", "city"),
                                           ("2014-07-10", "", "township")])
    found = refused(a, user)
    assert ("在旗县区从事专业工作满30年：已满12年，尚差18年；或在苏木乡镇从事专业工作满20年："
            "已满12年，尚差8年") in found


# -- CF-POL-3: township institution graduates apply for 中级 directly --------------------------

def township_graduate(user, edu: str, graduated: str, start: str, **kw):
    return draft(user, "cf-ningcheng", "agriculture", "intermediate", policy="township_graduate",
                 education=[(edu, graduated)], work=[(start, "", "township")],
                 current_level="", title_on="", **kw)


@pytest.mark.rule("CF-POL-3")
def test_a_bachelor_two_years_in_a_township_institution_applies_for_intermediate_directly(ctx):
    user = person("cf-g1", "cf-station", kind="public_institution")
    a = township_graduate(user, "bachelor", "2024-05-31", "2024-06-01")
    verdict = policies.assess(cfg(), a)
    # Counted to the 中级 application close, 10 Jun 2026; no 助理级 title needed.
    assert verdict.qualifies and verdict.direct and verdict.progression == []
    assert "大学本科毕业后在苏木乡镇专业技术岗位工作满2年：已满2年" in texts(verdict.checks)
    assert "现工作单位位于苏木乡镇" in texts(verdict.checks)
    submit(a, user)
    assert a.status == Status.submitted.value


@pytest.mark.rule("CF-POL-3")
def test_a_college_graduate_short_of_four_years_is_told_the_shortfall_and_rank_by_rank(ctx):
    user = person("cf-g1", "cf-station", kind="public_institution")
    a = township_graduate(user, "college", "2023-06-30", "2023-07-01")
    found = refused(a, user)
    assert any("；或大学专科毕业后在苏木乡镇专业技术岗位工作满4年：已满2年11个月，尚差1年1个月" in p
               for p in found)
    # Not qualifying, the ordinary rank-by-rank rule applies: no 助理级 title on file.
    assert any("逐级申报：须已取得助理级职称" in p for p in found)


@pytest.mark.rule("CF-POL-3")
def test_township_graduates_only_in_public_institutions(ctx):
    user = person("cf-g1", "cf-firm", kind="non_public")
    a = township_graduate(user, "bachelor", "2020-06-30", "2020-07-01")
    assert any("该政策只适用于以下类型单位的人员：事业单位" in p for p in refused(a, user))


# -- CF-POL-4: city staff serving townships -----------------------------------------------------

def city_engineer(username="cf-c1", **basic):
    user = person(username, "cf-design", "hongshan", tier="city")
    a = draft(user, "nm-eng-senior", "engineering", "associate_senior", "mechanical",
              education=[("bachelor", "2010-07-01")], work=[("2010-08-01", "", "city")],
              **{"current_level": "intermediate", "title_on": "2021-09-01", **basic})
    return user, a


@pytest.mark.rule("CF-POL-4")
def test_three_years_of_township_service_bring_the_next_title_one_year_early(ctx):
    user, ordinary = city_engineer()
    assert "取得中级职称后满5年：已满4年10个月，尚差2个月" in refused(ordinary, user)
    other, a = city_engineer("cf-c2", township_years=3, township_months=0)
    a.policy = "township_service"
    db.session.commit()
    verdict = policies.assess(cfg(), a)
    assert verdict.qualifies and verdict.early_years == 1 and not verdict.waives_ce
    assert "取得中级职称后满4年：已满4年10个月" in texts(verdict.progression)
    assert "continuing_education" in {m.code for m in eligibility.required_materials(cfg(), a)}
    submit(a, other)
    assert a.status == Status.submitted.value


@pytest.mark.rule("CF-POL-4")
def test_three_months_in_a_township_this_year_waive_the_continuing_education_material(ctx):
    user, a = city_engineer(township_months=4, township_years=0, title_on="2020-09-01")
    a.policy = "township_service"
    for att in [x for x in a.attachments if x.material == "continuing_education"]:
        db.session.delete(att)
    db.session.commit()
    db.session.refresh(a)
    verdict = policies.assess(cfg(), a)
    assert verdict.qualifies and verdict.waives_ce and verdict.early_years == 0
    assert "continuing_education" not in {m.code for m in eligibility.required_materials(cfg(), a)}
    submit(a, user)
    assert a.status == Status.submitted.value


@pytest.mark.rule("CF-POL-4")
def test_township_service_short_of_both_is_refused_with_both_reasons(ctx):
    user, a = city_engineer(township_months=2, township_years=1)
    a.policy = "township_service"
    a.attachments[:] = [x for x in a.attachments if x.material != "continuing_education"]
    db.session.commit()
    found = refused(a, user)
    assert ("本年度服务苏木乡镇、嘎查村满3个月，免除当年继续教育学时要求：已满2个月，尚差1个月"
            in found)
    assert ("取得现职称后累计服务苏木乡镇、嘎查村满3年，可提前1年申报：已满1年，尚差2年" in found)
    assert any("缺少材料：继续教育审验卡" in p for p in found)


# -- CF-POL-5: non-public sector direct application ---------------------------------------------

def private_engineer(username, level, edu, graduated, start, place="city", kind="non_public"):
    user = person(username, f"cf-firm-{kind}", "songshan", kind=kind)
    committee = "cf-eng" if level == "intermediate" else "nm-eng-senior"
    a = draft(user, committee, "engineering", level, "mechanical", policy="non_public",
              education=[(edu, graduated)], work=[(start, "", place)], current_level="",
              title_on="")
    return user, a


@pytest.mark.rule("CF-POL-5")
def test_non_public_bachelor_five_years_applies_for_intermediate_directly_in_its_own_group(ctx):
    user, a = private_engineer("cf-p1", "intermediate", "bachelor", "2020-07-01", "2020-08-01")
    a.attachments[:] = [x for x in a.attachments if x.material != "continuing_education"]
    db.session.commit()
    verdict = policies.assess(cfg(), a)
    assert verdict.qualifies and verdict.direct and verdict.waives_ce
    assert "大学本科毕业后从事专业技术工作满5年：已满5年10个月" in texts(verdict.checks)
    assert "在本省（区）工作满1年：已满5年10个月" in texts(verdict.checks)
    assert policies.group_label(cfg(), a) == "非公有制领域专业技术人员直接申报"
    submit(a, user)
    assert a.status == Status.submitted.value


@pytest.mark.rule("CF-POL-5")
def test_non_public_twelve_years_open_associate_senior_and_college_needs_eight(ctx):
    _, senior = private_engineer("cf-p1", "associate_senior", "postgraduate", "2012-07-01",
                                 "2012-08-01")
    assert policies.assess(cfg(), senior).qualifies  # 研究生 counts as 本科 or higher
    user, college = private_engineer("cf-p2", "intermediate", "college", "2020-07-01",
                                     "2020-08-01")
    found = refused(college, user)
    assert ("大学本科毕业后从事专业技术工作满5年：学历信息中没有大学本科及以上学历（请填写“学历层次”）"
            "；或大学专科毕业后从事专业技术工作满8年：已满5年10个月，尚差2年2个月") in found


@pytest.mark.rule("CF-POL-5")
def test_non_public_needs_a_non_public_employer_and_a_year_in_the_region(ctx):
    user, state = private_engineer("cf-p1", "intermediate", "bachelor", "2015-07-01",
                                   "2015-08-01", kind="state_owned")
    assert any("该政策只适用于以下类型单位的人员：非公有制经济组织、社会组织" in p
               for p in refused(state, user))
    other, outside = private_engineer("cf-p2", "intermediate", "bachelor", "2015-07-01",
                                      "2015-08-01", place="outside")
    assert "在本省（区）工作满1年：尚差1年" in refused(outside, other)
    assert policies.group_label(cfg(), state) == "非公有制领域专业技术人员直接申报"
    ordinary = draft(person("cf-p3", "cf-firm-x"), "cf-eng", "engineering", "intermediate",
                     "mechanical")
    assert policies.group_label(cfg(), ordinary) is None


# -- CF-POL-6: green channel ------------------------------------------------------------------

@pytest.mark.rule("CF-POL-6")
def test_green_channel_is_outside_the_quota_for_senior_titles_and_once_per_person(ctx):
    user = person("cf-x1", "cf-works")
    a = draft(user, "nm-eng-senior", "engineering", "associate_senior", "mechanical",
              policy="green_channel")
    verdict = policies.assess(cfg(), a)
    assert verdict.qualifies and policies.outside_quota(cfg(), a)
    assert "此前未享受过该政策（每人只享受一次）" in texts(verdict.checks)
    earlier = draft(user, "cf-eng", "engineering", "intermediate", "mechanical",
                    policy="green_channel")
    earlier.status = Status.failed.value  # not passed: the policy was not enjoyed
    db.session.commit()
    assert policies.assess(cfg(), a).qualifies
    earlier.status = Status.certified.value
    db.session.commit()
    assert "已于2026年度按该政策评审通过，每人只能享受一次" in refused(a, user)
    assert "该政策只适用于：副高级、正高级" in texts(policies.assess(cfg(), earlier).checks)


# -- CF-POL-7: pandemic front-line medical staff ------------------------------------------------

@pytest.mark.rule("CF-POL-7")
def test_pandemic_frontline_policy_for_health_staff_until_the_end_of_2026(ctx):
    user = person("cf-h1", "cf-hospital", kind="public_institution")
    a = draft(user, "cf-ningcheng", "health", "intermediate", policy="pandemic_frontline")
    with time_machine.travel(at(2026, 12, 31, 23, 59), tick=False):
        verdict = policies.assess(cfg(), a)
    assert verdict.qualifies and "政策有效期至2026-12-31" in texts(verdict.checks)
    with time_machine.travel(at(2027, 1, 1, 0, 1), tick=False):
        assert "该政策有效期已于2026-12-31截止" in [str(p) for p in policies.problems(cfg(), a)]
    submit(a, user)
    # Judged by the local day of submission, not the day someone looks at it.
    with time_machine.travel(at(2027, 3, 1, 9), tick=False):
        assert policies.assess(cfg(), a).qualifies


@pytest.mark.rule("CF-POL-7")
def test_pandemic_frontline_policy_only_for_health_and_once(ctx):
    user = person("cf-h1", "cf-hospital", kind="public_institution")
    a = draft(user, "cf-ningcheng", "agriculture", "intermediate", policy="pandemic_frontline")
    assert "该政策只适用于：卫生" in refused(a, user)
    other = person("cf-h2", "cf-hospital")
    passed = draft(other, "cf-ningcheng", "health", "intermediate", policy="pandemic_frontline")
    passed.status = Status.passed.value
    db.session.commit()
    b = draft(other, "nm-eng-senior", "engineering", "associate_senior", "mechanical",
              policy="pandemic_frontline")
    found = texts(policies.assess(cfg(), b).checks)
    assert "已于2026年度按该政策评审通过，每人只能享受一次" in found


# -- rank by rank, and choosing the policy ---------------------------------------------------

@pytest.mark.rule("CF-POL-3", "CF-POL-5")
def test_ordinary_applications_hold_the_title_one_rank_below(ctx):
    user = person("cf-o1", "cf-works")
    a = draft(user, "cf-eng", "engineering", "intermediate", "mechanical", current_level="",
              title_on="")
    assert "逐级申报：须已取得助理级职称，请在基本信息中填写现职称级别" in refused(a, user)
    a.basic = {**a.basic, "current_level": "junior_assistant"}
    db.session.commit()
    submit(a, user)
    assert a.status == Status.submitted.value


@pytest.mark.rule("CF-POL-1", "CF-POL-5")
def test_the_policy_changes_only_while_the_application_is_editable(ctx):
    user = person("cf-p1", "cf-firm", kind="non_public")
    a = draft(user, "cf-eng", "engineering", "intermediate", "mechanical")
    form = {"gender": "male", "birth_date": date(1985, 6, 15), "policy": "non_public",
            "current_level": "junior_assistant"}
    with time_machine.travel(PLAN["intermediate"][1], tick=False):
        svc.save_basic(cfg(), a, f.actor(user), form)
        assert a.policy == "non_public"
        with pytest.raises(Invalid, match="请从列表中选择申报政策"):
            svc.save_basic(cfg(), a, f.actor(user), {**form, "policy": "directed"})
        svc.save_basic(cfg(), a, f.actor(user), {**form, "policy": ""})
        assert a.policy is None
        transition(cfg(), a, "submit", f.actor(user), pledge=f.PLEDGE)
        with pytest.raises(Invalid, match="不能再修改"):
            svc.save_basic(cfg(), a, f.actor(user), form)
    assert a.policy is None


# -- the tenant file --------------------------------------------------------------------------

@pytest.mark.rule("CF-POL-2", "CF-POL-5", "CF-POL-6")
@pytest.mark.parametrize("old,new,expect", [
    ('levels = ["associate_senior", "senior"]\n', 'levels = ["associate_senior", "chief"]\n',
     "params.levels: unknown levels ['chief']"),
    ("county_years = 30\n", "county_yrs = 30\n", "params missing ['county_years']"),
    ('plans = ["cf-2026-directed", "cf-2026-directed-intermediate"]',
     'plans = ["cf-2026-directed", "cf-2099"]', "unknown plan(s) ['cf-2099']"),
    ('{ education = "college", years = 8, level = "intermediate" }',
     '{ education = "doctorate", years = 8, level = "intermediate" }', "tracks.1.education"),
    ("years = { associate_senior = 5, senior = 5 }", "years = { principal = 5 }",
     "progression.years: unknown level(s) ['principal']"),
    ('employer_kinds = ["non_public", "social_org"]', 'employer_kinds = ["private"]',
     "unknown value(s) ['private']"),
])
def test_a_wrong_policy_entry_stops_start_up(tmp_path, old, new, expect):
    folder = tmp_path / T
    shutil.copytree(ROOT_TENANTS / T, folder)
    path = folder / "policies.toml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(TenantConfigError) as e:
        load_tenant(folder)
    assert "policies.toml" in str(e.value) and expect in str(e.value), str(e.value)


# -- pages ----------------------------------------------------------------------------------

@pytest.mark.rule("CF-POL-5")
def test_the_applicant_page_lists_why_the_file_qualifies_or_not(app, client, login):
    with app.app_context():
        user, a = private_engineer("cf-p1", "intermediate", "college", "2020-07-01", "2020-08-01")
        app_id = a.id
        clerk = f.make_user(T, "cf-clerk", "employer_clerk", "cf-firm-non_public")
        clerk_name = clerk.username
    with time_machine.travel(PLAN["intermediate"][1], tick=False):
        login(T, "cf-p1")
        page = client.get(f"/{T}/me/applications/{app_id}").get_data(as_text=True)
        assert '<option selected value="non_public">' in page or \
            '<option value="non_public" selected>' in page
        assert "按一般条件申报" in page and "基层定向评价" not in page
        assert "不符合政策条件" in page
        assert "✓ 已满足：所在单位类型：非公有制经济组织" in page
        assert "✗ 未满足：大学本科毕业后从事专业技术工作满5年：学历信息中没有大学本科" in page
        assert "；或大学专科毕业后从事专业技术工作满8年：已满5年10个月，尚差2年2个月" in page
        # Plain form post, no JavaScript: an education level fixes the verdict.
        resp = client.post(f"/{T}/me/applications/{app_id}/entries/education",
                           data={"school": "内蒙古工业大学", "major": "机械", "degree": "学士",
                                 "graduated_on": "2020-07-01", "edu_level": "bachelor"})
        assert resp.status_code == 303
        page = client.get(f"/{T}/me/applications/{app_id}").get_data(as_text=True)
        assert "符合政策条件" in page and "不符合政策条件" not in page
        assert re.search(r"<td[^>]*>大学本科</td>", page)
        assert "可不受逐级申报限制，直接申报。" in page
        resp = client.post(f"/{T}/me/applications/{app_id}/submit",
                           data={"version": 1, "pledge": "2026.1"})
        assert resp.status_code == 303
        client.post(f"/{T}/logout")
        login(T, clerk_name)
        office = client.get(f"/{T}/office/applications/{app_id}").get_data(as_text=True)
    assert "申报政策：<strong>非公有制领域专业技术人员直接申报</strong>" in office
    with app.app_context():
        assert db.session.get(Application, app_id).status == Status.submitted.value


@pytest.mark.rule("CF-POL-1")
def test_the_basic_form_saves_the_chosen_policy_without_javascript(app, client, login):
    with app.app_context():
        _, a = private_engineer("cf-p1", "intermediate", "bachelor", "2020-07-01", "2020-08-01")
        a.policy = None
        db.session.commit()
        app_id = a.id
    with time_machine.travel(PLAN["intermediate"][1], tick=False):
        login(T, "cf-p1")
        resp = client.post(f"/{T}/me/applications/{app_id}/basic",
                           data={"gender": "male", "birth_date": "1985-06-15",
                                 "policy": "non_public", "current_level": ""})
        assert resp.status_code == 303 and resp.location.endswith(f"/{app_id}#basic")
        bad = client.post(f"/{T}/me/applications/{app_id}/basic",
                          data={"gender": "male", "policy": "directed"}, follow_redirects=True)
        assert "请从列表中选择申报政策" in bad.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Application, app_id).policy == "non_public"
        assert db.session.scalar(sa.select(sa.func.count(Application.id))) == 1
