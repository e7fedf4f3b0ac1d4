"""Eligibility at submission (Beijing rules): every problem listed at once."""
import pytest
import time_machine

from app.extensions import db
from app.models import Status
from app.tenancy import tenants
from app.workflow.errors import Invalid
from app.workflow.transitions import transition

from . import factories as f
from .conftest import at

WHEN = at(2026, 7, 10, 10)


def submit(app, user):
    with time_machine.travel(WHEN, tick=False):
        transition(tenants()["beijing"], app, "submit", f.actor(user), pledge=f.PLEDGE)


def problems_of(app, user) -> list[str]:
    with pytest.raises(Invalid) as e:
        submit(app, user)
    return [str(p) for p in e.value.problems]


@pytest.fixture
def emp(ctx):
    return f.make_employer("beijing", "emp", "haidian")


def applicant(code="emp", person_type="professional", username="a1", **kw):
    return f.make_user("beijing", username, "applicant", code, person_type=person_type, **kw)


@pytest.mark.rule("BJ-SCOPE-1")
@pytest.mark.parametrize("kind", ["state_owned", "public_institution", "non_public", "social_org"])
def test_staff_of_every_kind_of_beijing_employer_may_apply(ctx, kind):
    f.make_employer("beijing", "e", "haidian", kind=kind)
    user = applicant("e")
    app = f.make_application("beijing", user, "bj-2026", "bj-eng", "engineering", "intermediate",
                             "mechanical")
    submit(app, user)
    assert app.status == Status.submitted.value


@pytest.mark.rule("BJ-SCOPE-4")
def test_civil_servant_refused_with_every_other_problem_at_once(emp):
    user = applicant(person_type="civil_servant")
    app = f.make_application("beijing", user, "bj-2026", "bj-eng", "engineering", "intermediate",
                             "mechanical", complete=False)
    found = problems_of(app, user)
    assert any("公务员" in p for p in found)
    assert any("学历" in p for p in found) and any("工作经历" in p for p in found)
    assert any("身份证扫描件" in p for p in found)
    assert app.status == Status.draft.value


@pytest.mark.rule("BJ-SCOPE-2")
def test_high_skilled_worker_only_in_listed_series(emp):
    user = applicant(person_type="high_skill")
    ok = f.make_application("beijing", user, "bj-2026", "bj-eng", "engineering", "intermediate",
                            "mechanical")
    submit(ok, user)
    other = applicant(person_type="high_skill", username="a2")
    bad = f.make_application("beijing", other, "bj-2026", "bj-econ", "economics", "intermediate")
    assert any("高技能人才只能申报" in p for p in problems_of(bad, other))


@pytest.mark.rule("BJ-SCOPE-3", "BJ-FREE-1")
def test_freelancer_only_art_and_crafts_with_stamped_association_scan(ctx):
    user = f.make_user("beijing", "fr", "applicant", person_type="freelancer",
                       association="bj-assoc-art")
    bad = f.make_application("beijing", user, "bj-2026", "bj-eng", "engineering", "intermediate",
                             "mechanical")
    found = problems_of(bad, user)
    assert any("自由职业者只能申报" in p for p in found)
    assert any("协会（学会）盖章推荐材料" in p for p in found)
    bad.status = Status.abandoned.value  # free the plan for a second, correct application
    good = f.make_application("beijing", user, "bj-2026", "bj-art", "art", "intermediate",
                              materials={"association_recommendation": 1,
                                         "freelance_evidence": 1})
    submit(good, user)
    # No employer step: the association vetted offline; the file goes straight to the agency.
    assert good.status == Status.recommended.value
    assert good.holder_org_id == f.org("beijing", "bj-agency-culture").id
    assert good.steps[-1].org_id == f.org("beijing", "bj-assoc-art").id


@pytest.mark.rule("BJ-EXAM-1")
@pytest.mark.parametrize("series,committee", [("economics", "bj-econ"), ("statistics", "bj-econ"),
                                              ("accounting", "bj-finance"),
                                              ("audit", "bj-finance"),
                                              ("translation", "bj-translation")])
def test_exam_plus_review_series_need_a_passed_exam_at_associate_senior(emp, series, committee):
    user = applicant()
    app = f.make_application("beijing", user, "bj-2026", committee, series, "associate_senior")
    found = problems_of(app, user)
    assert any("全国统一考试" in p for p in found)
    app.exam_passed = True
    from app.models import Attachment
    from app.extensions import db
    db.session.add(Attachment(application_id=app.id, material="exam_certificate", filename="e.pdf",
                              stored_name="e.pdf", mime="application/pdf", size=1,
                              sha256="0" * 64, uploaded_by=user.id))
    db.session.commit()
    submit(app, user)
    assert app.status == Status.submitted.value


@pytest.mark.rule("BJ-EXAM-1")
def test_exam_not_required_at_intermediate(emp):
    user = applicant()
    app = f.make_application("beijing", user, "bj-2026", "bj-econ", "economics", "intermediate")
    submit(app, user)
    assert app.status == Status.submitted.value


@pytest.mark.rule("BJ-POGE-1")
def test_exceptional_senior_application_needs_two_recommendation_forms(emp):
    user = applicant()
    one = f.make_application("beijing", user, "bj-2026", "bj-eng", "engineering", "senior",
                             "mechanical", poge=True, materials={"poge_recommendation": 1})
    assert any("需要2份，已上传1份" in p for p in problems_of(one, user))
    other = applicant(username="a2")
    two = f.make_application("beijing", other, "bj-2026", "bj-eng", "engineering", "senior",
                             "mechanical", poge=True, materials={"poge_recommendation": 2})
    submit(two, other)
    assert two.status == Status.submitted.value


@pytest.mark.rule("BJ-POGE-1")
def test_exceptional_route_is_for_senior_levels_only(emp):
    user = applicant()
    app = f.make_application("beijing", user, "bj-2026", "bj-eng", "engineering", "intermediate",
                             "mechanical", poge=True, materials={"poge_recommendation": 2})
    assert any("破格申报仅适用于高级" in p for p in problems_of(app, user))


@pytest.mark.rule("BJ-CENTRAL-1")
def test_central_unit_staff_upload_an_entrustment_letter_unless_exempt(ctx):
    f.make_employer("beijing", "central", "haidian", kind="central_unit")
    f.make_employer("beijing", "assoc-hq", "xicheng", kind="central_unit", entrustment_exempt=True)
    user = applicant("central")
    app = f.make_application("beijing", user, "bj-2026", "bj-eng", "engineering", "intermediate",
                             "mechanical")
    assert any("委托函" in p for p in problems_of(app, user))
    exempt = applicant("assoc-hq", username="a2")
    app2 = f.make_application("beijing", exempt, "bj-2026", "bj-eng", "engineering",
                              "intermediate", "mechanical")
    submit(app2, exempt)
    assert app2.status == Status.submitted.value


@pytest.mark.rule("BJ-ROUTE-1")
@pytest.mark.parametrize("district,right,wrong", [("jingkai", "bj-robot-jingkai", "bj-robot-changping"),
                                                  ("haidian", "bj-robot-changping", "bj-robot-jingkai")])
def test_robotics_is_reviewed_by_the_district_of_the_employer(ctx, district, right, wrong):
    f.make_employer("beijing", "r", district, kind="non_public")
    user = applicant("r")
    bad = f.make_application("beijing", user, "bj-2026", wrong, "engineering", "intermediate",
                             "robotics")
    assert any("联合评审" in p for p in problems_of(bad, user))
    bad.status = Status.abandoned.value
    good = f.make_application("beijing", user, "bj-2026", right, "engineering", "intermediate",
                              "robotics")
    submit(good, user)
    assert good.route[-1]["org_id"] == good.committee.agency_org_id


@pytest.mark.rule("BJ-ROUTE-2")
@pytest.mark.parametrize("district,right", [("yanqing", "bj-lowalt-yanqing"),
                                            ("chaoyang", "bj-lowalt-fengtai")])
def test_low_altitude_is_reviewed_by_yanqing_or_fengtai(ctx, district, right):
    f.make_employer("beijing", "l", district, kind="non_public")
    user = applicant("l")
    wrong = "bj-lowalt-fengtai" if right == "bj-lowalt-yanqing" else "bj-lowalt-yanqing"
    bad = f.make_application("beijing", user, "bj-2026", wrong, "engineering", "intermediate",
                             "low_altitude")
    assert any("联合评审" in p for p in problems_of(bad, user))
    bad.status = Status.abandoned.value
    good = f.make_application("beijing", user, "bj-2026", right, "engineering", "intermediate",
                              "low_altitude")
    submit(good, user)
    assert good.status == Status.submitted.value


@pytest.mark.rule("BJ-DIR-1")
def test_committee_must_come_from_the_directory_for_the_series(emp):
    user = applicant()
    app = f.make_application("beijing", user, "bj-2026", "bj-art", "engineering", "intermediate",
                             "mechanical")
    assert any("名录" in p for p in problems_of(app, user))


@pytest.mark.rule("BJ-DIR-2")
def test_series_run_by_their_departments_have_no_committee_in_this_flow(emp):
    """Health, school teachers, secondary-vocational and technical-school teachers follow their
    departments' own notices: the year's directory lists no committee for them, so a file for
    one of them cannot be submitted here (high-skilled workers may still name the series)."""
    cfg = tenants()["beijing"]
    departmental = {"health", "school_teacher", "vocational_teacher", "technical_school_teacher"}
    assert not departmental & {s for c in cfg.directory.committee for s in c.series}
    user = applicant()
    app = f.make_application("beijing", user, "bj-2026", "bj-eng", "technical_school_teacher",
                             "intermediate")
    assert any("名录" in p for p in problems_of(app, user))


def educated(app, level="bachelor", graduated="2007-07-01"):
    """Give the file's education entry its 学历层次 and graduation day."""
    entry = next(e for e in app.entries if e.section == "education")
    entry.data = {**entry.data, "edu_level": level, "graduated_on": graduated}
    db.session.commit()
    return app


@pytest.mark.rule("BJ-EQUIV-2")
def test_international_qualifications_map_to_levels(emp):
    ieee = applicant()
    ok = educated(f.make_application("beijing", ieee, "bj-2026", "bj-eng", "engineering", "senior",
                                     "mechanical", intl_qualification="ieee_senior",
                                     materials={"qualification_certificate": 1}))
    submit(ok, ieee)  # IEEE Senior Member counts as 副高级: a basis for 正高级
    assert ok.status == Status.submitted.value
    acm = applicant(username="a2")
    bad = educated(f.make_application("beijing", acm, "bj-2026", "bj-eng", "engineering",
                                      "senior", "mechanical", intl_qualification="acm_senior",
                                      materials={"qualification_certificate": 1}))
    assert any("ACM高级会员对应中级" in p for p in problems_of(bad, acm))
    bad.status = Status.abandoned.value
    db.session.commit()
    # ACM Senior Member counts as 中级: a basis for 副高级.
    up = educated(f.make_application("beijing", acm, "bj-2026", "bj-eng", "engineering",
                                     "associate_senior", "mechanical",
                                     intl_qualification="acm_senior",
                                     materials={"qualification_certificate": 1}))
    submit(up, acm)
    assert up.status == Status.submitted.value


@pytest.mark.rule("BJ-EQUIV-2", "BJ-EQUIV-1")
def test_a_qualification_without_the_education_and_years_is_refused_with_the_reason(emp):
    user = applicant()
    app = f.make_application("beijing", user, "bj-2026", "bj-eng", "engineering", "senior",
                             "mechanical", intl_qualification="ieee_senior",
                             materials={"qualification_certificate": 1})
    found = problems_of(app, user)  # no 学历层次 recorded
    assert any("IEEE高级会员须符合相应系列规定的学历和工作年限条件" in p and "没有大学本科" in p
               for p in found)
    educated(app, "bachelor", "2020-07-01")  # 本科, 6 years by the close of 30 Jul 2026
    found = problems_of(app, user)
    assert any("IEEE高级会员须符合" in p and "大学本科毕业后从事专业技术工作满10年" in p
               and "尚差" in p for p in found), found
    educated(app, "postgraduate", "2019-07-01")  # 研究生, 7 years: the other track holds
    submit(app, user)
    assert app.status == Status.submitted.value


@pytest.mark.rule("BJ-EQUIV-1")
def test_a_domestic_qualification_counts_for_its_series_with_its_conditions(emp):
    """附件5's table is tenant data: an entry (here a registered engineer counting as 中级
    engineering after 本科 + 5 years) is obeyed as written."""
    from dataclasses import replace

    from app.tenancy.schema import Qualification
    from app.workflow import eligibility
    cfg = tenants()["beijing"]
    entry = Qualification(code="reg-eng", name="注册工程师", name_en="Registered engineer",
                          counts_as="intermediate", series=["engineering"],
                          tracks=[{"education": "bachelor", "years": 5}])
    cfg = replace(cfg, policies=cfg.policies.model_copy(
        update={"professional_qualification": [entry]}))
    user = applicant()
    app = educated(f.make_application("beijing", user, "bj-2026", "bj-eng", "engineering",
                                      "associate_senior", "mechanical",
                                      materials={"qualification_certificate": 1}),
                   "bachelor", "2022-07-01")
    app.intl_qualification = "reg-eng"
    db.session.commit()
    texts = [str(p) for p in eligibility.problems(cfg, app)]
    assert any("注册工程师须符合" in t and "满5年" in t for t in texts), texts
    educated(app, "bachelor", "2018-07-01")
    assert not any("注册工程师" in str(p) for p in eligibility.problems(cfg, app))
    app.level = "senior"  # a basis for one level up only
    assert any("注册工程师对应中级" in str(p) for p in eligibility.problems(cfg, app))
    app.level, app.series, app.specialty = "associate_senior", "economics", None
    assert any("注册工程师对应工程技术系列的职称" in str(p) for p in eligibility.problems(cfg, app))
    db.session.rollback()


@pytest.mark.rule("BJ-CENTRAL-1")
def test_catalogue_series_are_not_accepted_for_entrusted_central_unit_staff(ctx):
    cfg = tenants()["beijing"]
    assert [(c.series, c.levels) for c in cfg.policies.central_catalogue] == [
        ("natural_research", ["associate_senior", "senior"])]
    f.make_employer("beijing", "central", "haidian", kind="central_unit")
    f.make_employer("beijing", "direct", "xicheng", kind="central_unit", entrustment_exempt=True)
    f.make_employer("beijing", "local", "haidian", kind="public_institution")
    refused = "中央单位高级职称评审委员会备案目录"
    entrusted = applicant("central")
    app = f.make_application("beijing", entrusted, "bj-2026", "bj-agri", "natural_research",
                             "associate_senior", materials={"entrustment_letter": 1})
    found = problems_of(app, entrusted)
    assert any(refused in p and "自然科学研究" in p for p in found), found
    app.level = "intermediate"  # the catalogue lists senior committees only
    db.session.commit()
    submit(app, entrusted)
    assert app.status == Status.submitted.value
    for code, name in (("direct", "a2"), ("local", "a3")):  # not entrusted: apply directly
        u = applicant(code, username=name)
        other = f.make_application("beijing", u, "bj-2026", "bj-agri", "natural_research",
                                   "associate_senior")
        submit(other, u)
        assert other.status == Status.submitted.value




@pytest.mark.rule("BJ-CENTRAL-1", "BJ-EQUIV-1")
@pytest.mark.parametrize("old,new,key", [
    ('series = "natural_research"', 'series = "alchemy"', "central_catalogue.0.series"),
    ('counts_as = "intermediate"', 'counts_as = "grandmaster"',
     "international_qualification.1.counts_as"),
    ('{ education = "college", years = 7 }', '{ education = "kindergarten", years = 7 }',
     "international_qualification.1.tracks"),
])
def test_catalogue_and_qualification_tables_are_checked_on_load(tmp_path, old, new, key):
    import shutil

    from app.tenancy import load_tenant
    from app.tenancy.loader import TenantConfigError

    from .conftest import ROOT_TENANTS
    folder = tmp_path / "beijing"
    shutil.copytree(ROOT_TENANTS / "beijing", folder)
    pol = folder / "policies.toml"
    assert old in pol.read_text()
    pol.write_text(pol.read_text().replace(old, new))
    with pytest.raises(TenantConfigError, match=key.replace(".", r"\.")):
        load_tenant(folder)
