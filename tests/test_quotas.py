"""Posts (CF-POL-9): a unit recommends within its vacant posts per level and year. Review quotas
(CF-POL-8): the city education bureau shares out the 49 正高级 teacher places, and no district or
unit sends more files into the review than its share."""
import shutil
from dataclasses import replace
from datetime import date

import pytest
import sqlalchemy as sa
import time_machine

from app.demo import load_demo
from app.extensions import db
from app.models import AuditEvent, QuotaAllocation, Status, UnitPosts, User
from app.tenancy import tenants
from app.tenancy.loader import TenantConfigError, load_tenant
from app.tenancy.schema import PolicyKind, PolicyRule
from app.workflow import quotas
from app.workflow.errors import Forbidden, Invalid
from app.workflow.routing import compute_route
from app.workflow.transitions import transition

from . import factories as f
from .conftest import ROOT_TENANTS, at

T = "chifeng"
QUOTA = "cf-2026-teacher-senior"
RECOMMEND_DAY = {"cf-2026-intermediate": at(2026, 6, 15, 9), "cf-2026-senior": at(2026, 7, 1, 9)}


def cfg():
    return tenants()[T]


def unit(code="cf-inst", district="aohan", kind="public_institution", **kw):
    return f.org(T, code) or f.make_employer(T, code, district, kind=kind, **kw)


def _clerk(org_code: str, role: str):
    """The clerk of an office (created on first use)."""
    found = db.session.scalar(sa.select(User).filter_by(tenant_id=f.tenant_id(T),
                                                        username=f"u-{org_code}"))
    return found or f.make_user(T, f"u-{org_code}", role, org_code)


def placed(employer: str, pos: int, status: str, *, n: int, level="intermediate",
           series="engineering", specialty="mechanical", policy=None):
    """A file of the employer's staff put at step `pos` of its route, as if the offices before
    had sent it on (submitted 1 Jun, the employer's notice over on 5 Jun)."""
    plan = "cf-2026-senior" if level in ("associate_senior", "senior") else "cf-2026-intermediate"
    committee = "cf-teacher" if series == "school_teacher" else "cf-eng"
    u = f.make_user(T, f"{employer}-a{n}", "applicant", employer, name=f"申报人{n}")
    a = f.make_application(T, u, plan, committee, series, level, specialty, policy=policy)
    route = compute_route(cfg(), a)
    a.route, a.route_pos, a.holder_org_id, a.status = route, pos, route[pos]["org_id"], status
    a.submitted_at, a.notice_starts_on, a.notice_ends_on = (at(2026, 6, 1, 9), date(2026, 6, 1),
                                                            date(2026, 6, 5))
    db.session.commit()
    return a


def recommend(a, org_code: str, role="employer_clerk", config=None):
    with time_machine.travel(RECOMMEND_DAY[a.plan.code], tick=False):
        transition(config or cfg(), a, "recommend", f.actor(_clerk(org_code, role)),
                   opinion="同意推荐", no_objection=True)


def declare(org_code: str, level="intermediate", posts="3", holders="2"):
    quotas.set_posts(cfg(), f.actor(_clerk(org_code, "employer_clerk")), 2026,
                     {level: (posts, holders)})


# -- CF-POL-9: posts ---------------------------------------------------------------------------

@pytest.mark.rule("CF-POL-9")
def test_the_employer_recommends_up_to_its_vacant_posts_and_no_further(ctx):
    unit()
    declare("cf-inst", posts="3", holders="2")  # one vacancy at 中级
    first, second = placed("cf-inst", 0, "in_notice", n=1), placed("cf-inst", 0, "in_notice", n=2)
    recommend(first, "cf-inst")
    assert (first.status, first.holder_org_id) == (Status.submitted.value,
                                                   f.org(T, "cf-hr-aohan").id)
    with pytest.raises(Invalid, match="超出岗位结构比例.*空缺1个，已推荐1人"):
        recommend(second, "cf-inst")
    db.session.refresh(second)
    assert (second.status, second.route_pos) == (Status.in_notice.value, 0)
    # Another level of the same unit is counted on its own.
    declare("cf-inst", level="associate_senior", posts="1", holders="0")
    assert quotas.recommended_counts(cfg(), f.tenant_id(T), [f.org(T, "cf-inst").id], 2026) \
        == {(f.org(T, "cf-inst").id, "intermediate"): 1}


@pytest.mark.rule("CF-POL-9")
def test_a_file_sent_back_frees_its_post(ctx):
    unit()
    declare("cf-inst", posts="1", holders="0")
    first = placed("cf-inst", 1, "submitted", n=1)
    second = placed("cf-inst", 0, "in_notice", n=2)
    with pytest.raises(Invalid, match="超出岗位结构比例"):
        recommend(second, "cf-inst")
    first.status, first.route_pos, first.holder_org_id = Status.returned.value, 0, None
    db.session.commit()
    recommend(second, "cf-inst")
    assert second.route_pos == 1


@pytest.mark.rule("CF-POL-9")
def test_a_unit_that_declared_no_posts_is_asked_to_declare_them_first(ctx):
    unit()
    a = placed("cf-inst", 0, "in_notice", n=1)
    with pytest.raises(Invalid, match="尚未填报2026年度中级的岗位数和现聘人数"):
        recommend(a, "cf-inst")
    declare("cf-inst", posts="0", holders="0")
    with pytest.raises(Invalid, match="空缺0个"):
        recommend(a, "cf-inst")


@pytest.mark.rule("CF-POL-9")
def test_units_of_other_kinds_and_tenants_without_the_rule_are_not_held_to_posts(ctx):
    unit("cf-firm", "songshan", kind="non_public")
    a = placed("cf-firm", 0, "in_notice", n=1)
    recommend(a, "cf-firm")
    assert a.route_pos == 1
    assert not tenants()["beijing"].policies.post_structure_kinds
    f.make_employer("beijing", "bj-inst", "haidian", kind="public_institution")
    u = f.make_user("beijing", "bj-a", "applicant", "bj-inst")
    b = f.make_application("beijing", u, "bj-2026", "bj-eng", "engineering", "intermediate",
                           "mechanical")
    b.route = compute_route(tenants()["beijing"], b)
    b.holder_org_id, b.status = b.route[0]["org_id"], Status.in_notice.value
    b.notice_starts_on, b.notice_ends_on = date(2026, 7, 8), date(2026, 7, 14)
    db.session.commit()
    with time_machine.travel(at(2026, 7, 20, 9), tick=False):
        transition(tenants()["beijing"], b, "recommend",
                   f.actor(f.make_user("beijing", "bj-c", "employer_clerk", "bj-inst")),
                   opinion="同意", no_objection=True)
    assert b.status == Status.recommended.value


def with_outside_policy():
    """The Chifeng configuration plus a policy outside post quotas (only that flag matters)."""
    rule = PolicyRule.model_construct(code="test-outside", kind=PolicyKind.green_channel,
                                      name="测试政策", name_en="Test policy", outside_quota=True)
    policies = cfg().policies.model_copy(update={"policy": [*cfg().policies.policy, rule]})
    return replace(cfg(), policies=policies)


@pytest.mark.rule("CF-POL-9", "CF-POL-6")
@pytest.mark.parametrize("policy, refused", [("test-outside", False), (None, True)])
def test_files_outside_post_quotas_do_not_use_a_post(ctx, policy, refused):
    config = with_outside_policy()
    unit()
    declare("cf-inst", posts="1", holders="0")
    placed("cf-inst", 1, "submitted", n=1, policy=policy)
    a = placed("cf-inst", 0, "in_notice", n=2)
    if refused:
        with pytest.raises(Invalid, match="已推荐1人"):
            recommend(a, "cf-inst", config=config)
    else:
        recommend(a, "cf-inst", config=config)
        assert a.route_pos == 1


@pytest.mark.rule("CF-POL-9", "CF-POL-6")
def test_a_file_outside_post_quotas_is_recommended_without_a_vacancy(ctx):
    unit()
    a = placed("cf-inst", 0, "in_notice", n=1, policy="test-outside")
    recommend(a, "cf-inst", config=with_outside_policy())
    assert a.route_pos == 1


@pytest.mark.rule("CF-POL-9")
def test_declared_posts_are_checked_audited_and_never_below_what_was_recommended(ctx):
    unit()
    clerk_ = _clerk("cf-inst", "employer_clerk")
    with pytest.raises(Invalid) as e:
        quotas.set_posts(cfg(), f.actor(clerk_), 2026, {"intermediate": ("3", ""),
                                                         "senior": ("-1", "0")})
    assert len(e.value.problems) == 2 and "请同时填写岗位数和现聘人数" in str(e.value.problems[0])
    assert quotas.set_posts(cfg(), f.actor(clerk_), 2026, {"intermediate": ("3", "2")}) == 1
    assert quotas.set_posts(cfg(), f.actor(clerk_), 2026, {"intermediate": ("3", "2")}) == 0
    placed("cf-inst", 1, "submitted", n=1)
    with pytest.raises(Invalid) as e:
        quotas.set_posts(cfg(), f.actor(clerk_), 2026, {"intermediate": ("3", "3")})
    assert "本年度已推荐1人" in str(e.value.problems[0])
    with pytest.raises(Invalid):
        quotas.set_posts(cfg(), f.actor(clerk_), 2026, {"intermediate": ("", "")})
    events = db.session.scalars(sa.select(AuditEvent).filter_by(subject_type="unit_posts")).all()
    assert [(e.action, e.actor_id, e.reason) for e in events] == [
        ("set_posts", clerk_.id, "2026年度中级：岗位数3，现聘2")]
    assert quotas.posts_by_unit_level(f.tenant_id(T), 2026) == {
        (f.org(T, "cf-inst").id, "intermediate"): (3, 2)}
    assert quotas.posts_by_unit_level(f.tenant_id(T), 2025) == {}
    other = f.make_user(T, "u-other", "employer_clerk", unit("cf-firm", "songshan",
                                                              kind="non_public").code)
    with pytest.raises(Forbidden):
        quotas.set_posts(cfg(), f.actor(other), 2026, {"intermediate": ("9", "0")})


@pytest.fixture
def posts_setup(app):
    """A public county school with a clerk and its posts; the offices around it."""
    with app.app_context():
        school = unit("cf-school", "aohan", parent="cf-edu-aohan")
        unit("cf-inst-2", "aohan")
        _clerk("cf-school", "employer_clerk")
        _clerk("cf-inst-2", "employer_clerk")
        unit("cf-firm", "songshan", kind="non_public")
        _clerk("cf-firm", "employer_clerk")
        for code in ("cf-edu-aohan", "cf-edu-songshan"):
            _clerk(code, "department_clerk")
        for code in ("cf-hr-aohan", "cf-hr-songshan", "cf-hr"):
            _clerk(code, "hr_officer")
        f.make_employer("beijing", "bj-inst", "haidian", kind="public_institution")
        f.make_user("beijing", "u-bj-inst", "employer_clerk", "bj-inst")
        return school.id


@pytest.mark.rule("CF-POL-9")
def test_the_unit_clerk_keeps_posts_on_a_page_of_its_own(client, login, posts_setup, app):
    login(T, "u-cf-school")
    page = client.get(f"/{T}/office/posts?year=2026")
    assert page.status_code == 200 and "岗位设置" in page.get_data(as_text=True)
    data = {f"posts-{lv}": "" for lv in ("junior_staff", "junior_assistant", "senior")}
    data.update({"posts-intermediate": "12", "holders-intermediate": "10",
                 "posts-associate_senior": "4", "holders-associate_senior": "4"})
    resp = client.post(f"/{T}/office/posts?year=2026", data=data)
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/posts?year=2026")
    body = client.get(f"/{T}/office/posts?year=2026").get_data(as_text=True)
    assert 'value="12"' in body and "已保存（2个级别有变动）" in body
    resp = client.post(f"/{T}/office/posts?year=2026", data={"posts-intermediate": "x",
                                                             "holders-intermediate": "1"},
                       follow_redirects=True)
    assert "请同时填写岗位数和现聘人数" in resp.get_data(as_text=True)
    with app.app_context():
        rows = db.session.scalars(sa.select(UnitPosts).order_by(UnitPosts.level)).all()
        assert [(r.level, r.posts, r.holders, r.vacancies) for r in rows] == [
            ("associate_senior", 4, 4, 0), ("intermediate", 12, 10, 2)]


@pytest.mark.rule("CF-POL-9")
@pytest.mark.parametrize("username, status", [
    ("u-cf-school", 200), ("u-cf-edu-aohan", 200), ("u-cf-hr-aohan", 200), ("u-cf-hr", 200),
    ("u-cf-inst-2", 404), ("u-cf-edu-songshan", 404), ("u-cf-hr-songshan", 404)])
def test_offices_above_the_unit_see_its_posts_and_no_one_else(client, login, posts_setup, app,
                                                             username, status):
    with app.app_context():
        declare("cf-school", posts="12", holders="10")
    login(T, username)
    assert client.get(f"/{T}/office/posts/{posts_setup}?year=2026").status_code == status
    if username.startswith(("u-cf-edu", "u-cf-hr")):
        overview = client.get(f"/{T}/office/posts?year=2026")
        assert overview.status_code == 200
        assert ("单位cf-school" in overview.get_data(as_text=True)) == (status == 200)
        assert client.post(f"/{T}/office/posts", data={}).status_code == 404


@pytest.mark.rule("CF-POL-9")
def test_posts_pages_are_404_where_the_rule_does_not_apply(client, login, posts_setup):
    login(T, "u-cf-firm")  # a private firm: no post-structure ratio
    assert client.get(f"/{T}/office/posts").status_code == 404
    assert client.post(f"/{T}/office/posts", data={"posts-intermediate": "1"}).status_code == 404
    client.post(f"/{T}/logout")
    login("beijing", "u-bj-inst")  # Beijing does not hold units to posts
    assert client.get("/beijing/office/posts").status_code == 404
    assert client.get(f"/beijing/office/posts/{posts_setup}").status_code == 404


# -- CF-POL-8: the 正高级 teacher quota -------------------------------------------------------

def allocate(target: str, places, who="cf-edu"):
    role = "hr_officer" if who.startswith("cf-hr") else "department_clerk"
    quotas.set_allocation(cfg(), f.actor(_clerk(who, role)), QUOTA, target, str(places))


def district(code: str) -> str:
    return f"district:{code}"


def teacher(school: str, pos: int, status: str, n: int):
    return placed(school, pos, status, n=n, level="senior", series="school_teacher",
                  specialty=None)


@pytest.mark.rule("CF-POL-8")
def test_the_quota_is_tenant_data_and_its_shares_never_exceed_the_total(ctx):
    q = quotas.review_quota(cfg(), QUOTA)
    assert (q.year, q.series, q.level, q.total, q.allocator) == (2026, "school_teacher",
                                                                 "senior", 49, "cf-edu")
    allocate(district("aohan"), 30)
    allocate(f"org:{f.org(T, 'cf-edu').id}", 19)
    with pytest.raises(Invalid, match="分配合计50人，超过核定名额49人"):
        allocate(district("ningcheng"), 1)
    allocate(district("aohan"), 29)
    allocate(district("ningcheng"), 1)
    with pytest.raises(Invalid, match="请选择分配对象"):
        allocate("district:atlantis", 1)
    with pytest.raises(Invalid, match="请选择分配对象"):
        allocate(district("songshan"), -2)
    for who in ("cf-edu-aohan", "cf-hr"):  # a county bureau, the city HR bureau
        with pytest.raises(Forbidden):
            allocate(district("songshan"), 1, who=who)
    allocate(district("ningcheng"), 0)  # withdrawn
    rows = db.session.scalars(sa.select(QuotaAllocation)).all()
    assert sorted((r.district or "", r.places) for r in rows) == [("", 19), ("aohan", 29)]
    actions = db.session.scalars(sa.select(AuditEvent.action).filter_by(
        subject_type="quota_allocations").order_by(AuditEvent.id)).all()
    assert actions == ["set_allocation"] * 4 + ["clear_allocation"]


@pytest.mark.rule("CF-POL-8")
def test_files_enter_the_review_only_within_their_districts_share(ctx):
    unit("cf-school", "aohan", parent="cf-edu-aohan")
    unit("cf-school-n", "ningcheng", parent="cf-edu-ningcheng")
    allocate(district("aohan"), 1)
    teacher("cf-school", 4, Status.recommended.value, n=1)  # already with the committee
    second = teacher("cf-school", 3, Status.submitted.value, n=2)  # held by cf-edu
    assert f.org(T, "cf-edu").id == second.holder_org_id
    with pytest.raises(Invalid, match="敖汉旗分配名额1人，已报送评审1人，名额已满"):
        recommend(second, "cf-edu", "department_clerk")
    assert (second.status, second.route_pos) == (Status.submitted.value, 3)
    with pytest.raises(Invalid, match="已报送评审1人，名额不能少于此数"):
        allocate(district("aohan"), 0)
    allocate(district("aohan"), 2)
    recommend(second, "cf-edu", "department_clerk")
    assert second.status == Status.recommended.value
    other = teacher("cf-school-n", 3, Status.submitted.value, n=3)
    with pytest.raises(Invalid, match="单位cf-school-n未分配名额，不能报送评审"):
        recommend(other, "cf-edu", "department_clerk")


@pytest.mark.rule("CF-POL-8")
def test_a_units_own_share_or_its_departments_comes_before_its_countys(ctx):
    unit("cf-city-school", "hongshan", tier="city", parent="cf-edu")
    unit("cf-school", "aohan", parent="cf-edu-aohan")
    allocate(f"org:{f.org(T, 'cf-edu').id}", 1)      # the schools the city bureau runs
    allocate(f"org:{f.org(T, 'cf-school').id}", 1)   # one county school by name
    allocate(district("hongshan"), 5)                 # county units of 红山区, not city ones
    city = teacher("cf-city-school", 1, Status.submitted.value, n=1)
    assert [s["org_id"] for s in city.route] == [f.org(T, c).id for c in (
        "cf-city-school", "cf-edu", "cf-agency-city")]
    recommend(city, "cf-edu", "department_clerk")
    again = teacher("cf-city-school", 1, Status.submitted.value, n=2)
    with pytest.raises(Invalid, match="赤峰市教育局分配名额1人"):
        recommend(again, "cf-edu", "department_clerk")
    county = teacher("cf-school", 3, Status.submitted.value, n=3)
    recommend(county, "cf-edu", "department_clerk")
    lines, uncovered = quotas.shares(cfg(), f.tenant_id(T), quotas.review_quota(cfg(), QUOTA))
    assert sorted((s.name, s.places, s.used) for s in lines) == [
        ("单位cf-school", 1, 1), ("红山区", 5, 0), ("赤峰市教育局", 1, 1)]
    assert uncovered == 0


@pytest.mark.rule("CF-POL-8")
def test_other_levels_are_not_capped(ctx):
    unit("cf-school", "aohan", parent="cf-edu-aohan")
    a = placed("cf-school", 3, Status.submitted.value, n=1, level="associate_senior",
               series="school_teacher", specialty=None)
    recommend(a, "cf-edu", "department_clerk")
    assert a.status == Status.recommended.value


@pytest.fixture
def quota_setup(app):
    with app.app_context():
        for code in ("cf-edu", "cf-edu-aohan"):
            _clerk(code, "department_clerk")
        for code in ("cf-hr", "cf-hr-aohan"):
            _clerk(code, "hr_officer")
        f.make_user("beijing", "u-bj-hr", "hr_officer", "bj-hr")


@pytest.mark.rule("CF-POL-8")
def test_the_education_bureau_shares_out_places_on_its_page(client, login, quota_setup, app):
    login(T, "u-cf-edu")
    assert QUOTA in client.get(f"/{T}/office/quotas").get_data(as_text=True)
    page = client.get(f"/{T}/office/quotas/{QUOTA}")
    assert page.status_code == 200 and "核定名额49人" in page.get_data(as_text=True)
    resp = client.post(f"/{T}/office/quotas/{QUOTA}", data={"target": "district:aohan",
                                                            "places": "40"})
    assert resp.status_code == 303
    resp = client.post(f"/{T}/office/quotas/{QUOTA}", data={"target": "district:ningcheng",
                                                            "places": "10"},
                       follow_redirects=True)
    body = resp.get_data(as_text=True)
    assert "分配合计50人，超过核定名额49人" in body and "已分配40人，未分配9人" in body
    with app.app_context():
        assert [(r.district, r.places) for r in db.session.scalars(
            sa.select(QuotaAllocation))] == [("aohan", 40)]


@pytest.mark.rule("CF-POL-8")
@pytest.mark.parametrize("tenant, username, get, post", [
    (T, "u-cf-hr", 200, 404),           # city HR sees the shares reported to it
    (T, "u-cf-edu-aohan", 404, 404),    # a county bureau does not
    (T, "u-cf-hr-aohan", 404, 404),
    ("beijing", "u-bj-hr", 404, 404)])  # another tenant
def test_the_shares_page_is_for_the_bureau_and_the_office_above(client, login, quota_setup,
                                                                tenant, username, get, post):
    login(tenant, username)
    assert client.get(f"/{tenant}/office/quotas/{QUOTA}").status_code == get
    assert client.post(f"/{tenant}/office/quotas/{QUOTA}",
                       data={"target": "district:aohan", "places": "1"}).status_code == post


# -- tenant data and demo -----------------------------------------------------------------------

@pytest.mark.rule("CF-POL-8", "CF-POL-9")
@pytest.mark.parametrize("old, new, key", [
    ('series = "school_teacher"\nlevel = "senior"', 'series = "teachers"\nlevel = "senior"',
     r"review_quota\.0\.series"),
    ('level = "senior"\ntotal', 'level = "professor"\ntotal', r"review_quota\.0\.level"),
    ('allocator = "cf-edu"', 'allocator = "cf-emp-school"', r"review_quota\.0\.allocator"),
    ('post_structure_kinds = ["public_institution"]', 'post_structure_kinds = ["charity"]',
     r"post_structure_kinds")])
def test_quota_settings_are_validated_with_the_key_named(tmp_path, old, new, key):
    folder = tmp_path / T
    shutil.copytree(ROOT_TENANTS / T, folder)
    policies = folder / "policies.toml"
    text = policies.read_text(encoding="utf-8")
    assert old in text
    policies.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(TenantConfigError, match=key):
        load_tenant(folder)


@pytest.mark.rule("CF-POL-8", "CF-POL-9")
def test_the_demo_school_has_posts_and_the_bureau_its_shares(ctx):
    with time_machine.travel(at(2026, 6, 15, 9), tick=False):
        for _ in range(2):
            load_demo(cfg(), f.tenant_id(T), date(2026, 6, 15))
    school = f.org(T, "cf-emp-school")
    lines = quotas.post_lines(cfg(), f.tenant_id(T), school.id, 2026)
    assert {ln.level.code: ln.left for ln in lines if ln.declared} == {
        "junior_assistant": 4, "intermediate": 4, "associate_senior": 2, "senior": 1}
    lines, _ = quotas.shares(cfg(), f.tenant_id(T), quotas.review_quota(cfg(), QUOTA))
    assert sorted((s.name, s.places) for s in lines) == [("宁城县", 6), ("赤峰市教育局", 12)]
    edu = db.session.scalar(sa.select(User).filter_by(username="cf-edu-city"))
    assert [q.code for q, editable in quotas.visible_quotas(cfg(), f.actor(edu)) if editable] \
        == [QUOTA]
