"""The org tree administered in the portal: each HR bureau's part of it, adding, editing, moving
and closing units (audited, kept through a reload of the tenant files), and employers that
register themselves into the tree and are approved, corrected, by their district's bureau."""
import re

import pytest
import sqlalchemy as sa
import time_machine

from app.extensions import db
from app.models import AuditEvent, Org, User
from app.tenancy import tenants
from app.tenancy.sync import sync_tenant
from app.workflow import orgtree, queries, registrations
from app.workflow.errors import Invalid
from app.workflow.transitions import transition

from . import factories as f
from .conftest import PASSWORD, at
from .test_chifeng_routing import applicant, draft, travel


def codes(cfg, user) -> set[str]:
    return {o.code for o in orgtree.administered(cfg, user)}


def org_audit(org_id: int) -> list[str]:
    return list(db.session.scalars(sa.select(AuditEvent.action).filter_by(
        subject_type="orgs", subject_id=org_id).order_by(AuditEvent.id)))


def orgs_count() -> int:
    return db.session.scalar(sa.select(sa.func.count(Org.id)))


def org_events() -> int:
    return db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
        AuditEvent.subject_type == "orgs"))


def flashed(resp) -> str:
    return resp.get_data(as_text=True)


# -- whose part of the tree ----------------------------------------------------------------------

def test_each_bureau_administers_what_lies_below_it_in_chifeng(ctx):
    cfg = tenants()["chifeng"]
    county = f.make_user("chifeng", "hr-nc", "hr_officer", "cf-hr-ningcheng")
    city = f.make_user("chifeng", "hr-city", "hr_officer", "cf-hr")
    region = f.make_user("chifeng", "hr-nm", "hr_officer", "nm-hr")
    admin = f.make_user("chifeng", "adm", "tenant_admin", "cf-hr")
    mine = codes(cfg, county)
    assert {"cf-edu-ningcheng", "cf-housing-ningcheng", "cf-agency-ningcheng"} <= mine
    # not a neighbouring district, not the city, not itself or another bureau
    assert not mine & {"cf-edu-hongshan", "cf-edu", "cf-hr", "cf-hr-ningcheng", "cf-hr-aohan"}
    city_units = codes(cfg, city)
    assert {"cf-edu", "cf-housing", "cf-agency-city", "cf-self-hospital", "cf-hr-ningcheng",
            "cf-edu-hongshan", "cf-agency-ningcheng"} <= city_units
    assert not city_units & {"cf-hr", "nm-hr", "nm-agency"}  # itself, the region above it
    assert {"cf-hr", "nm-agency", "cf-edu-aohan"} <= codes(cfg, region)
    assert "nm-hr" not in codes(cfg, region)
    assert {"nm-hr", "cf-hr", "cf-edu-aohan"} <= codes(cfg, admin)


def test_each_bureau_administers_what_lies_below_it_in_beijing(ctx):
    cfg = tenants()["beijing"]
    f.make_employer("beijing", "emp-hd", "haidian")
    f.make_employer("beijing", "emp-xc", "xicheng")
    haidian = f.make_user("beijing", "hr-hd", "hr_officer", "bj-hr-haidian")
    city = f.make_user("beijing", "hr-bj", "hr_officer", "bj-hr")
    assert "emp-hd" in codes(cfg, haidian) and "emp-xc" not in codes(cfg, haidian)
    assert {"emp-hd", "emp-xc", "bj-hr-haidian", "bj-agency-eng", "bj-assoc-art"} <= codes(
        cfg, city)
    assert "bj-hr" not in codes(cfg, city)
    # another tenant's units are nobody's here
    assert not [c for c in codes(cfg, city) if c.startswith(("cf-", "nm-"))]


def test_a_unit_outside_the_bureaus_part_or_tenant_is_404(app, client, login):
    with app.app_context():
        f.make_user("chifeng", "hr-nc", "hr_officer", "cf-hr-ningcheng")
        other_district = f.org("chifeng", "cf-edu-hongshan").id
        own = f.org("chifeng", "cf-edu-ningcheng").id
        foreign = f.org("beijing", "bj-dept-econ-info").id
    login("chifeng", "hr-nc")
    assert client.get(f"/chifeng/admin/orgs/{own}").status_code == 200
    assert client.get(f"/chifeng/admin/orgs/{other_district}").status_code == 404
    assert client.get(f"/chifeng/admin/orgs/{foreign}").status_code == 404
    assert client.post(f"/chifeng/admin/orgs/{other_district}/close",
                       data={"reason": "x"}).status_code == 404
    assert client.get(f"/chifeng/staff/offices/{other_district}").status_code == 404
    page = client.get("/chifeng/admin/orgs").get_data(as_text=True)
    assert "宁城县教育局" in page and "红山区教育局" not in page


# -- changes in the portal, kept through a reload of the tenant files ----------------------------

@pytest.mark.rule("CF-ROUTE-3")
def test_city_hr_creates_a_county_housing_bureau_that_receives_county_construction_files(
        app, client, login):
    """The city bureau closes a county housing bureau and sets up its successor in the portal;
    a county construction file is routed through the new one."""
    with app.app_context():
        f.make_user("chifeng", "hr-city", "hr_officer", "cf-hr")
        old = f.org("chifeng", "cf-housing-songshan")
    login("chifeng", "hr-city")
    resp = client.post(f"/chifeng/admin/orgs/{old.id}/close",
                       data={"reason": "机构改革", "version": old.version})
    assert resp.status_code == 303
    resp = client.post("/chifeng/admin/orgs/new", data={
        "kind": "department", "code": "cf-housing-songshan-2", "name": "松山区住房和城乡建设局（新）",
        "tier": "county", "district": "songshan", "parent_id": "", "series": ["engineering"]})
    assert resp.status_code == 303, flashed(resp)
    with app.app_context():
        new = f.org("chifeng", "cf-housing-songshan-2")
        assert (new.tier, new.district, new.series, new.portal_managed) == (
            "county", "songshan", ["engineering"], True)
        assert org_audit(new.id) == ["create"] and org_audit(old.id) == ["close"]
        f.make_employer("chifeng", "cf-builder", "songshan", kind="non_public")
        a = draft(applicant("cf-c-9", "cf-builder"), "cf-eng", "engineering", "intermediate",
                  "construction")
        assert travel(a, outsiders=("cf-hr", "cf-housing-aohan")) == [
            "cf-builder", "cf-housing-songshan-2", "cf-hr-songshan", "cf-housing",
            "cf-agency-city"]


def test_portal_changes_survive_a_reload_of_the_tenant_files(app, client, login):
    with app.app_context():
        f.make_user("chifeng", "hr-city", "hr_officer", "cf-hr")
        unit = f.org("chifeng", "cf-edu-hongshan")
        untouched = f.org("chifeng", "cf-edu-aohan")
        city_edu = f.org("chifeng", "cf-edu").id
    login("chifeng", "hr-city")
    resp = client.post(f"/chifeng/admin/orgs/{unit.id}", data={
        "name": "红山区教育局（改）", "name_en": "Hongshan Education (renamed)", "tier": "county",
        "series": ["school_teacher"], "version": unit.version})
    assert resp.status_code == 303, flashed(resp)
    resp = client.post(f"/chifeng/admin/orgs/{unit.id}/move", data={
        "district": "songshan", "parent_id": str(city_edu), "version": unit.version + 1})
    assert resp.status_code == 303
    with app.app_context():
        # a unit nobody changed in the portal is still seeded from the file
        db.session.get(Org, untouched.id).name = "随手改的名字"
        db.session.commit()
        sync_tenant(tenants()["chifeng"])
        db.session.expire_all()
        kept = db.session.get(Org, unit.id)
        assert (kept.name, kept.district, kept.parent_id, kept.series) == (
            "红山区教育局（改）", "songshan", city_edu, ["school_teacher"])
        assert db.session.get(Org, untouched.id).name == "敖汉旗教育局"
        assert org_audit(unit.id) == ["edit", "move"]
        reasons = db.session.scalars(sa.select(AuditEvent.reason).filter_by(
            subject_type="orgs", subject_id=unit.id).order_by(AuditEvent.id)).all()
        assert "红山区教育局 → 红山区教育局（改）" in reasons[0]
        assert "district: hongshan → songshan" in reasons[1]


def bad_cases():
    return [
        ({"district": "atlantis"}, "未知的区（旗县）"),
        ({"parent": "cf-hr-ningcheng"}, "上级主管部门必须是本地区的主管部门"),
        ({"code": "cf-edu"}, "机构代码cf-edu已被使用"),
        ({"district": ""}, "区（旗县）级机构须选择所在区（旗县）"),
        ({"parent": "cf-edu-hongshan"}, "区（旗县）级主管部门只能主管本区（旗县）的单位"),
    ]


@pytest.mark.parametrize("change,message", bad_cases())
def test_a_bad_unit_gets_a_message_and_saves_nothing(app, client, login, change, message):
    with app.app_context():
        f.make_user("chifeng", "hr-city", "hr_officer", "cf-hr")
        parent = change.pop("parent", None)
        data = {"kind": "department", "code": "cf-new-dept", "name": "新部门", "tier": "county",
                "district": "ningcheng", "parent_id": str(f.org("chifeng", parent).id)
                if parent else "", **change}
        before, events = orgs_count(), org_events()
    login("chifeng", "hr-city")
    resp = client.post("/chifeng/admin/orgs/new", data=data)
    assert resp.status_code == 200 and message in flashed(resp)
    with app.app_context():
        assert orgs_count() == before
        assert org_events() == events
        assert db.session.scalar(sa.select(Org.id).filter_by(code="cf-new-dept")) is None


def test_a_duplicate_uscc_and_a_cycle_are_refused_with_nothing_saved(ctx):
    cfg = tenants()["chifeng"]
    admin = f.make_user("chifeng", "adm", "tenant_admin", "cf-hr")
    firm = f.make_employer("chifeng", "cf-firm", "hongshan")
    with pytest.raises(Invalid) as e:
        orgtree.create_unit(cfg, admin, {"kind": "employer", "code": "cf-firm-2", "name": "另一家",
                                         "tier": "county", "district": "hongshan",
                                         "employer_kind": "non_public", "uscc": firm.uscc})
    assert "该统一社会信用代码已被其他机构使用。" in [str(p) for p in e.value.problems]
    upper = orgtree.create_unit(cfg, admin, {"kind": "department", "code": "cf-upper",
                                             "name": "上级部门", "tier": "city"})
    lower = orgtree.create_unit(cfg, admin, {"kind": "department", "code": "cf-lower",
                                             "name": "下级部门", "tier": "city",
                                             "parent_id": str(upper.id)})
    version = upper.version
    with pytest.raises(Invalid) as e:
        orgtree.move_unit(cfg, admin, upper, None, lower.id)
    assert "循环" in str(e.value.problems[0])
    db.session.expire_all()
    upper = db.session.get(Org, upper.id)
    assert upper.parent_id is None and upper.version == version
    assert org_audit(upper.id) == ["create"]


def test_closing_a_unit_that_holds_files_is_refused_and_a_closed_unit_is_offered_nowhere(
        app, client, login):
    with app.app_context():
        cfg = tenants()["chifeng"]
        f.make_user("chifeng", "hr-sy", "hr_officer", "cf-hr-songshan")
        f.make_employer("chifeng", "cf-builder", "songshan", kind="non_public")
        clerk = f.make_user("chifeng", "dept-clerk", "department_clerk", "cf-housing-songshan")
        a = draft(applicant("cf-c-8", "cf-builder"), "cf-eng", "engineering", "intermediate",
                  "construction")
        with time_machine.travel(at(2026, 6, 1, 9), tick=False):
            transition(cfg, a, "submit", f.actor(a.applicant), pledge=f.PLEDGE)
            a.holder_org_id = f.org("chifeng", "cf-housing-songshan").id  # it holds the file
            db.session.commit()
        housing, app_id, clerk_id = f.org("chifeng", "cf-housing-songshan"), a.id, clerk.id
    login("chifeng", "hr-sy")
    resp = client.post(f"/chifeng/admin/orgs/{housing.id}/close",
                       data={"reason": "撤并", "version": housing.version}, follow_redirects=True)
    assert "该机构还有1份待办申报" in flashed(resp)
    with app.app_context():
        assert f.org("chifeng", "cf-housing-songshan").closed_on is None
        from app.models import Application
        db.session.get(Application, app_id).holder_org_id = None
        db.session.commit()
    resp = client.post(f"/chifeng/admin/orgs/{housing.id}/close",
                       data={"reason": "撤并", "version": housing.version}, follow_redirects=True)
    assert "1个工作人员账号已停用" in flashed(resp)
    with app.app_context():
        assert f.org("chifeng", "cf-housing-songshan").closed_on is not None
        assert db.session.get(User, clerk_id).active is False
        tid = f.tenant_id("chifeng")
        assert "cf-housing-songshan" not in {o.code for o in orgtree.departments(tid)}
        assert "cf-housing-songshan" not in {
            o.code for o in queries.org_choices(tid)["offices"]}
    other = client.application.test_client()
    resp = other.post("/chifeng/login", data={"username": "dept-clerk", "password": PASSWORD})
    assert resp.status_code == 200  # refused: the account is disabled
    assert "停用" in resp.get_data(as_text=True)
    # the registration page does not offer it as a supervising department
    assert "松山区住房和城乡建设局" not in other.get("/chifeng/employers/register").get_data(
        as_text=True)


def test_a_district_bureau_cannot_be_closed(ctx):
    cfg = tenants()["chifeng"]
    city = f.make_user("chifeng", "hr-city", "hr_officer", "cf-hr")
    bureau = f.org("chifeng", "cf-hr-aohan")
    # its departments first: a unit with open units under it is not closed either
    with pytest.raises(Invalid) as e:
        orgtree.close_unit(cfg, city, bureau, "撤并")
    problems = [str(p) for p in e.value.problems]
    assert "该机构是区（旗县）的属地人社部门，不能撤销。" in problems
    assert any("未撤销的机构" in p for p in problems)
    assert f.org("chifeng", "cf-hr-aohan").closed_on is None


# -- employers registering into the tree ---------------------------------------------------------

def registration(**kw):
    data = {"name": "赤峰某建筑公司", "uscc": "91150400MA0N3PQX8J", "district": "hongshan",
            "tier": "county", "parent_id": "", "employer_kind": "non_public",
            "clerk_name": "王经办", "clerk_mobile": "13904760001", "password": "long-enough-pw"}
    data.update(kw)
    return data


def valid_uscc(n: int) -> str:
    from stdnum.cn import uscc
    base = f"9115{n:04d}MA00{n:05d}"[:17]
    return base + uscc.calc_check_digit(base)


@pytest.mark.rule("CF-ROUTE-4")
def test_a_chifeng_employer_registers_as_a_city_unit_under_its_department(app, client, login):
    with app.app_context():
        edu = f.org("chifeng", "cf-edu").id
        f.make_user("chifeng", "hr-hs", "hr_officer", "cf-hr-hongshan")
    page = client.get("/chifeng/employers/register").get_data(as_text=True)
    assert "赤峰市教育局" in page and "市级" in page
    resp = client.post("/chifeng/employers/register", data=registration(
        uscc=valid_uscc(1), tier="city", parent_id=str(edu), employer_kind="public_institution"))
    assert resp.status_code == 303
    with app.app_context():
        org = db.session.scalar(sa.select(Org).filter_by(uscc=valid_uscc(1)))
        assert (org.tier, org.parent_id, org.status) == ("city", edu, "pending")
        hs = f.org("chifeng", "cf-hr-hongshan")
        assert [o.id for o in queries.pending_employers(org.tenant_id, hs)] == [org.id]
        user = db.session.scalar(sa.select(User).filter_by(username="hr-hs"))
        assert registrations.waiting(user, at(2026, 5, 1).date())[0]["count"] == 1


def test_a_registration_with_another_districts_department_saves_nothing(app, client):
    with app.app_context():
        other = f.org("chifeng", "cf-edu-aohan").id
        before = orgs_count()
    resp = client.post("/chifeng/employers/register", data=registration(
        uscc=valid_uscc(2), parent_id=str(other)))
    assert resp.status_code == 200
    assert "区（旗县）级主管部门只能主管本区（旗县）的单位" in flashed(resp)
    with app.app_context():
        assert orgs_count() == before


@pytest.mark.rule("BJ-WIN-2")
def test_the_district_bureau_corrects_and_approves_a_beijing_registration(app, client, login):
    """The registering employer named the wrong kind and tier: Haidian's bureau corrects them
    on the approval page; the correction and the approval are both audited."""
    with app.app_context():
        f.make_user("beijing", "hr-hd", "hr_officer", "bj-hr-haidian")
        f.make_user("beijing", "hr-cy", "hr_officer", "bj-hr-chaoyang")
        dept = f.org("beijing", "bj-dept-econ-info").id
    resp = client.post("/beijing/employers/register", data=registration(
        name="北京某软件公司", uscc=valid_uscc(3), district="haidian", employer_kind="state_owned",
        clerk_mobile="13904760003"))
    assert resp.status_code == 303
    with app.app_context():
        org = db.session.scalar(sa.select(Org).filter_by(uscc=valid_uscc(3)))
    login("beijing", "hr-cy")  # Chaoyang's bureau may not decide a Haidian registration
    assert "北京某软件公司" not in client.get("/beijing/admin/employers").get_data(as_text=True)
    client.post(f"/beijing/admin/employers/{org.id}/approve", data={
        f"o{org.id}-employer_kind": "non_public", "version": org.version})
    with app.app_context():
        assert db.session.get(Org, org.id).status == "pending"
        assert db.session.get(Org, org.id).employer_kind == "state_owned"
    client.post("/beijing/logout")
    login("beijing", "hr-hd")
    page = client.get("/beijing/admin/employers").get_data(as_text=True)
    assert "北京某软件公司" in page and "北京市经济和信息化局" in page
    resp = client.post(f"/beijing/admin/employers/{org.id}/approve", data={
        f"o{org.id}-district": "haidian", f"o{org.id}-tier": "city",
        f"o{org.id}-parent_id": str(dept), f"o{org.id}-employer_kind": "non_public",
        "version": org.version})
    assert resp.status_code == 303
    with app.app_context():
        done = db.session.get(Org, org.id)
        assert (done.status, done.tier, done.parent_id, done.employer_kind) == (
            "approved", "city", dept, "non_public")
        assert org_audit(org.id) == ["register", "correct", "approve"]
        assert db.session.scalar(sa.select(User.active).filter_by(org_id=org.id)) is True


def test_a_corrected_district_hands_the_registration_to_that_districts_bureau(ctx):
    cfg = tenants()["chifeng"]
    hs = f.make_user("chifeng", "hr-hs", "hr_officer", "cf-hr-hongshan")
    org = f.make_employer("chifeng", "cf-pending", "hongshan", status="pending")
    handed = registrations.decide_registration(cfg, hs, org, "approve", {
        "district": "aohan", "tier": "county", "parent_id": "", "employer_kind": "non_public"},
        org.version)
    assert handed is True
    org = db.session.get(Org, org.id)
    assert (org.status, org.district) == ("pending", "aohan")
    assert [o.id for o in queries.pending_employers(org.tenant_id, f.org(
        "chifeng", "cf-hr-aohan"))] == [org.id]
    assert not queries.pending_employers(org.tenant_id, f.org("chifeng", "cf-hr-hongshan"))
    assert org_audit(org.id) == ["correct"]
    assert re.search(r"district: hongshan → aohan", db.session.scalar(
        sa.select(AuditEvent.reason).filter_by(subject_type="orgs", subject_id=org.id)))


def test_the_units_approval_and_accounts_pages_cost_the_same_whatever_the_rows(app, client,
                                                                                login):
    from .test_views import count_queries
    with app.app_context():
        f.make_user("chifeng", "hr-hs", "hr_officer", "cf-hr-hongshan")
        edu = f.org("chifeng", "cf-edu-hongshan").code

    def add(n, start):
        with app.app_context():
            for i in range(start, start + n):
                f.make_employer("chifeng", f"cf-e{i}", "hongshan", parent=edu)
                f.make_employer("chifeng", f"cf-p{i}", "hongshan", status="pending")
                f.make_user("chifeng", f"cf-s{i}", "department_clerk", edu)

    login("chifeng", "hr-hs")
    with app.app_context():
        edu_id = f.org("chifeng", edu).id
    pages = ["/chifeng/admin/orgs", "/chifeng/admin/employers", f"/chifeng/staff/offices/{edu_id}"]
    add(2, 0)
    few = [count_queries(app, lambda p=p: client.get(p)) for p in pages]
    add(12, 2)
    many = [count_queries(app, lambda p=p: client.get(p)) for p in pages]
    assert few == many
    assert client.get("/chifeng/admin/employers").get_data(as_text=True).count("按以上信息通过") == 14


def test_the_pages_read_in_english(app, client, login):
    with app.app_context():
        f.make_user("chifeng", "hr-city", "hr_officer", "cf-hr")
        edu = f.org("chifeng", "cf-edu").id
    login("chifeng", "hr-city")
    page = client.get("/chifeng/admin/orgs?lang=en").get_data(as_text=True)
    assert "Add a unit" in page and "Staff accounts" in page and "添加机构" not in page
    page = client.get(f"/chifeng/admin/orgs/{edu}").get_data(as_text=True)
    assert "Move to another district or supervising department" in page
    page = client.get(f"/chifeng/staff/offices/{edu}").get_data(as_text=True)
    assert "Add and send the SMS" in page and "Department clerk" in page
    page = client.get("/chifeng/employers/register").get_data(as_text=True)
    assert "Supervising department" in page and "(no supervising department)" in page


def test_a_closed_agencys_committees_are_not_offered_to_applicants(app, client, login):
    with app.app_context():
        f.make_user("beijing", "adm", "tenant_admin", "bj-hr")
        f.make_employer("beijing", "emp", "haidian")
        f.make_user("beijing", "appl", "applicant", "emp")
        agri = f.org("beijing", "bj-agency-agri")
    with time_machine.travel(at(2026, 7, 8, 10), tick=False):
        login("beijing", "appl")
        assert "北京市农业技术与自然科学研究系列职称评审委员会" in client.get(
            "/beijing/me/applications/new").get_data(as_text=True)
        client.post("/beijing/logout")
        login("beijing", "adm")
        resp = client.post(f"/beijing/admin/orgs/{agri.id}/close",
                           data={"reason": "不再承担评审", "version": agri.version})
        assert resp.status_code == 303
        client.post("/beijing/logout")
        login("beijing", "appl")
        page = client.get("/beijing/me/applications/new").get_data(as_text=True)
    assert "北京市农业技术与自然科学研究系列职称评审委员会" not in page
    assert "北京市工程技术系列职称评审委员会" in page
