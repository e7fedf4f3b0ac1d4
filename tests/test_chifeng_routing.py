"""Chifeng 2026: each file travels the route its employer and series call for, one office at a
time, and only the offices on that route see it (tenants/chifeng/routing.toml)."""
import shutil

import pytest
import sqlalchemy as sa
import time_machine
from pydantic import ValidationError

from app.extensions import db
from app.models import Org, Status, User
from app.tenancy import tenants
from app.tenancy.loader import TenantConfigError, load_tenant
from app.tenancy.schema import RouteRule
from app.workflow import quotas
from app.workflow.errors import Forbidden, Invalid
from app.workflow.routing import required_committee
from app.workflow.transitions import transition

from . import factories as f
from .conftest import ROOT_TENANTS, at

T = "chifeng"
ROLE = {"employer": "employer_clerk", "department": "department_clerk",
        "hr_bureau": "hr_officer", "agency": "agency_clerk"}
# (plan, day of submission, day the offices recommend) inside the real 2026 windows.
PLAN = {"junior_assistant": ("cf-2026-junior", (2026, 5, 12), (2026, 5, 26)),
        "intermediate": ("cf-2026-intermediate", (2026, 6, 1), (2026, 6, 15)),
        "associate_senior": ("cf-2026-senior", (2026, 6, 15), (2026, 6, 29))}


def cfg():
    return tenants()[T]


def clerk(code: str):
    """The clerk of an office, with the role its kind of office acts in."""
    org = f.org(T, code)
    found = db.session.scalar(sa.select(User).filter_by(tenant_id=org.tenant_id,
                                                        username=f"u-{code}"))
    return found or f.make_user(T, f"u-{code}", ROLE[org.kind], code)


def department(code: str, tier: str, district: str | None, parent: str) -> Org:
    d = Org(tenant_id=f.tenant_id(T), code=code, name=f"主管部门{code}", kind="department",
            tier=tier, district=district, parent_id=f.org(T, parent).id)
    db.session.add(d)
    db.session.commit()
    return d


def applicant(username: str, org: str | None = None, **kw):
    return f.make_user(T, username, "applicant", org, **kw)


def draft(user, committee: str, series: str, level: str, specialty: str | None = None, **kw):
    return f.make_application(T, user, PLAN[level][0], committee, series, level, specialty, **kw)


def holder_code(a) -> str | None:
    return db.session.get(Org, a.holder_org_id).code if a.holder_org_id else None


def declare_posts(a) -> None:
    """A public institution has declared vacant posts at the file's level (CF-POL-9)."""
    if quotas.posts_apply(cfg(), a.employer):
        quotas.set_posts(cfg(), f.actor(clerk(holder_code(a))), a.plan.year, {a.level: ("9", "0")})


def travel(a, outsiders=("cf-hr-hongshan",)) -> list[str]:
    """Submit, then let each holder's clerk recommend until the committee's agency holds the
    file; before each step every other office tried (the next ones too) is refused. Returns the
    holders in order."""
    _, submit_on, act_on = PLAN[a.level]
    with time_machine.travel(at(*submit_on, 9), tick=False):
        transition(cfg(), a, "submit", f.actor(a.applicant), pledge=f.PLEDGE)
        if a.current_step["kind"] == "employer":
            transition(cfg(), a, "start_notice", f.actor(clerk(holder_code(a))))
            declare_posts(a)
    route = [db.session.get(Org, s["org_id"]).code for s in a.route]
    held = [holder_code(a)]
    with time_machine.travel(at(*act_on, 9), tick=False):
        while a.current_step["kind"] != "agency":
            for other in [c for c in (*route, *outsiders) if c != holder_code(a)]:
                with pytest.raises(Forbidden):
                    transition(cfg(), a, "recommend", f.actor(clerk(other)), opinion="同意",
                               no_objection=True)
            transition(cfg(), a, "recommend", f.actor(clerk(holder_code(a))), opinion="同意",
                       no_objection=True)
            held.append(holder_code(a))
    assert a.status == Status.recommended.value
    assert held == route
    return held


@pytest.mark.rule("CF-ROUTE-1")
def test_county_unit_with_a_city_committee_goes_via_county_hr_then_city_hr(ctx):
    """评委会不设在本地的，由人力资源社会保障部门逐级上报: county HR does not skip city HR."""
    department("cf-agri-aohan", "county", "aohan", "cf-hr-aohan")
    f.make_employer(T, "cf-station", "aohan", parent="cf-agri-aohan")
    a = draft(applicant("cf-eng-1", "cf-station"), "cf-eng", "engineering", "intermediate",
              "mechanical")
    assert travel(a, outsiders=("cf-hr-hongshan", "nm-hr", "cf-agency-ningcheng")) == [
        "cf-station", "cf-agri-aohan", "cf-hr-aohan", "cf-hr", "cf-agency-city"]


@pytest.mark.rule("CF-ROUTE-1")
def test_county_unit_with_its_own_county_committee_ends_at_the_county(ctx):
    department("cf-agri-ningcheng", "county", "ningcheng", "cf-hr-ningcheng")
    f.make_employer(T, "cf-farm", "ningcheng", parent="cf-agri-ningcheng")
    a = draft(applicant("cf-agr-1", "cf-farm"), "cf-ningcheng", "agriculture", "intermediate")
    held = travel(a, outsiders=("cf-hr", "cf-agency-city", "cf-hr-aohan"))
    assert held == ["cf-farm", "cf-agri-ningcheng", "cf-hr-ningcheng", "cf-agency-ningcheng"]


@pytest.mark.rule("CF-ROUTE-1")
def test_county_unit_entrusting_another_countys_committee_goes_through_city_hr(ctx):
    """A committee of another county is not 本地 either: county HR → city HR → that office."""
    department("cf-agri-aohan", "county", "aohan", "cf-hr-aohan")
    f.make_employer(T, "cf-station", "aohan", parent="cf-agri-aohan")
    a = draft(applicant("cf-agr-2", "cf-station"), "cf-ningcheng", "agriculture", "intermediate")
    assert travel(a, outsiders=("cf-hr-ningcheng", "cf-agency-city")) == [
        "cf-station", "cf-agri-aohan", "cf-hr-aohan", "cf-hr", "cf-agency-ningcheng"]


@pytest.mark.rule("CF-ROUTE-1", "CF-ROUTE-3")
def test_county_unit_with_a_regional_committee_reports_up_tier_by_tier(ctx):
    department("cf-agri-aohan", "county", "aohan", "cf-hr-aohan")
    f.make_employer(T, "cf-station", "aohan", parent="cf-agri-aohan")
    # A senior construction engineer: the housing-bureau path is for 中/初级 only.
    a = draft(applicant("cf-eng-2", "cf-station"), "nm-eng-senior", "engineering",
              "associate_senior", "construction")
    assert travel(a) == ["cf-station", "cf-agri-aohan", "cf-hr-aohan", "cf-hr", "nm-hr",
                         "nm-agency"]


@pytest.mark.rule("CF-ROUTE-2", "CF-JOINT-1")
def test_county_teacher_goes_through_both_education_bureaus_and_not_city_hr(ctx):
    f.make_employer(T, "cf-school", "aohan", kind="public_institution", parent="cf-edu-aohan")
    a = draft(applicant("cf-t-1", "cf-school"), "cf-teacher", "school_teacher",
              "associate_senior")
    held = travel(a, outsiders=("cf-hr", "cf-edu-ningcheng", "cf-housing-aohan"))
    assert held == ["cf-school", "cf-edu-aohan", "cf-hr-aohan", "cf-edu", "cf-agency-city"]
    assert "cf-hr" not in held  # city HR spot-checks; it holds no step


@pytest.mark.rule("CF-ROUTE-2", "CF-JOINT-1")
def test_a_county_with_its_own_committee_keeps_its_junior_teachers(ctx):
    f.make_employer(T, "cf-school", "ningcheng", kind="public_institution",
                    parent="cf-edu-ningcheng")
    a = draft(applicant("cf-t-2", "cf-school"), "cf-ningcheng", "school_teacher",
              "junior_assistant")
    assert travel(a) == ["cf-school", "cf-edu-ningcheng", "cf-hr-ningcheng",
                         "cf-agency-ningcheng"]


@pytest.mark.rule("CF-JOINT-1")
def test_a_county_without_a_committee_has_its_teachers_reviewed_jointly_by_the_city(ctx):
    f.make_employer(T, "cf-school-a", "aohan", kind="public_institution", parent="cf-edu-aohan")
    f.make_employer(T, "cf-school-n", "ningcheng", kind="public_institution",
                    parent="cf-edu-ningcheng")
    aohan = draft(applicant("cf-t-3", "cf-school-a"), "cf-ningcheng", "school_teacher",
                  "intermediate")
    ningcheng = draft(applicant("cf-t-4", "cf-school-n"), "cf-teacher", "school_teacher",
                      "intermediate")
    assert required_committee(cfg(), aohan) == "cf-teacher"
    assert required_committee(cfg(), ningcheng) == "cf-ningcheng"
    with time_machine.travel(at(2026, 6, 1, 9), tick=False):
        for a in (aohan, ningcheng):
            with pytest.raises(Invalid):
                transition(cfg(), a, "submit", f.actor(a.applicant), pledge=f.PLEDGE)
    aohan.committee_id = f.committee(T, "cf-teacher").id
    db.session.commit()
    assert travel(aohan) == ["cf-school-a", "cf-edu-aohan", "cf-hr-aohan", "cf-edu",
                             "cf-agency-city"]


@pytest.mark.rule("CF-ROUTE-3")
@pytest.mark.parametrize("level", ["junior_assistant", "intermediate"])
def test_county_construction_goes_through_both_housing_bureaus(ctx, level):
    f.make_employer(T, "cf-builder", "songshan", kind="non_public")
    a = draft(applicant("cf-c-1", "cf-builder"), "cf-eng", "engineering", level, "construction")
    assert travel(a, outsiders=("cf-hr", "cf-housing-aohan")) == [
        "cf-builder", "cf-housing-songshan", "cf-hr-songshan", "cf-housing", "cf-agency-city"]


@pytest.mark.rule("CF-ROUTE-4")
@pytest.mark.parametrize("level, committee, tail", [
    ("intermediate", "cf-eng", ["cf-hr", "cf-agency-city"]),
    ("associate_senior", "nm-eng-senior", ["cf-hr", "nm-hr", "nm-agency"])])
def test_city_unit_goes_through_its_department_to_city_hr(ctx, level, committee, tail):
    department("cf-industry", "city", None, "cf-hr")
    f.make_employer(T, "cf-plant", "hongshan", tier="city", parent="cf-industry")
    a = draft(applicant("cf-e-1", "cf-plant"), committee, "engineering", level, "mechanical")
    assert travel(a, outsiders=("cf-hr-hongshan",)) == ["cf-plant", "cf-industry", *tail]


@pytest.mark.rule("CF-ROUTE-5")
def test_city_teacher_goes_to_the_city_education_bureau(ctx):
    department("cf-vocational", "city", None, "cf-hr")
    f.make_employer(T, "cf-city-school", "hongshan", kind="public_institution", tier="city",
                    parent="cf-edu")
    f.make_employer(T, "cf-tech-school", "hongshan", kind="public_institution", tier="city",
                    parent="cf-vocational")
    a = draft(applicant("cf-t-5", "cf-city-school"), "cf-teacher", "school_teacher",
              "intermediate")
    b = draft(applicant("cf-t-6", "cf-tech-school"), "cf-teacher", "school_teacher",
              "intermediate")
    # The education bureau supervising the school reviews once, not twice.
    assert travel(a, outsiders=("cf-hr", "cf-hr-hongshan")) == [
        "cf-city-school", "cf-edu", "cf-agency-city"]
    assert travel(b, outsiders=("cf-hr",)) == [
        "cf-tech-school", "cf-vocational", "cf-edu", "cf-agency-city"]


@pytest.mark.rule("CF-ROUTE-5")
def test_city_construction_goes_to_the_city_housing_bureau(ctx):
    f.make_employer(T, "cf-design", "hongshan", tier="city", parent="cf-housing")
    a = draft(applicant("cf-c-2", "cf-design"), "cf-eng", "engineering", "intermediate",
              "construction")
    assert travel(a, outsiders=("cf-hr", "cf-housing-hongshan")) == [
        "cf-design", "cf-housing", "cf-agency-city"]


@pytest.mark.rule("CF-ROUTE-6")
def test_central_unit_senior_goes_via_the_county_hr_of_the_workplace_to_the_region(ctx):
    f.make_employer(T, "cf-grid", "ningcheng", kind="central_unit")
    a = draft(applicant("cf-g-1", "cf-grid"), "nm-eng-senior", "engineering", "associate_senior",
              "mechanical", materials={"entrustment_letter": 1})
    assert travel(a) == ["cf-grid", "cf-hr-ningcheng", "cf-hr", "nm-hr", "nm-agency"]


@pytest.mark.rule("CF-ROUTE-6")
def test_central_unit_junior_entrusts_the_county_committee_directly(ctx):
    f.make_employer(T, "cf-grid", "ningcheng", kind="other_province")
    a = draft(applicant("cf-g-2", "cf-grid"), "cf-ningcheng", "agriculture", "intermediate")
    assert travel(a, outsiders=("cf-hr", "cf-agency-city")) == [
        "cf-grid", "cf-hr-ningcheng", "cf-agency-ningcheng"]


@pytest.mark.rule("CF-ROUTE-6")
@pytest.mark.parametrize("kind", ["central_unit", "other_province"])
def test_the_entrustment_letter_is_asked_of_senior_applicants_only(ctx, kind):
    from app.workflow.eligibility import problems, required_materials
    f.make_employer(T, "cf-grid", "ningcheng", kind=kind)
    u = applicant("cf-g-3", "cf-grid")
    senior = draft(u, "nm-eng-senior", "engineering", "associate_senior", "mechanical")
    assert "entrustment_letter" in {m.code for m in required_materials(cfg(), senior)}
    assert any("委托评审函" in str(p) for p in problems(cfg(), senior))
    middle = draft(u, "cf-ningcheng", "agriculture", "intermediate")
    assert "entrustment_letter" not in {m.code for m in required_materials(cfg(), middle)}
    assert not any("委托评审函" in str(p) for p in problems(cfg(), middle))


@pytest.mark.rule("CF-ROUTE-7", "CF-ROUTE-1")
@pytest.mark.parametrize("district, level, committee, series, specialty, tail", [
    # A city committee: county HR reports to city HR, which sends it to the committee office.
    ("songshan", "intermediate", "cf-eng", "engineering", "mechanical",
     ["cf-hr-songshan", "cf-hr", "cf-agency-city"]),
    # A regional committee: up tier by tier to the region.
    ("songshan", "associate_senior", "nm-eng-senior", "engineering", "mechanical",
     ["cf-hr-songshan", "cf-hr", "nm-hr", "nm-agency"]),
    # The county's own committee: the route ends at the county.
    ("ningcheng", "intermediate", "cf-ningcheng", "agriculture", None,
     ["cf-hr-ningcheng", "cf-agency-ningcheng"])])
def test_private_employer_vets_then_goes_territorially_via_county_hr_and_up(
        ctx, district, level, committee, series, specialty, tail):
    f.make_employer(T, "cf-firm", district, kind="non_public")
    a = draft(applicant("cf-p-1", "cf-firm"), committee, series, level, specialty)
    held = travel(a, outsiders=("cf-hr-aohan",))
    assert held == ["cf-firm", *tail]
    # The employer vetted it, posted the notice and recommended before any office saw it.
    assert [s.action for s in a.steps][:2] == ["start_notice", "recommend"]
    assert a.steps[1].org_id == f.org(T, "cf-firm").id


@pytest.mark.rule("CF-ROUTE-7")
def test_freelancer_goes_to_the_county_hr_of_their_district_then_city_hr(ctx):
    f.make_employer(T, "cf-talent", "aohan", kind="social_org")
    u = applicant("cf-f-1", person_type="freelancer", association="cf-talent")
    a = draft(u, "cf-eng", "engineering", "intermediate", "mechanical")
    assert travel(a, outsiders=("cf-hr-songshan", "cf-talent")) == [
        "cf-hr-aohan", "cf-hr", "cf-agency-city"]


@pytest.mark.rule("CF-ROUTE-1", "CF-ROUTE-2")
def test_each_tier_sees_only_what_is_routed_through_it(app, client, login):
    with app.app_context():
        f.make_employer(T, "cf-school", "aohan", kind="public_institution",
                        parent="cf-edu-aohan")
        a = draft(applicant("cf-t-9", "cf-school", name="乌兰其其格"), "cf-teacher",
                  "school_teacher", "associate_senior")
        on_route = ["cf-school", "cf-edu-aohan", "cf-hr-aohan", "cf-edu"]
        off_route = ["cf-hr", "cf-hr-songshan", "cf-edu-ningcheng", "cf-housing-aohan", "nm-hr"]
        for code in on_route + off_route:
            clerk(code)
        with time_machine.travel(at(2026, 6, 15, 9), tick=False):
            transition(cfg(), a, "submit", f.actor(a.applicant), pledge=f.PLEDGE)
        app_id = a.id
    with time_machine.travel(at(2026, 6, 16, 9), tick=False):
        for code in off_route:
            login(T, f"u-{code}")
            assert client.get(f"/{T}/office/applications/{app_id}").status_code == 404
            assert client.post(f"/{T}/office/applications/{app_id}/recommend",
                               data={"opinion": "同意"}).status_code == 404
            assert "乌兰其其格" not in client.get(f"/{T}/office/").get_data(as_text=True)
            client.post(f"/{T}/logout")
        for code in on_route:
            login(T, f"u-{code}")
            assert client.get(f"/{T}/office/applications/{app_id}").status_code == 200
            inbox = client.get(f"/{T}/office/").get_data(as_text=True)
            # Only the holder has it in its inbox; later offices see it once it reaches them.
            assert ("乌兰其其格" in inbox) == (code == "cf-school")
            client.post(f"/{T}/logout")


@pytest.mark.parametrize("right, wrong, key", [
    ('series = "school_teacher", committee_tier = "county"',
     'series = "school_teachers", committee_tier = "county"', "series"),
    ('committee_seat = "own_county" }', 'committee_seat = "own_country" }', "committee_seat"),
    ('policy = "directed" }', 'policy = "direct" }', "policy")])
def test_a_route_names_only_what_the_tenant_has(tmp_path, right, wrong, key):
    with pytest.raises(ValidationError):
        RouteRule(when={"colour": "red"}, steps=["employer"])
    folder = tmp_path / T
    shutil.copytree(ROOT_TENANTS / T, folder)
    routing = folder / "routing.toml"
    text = routing.read_text(encoding="utf-8")
    assert right in text
    routing.write_text(text.replace(right, wrong), encoding="utf-8")
    with pytest.raises(TenantConfigError, match=rf"route\.\d+\.when\.{key}"):
        load_tenant(folder)
