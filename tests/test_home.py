"""Home pages and navigation: every signed-in role lands on a page listing what waits for its
office (counts, nearest deadline, a link to the list) in a fixed number of queries, and the
navigation offers exactly the pages that role's office can use, on both tenants."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
import time_machine

from app.extensions import db
from app.models import Application, ReviewSession, User
from app.models.results import Publication
from app.tenancy import tenants
from app.workflow import home
from app.workflow.transitions import transition

from . import factories as f
from .conftest import PASSWORD, at
from .test_views import count_queries
from .world import ROLES, world_app

SLUGS = ("beijing", "chifeng")
FORM_ACTION = re.compile(r'<form[^>]*action="([^"]+)"')
POST_FORM = re.compile(r'<form method="post"[^>]*action="([^"]*)"')
NAV = re.compile(r"<nav>(.*?)</nav>", re.S)
LINK = re.compile(r'href="([^"?#]+)')


@pytest.fixture(scope="module")
def world(database_url, tmp_path_factory):
    """The access matrix's world, plus a result report awaiting acceptance in each tenant."""
    with world_app(database_url, tmp_path_factory, "home") as (app, sides):
        with app.app_context():
            for slug in SLUGS:
                tid = f.tenant_id(slug)
                # A session not yet reported: its results are reported for acceptance.
                s = db.session.scalar(sa.select(ReviewSession).filter_by(tenant_id=tid).where(
                    ~ReviewSession.id.in_(sa.select(Publication.session_id))))
                db.session.add(Publication(tenant_id=tid, session_id=s.id, status="requested",
                                           publisher_org_id=s.committee.agency_org_id,
                                           report="评审情况报告"))
            db.session.commit()
            db.session.remove()
        yield app, sides


def _client(app, slug, username):
    c = app.test_client()
    r = c.post(f"/{slug}/login", data={"username": username, "password": PASSWORD})
    assert r.status_code == 303, r.get_data(as_text=True)[:300]
    return c, r


def _nav_links(page: str) -> list[str]:
    return LINK.findall(NAV.search(page).group(1))


@pytest.mark.parametrize("slug", SLUGS)
def test_sign_in_lands_on_the_home_page_and_the_brand_leads_back(world, slug):
    app, sides = world
    for role in ROLES[1:]:
        c, r = _client(app, slug, sides[slug].own[role])
        assert r.location.endswith(f"/{slug}/home"), (role, r.location)
        page = c.get(f"/{slug}/home").get_data(as_text=True)
        assert f'class="brand" href="/{slug}/home"' in page, role
        assert "待办事项" in page


@pytest.mark.parametrize("slug", SLUGS)
def test_every_navigation_entry_opens_for_the_user_it_is_shown_to(world, slug):
    """Shown means usable: each link in the header answers 200 for that user."""
    app, sides = world
    for role in ROLES[1:]:
        c, _ = _client(app, slug, sides[slug].own[role])
        page = c.get(f"/{slug}/home").get_data(as_text=True)
        links = [u for u in _nav_links(page) if u.startswith(f"/{slug}/")
                 and not u.endswith("/password")]
        assert len(links) >= 2, (role, links)
        for url in links:
            assert c.get(url).status_code == 200, (role, url)


@pytest.mark.rule("SR-RUN-2")
@pytest.mark.parametrize("slug", SLUGS)
def test_city_hr_finds_result_acceptance_from_its_home_page_and_navigation(world, slug):
    app, sides = world
    c, _ = _client(app, slug, sides[slug].own["hr_city"])
    page = c.get(f"/{slug}/home").get_data(as_text=True)
    acceptance = f"/{slug}/results/acceptance"
    assert acceptance in _nav_links(page)
    row = re.search(r'<tr><td[^>]*><a href="' + re.escape(acceptance) + r'">([^<]+)</a></td><td[^>]*>(\d+)</td>',
                    page)
    assert row and row.group(1) == "待验收的评审结果" and row.group(2) == "1"
    listing = c.get(acceptance).get_data(as_text=True)
    assert any(a.endswith("/accept") for a in FORM_ACTION.findall(listing))


@pytest.mark.rule("SR-RUN-2")
@pytest.mark.parametrize("slug", SLUGS)
def test_a_county_bureau_never_sees_result_acceptance(world, slug):
    """It may not accept results: no link, no button anywhere it goes, and the page refuses."""
    app, sides = world
    c, _ = _client(app, slug, sides[slug].own["hr_county"])
    page = c.get(f"/{slug}/home").get_data(as_text=True)
    assert "/results/acceptance" not in page and "待验收的评审结果" not in page
    for url in [f"/{slug}/home"] + [u for u in _nav_links(page) if u.startswith(f"/{slug}/")]:
        shown = c.get(url).get_data(as_text=True)
        assert "/results/acceptance" not in shown, url
        assert not [a for a in FORM_ACTION.findall(shown) if "/results/publications/" in a], url
    assert c.get(f"/{slug}/results/acceptance").status_code == 403
    with app.app_context():
        pub = db.session.scalar(sa.select(Publication).filter_by(
            tenant_id=f.tenant_id(slug), status="requested"))
        pub_id = pub.id
    r = c.post(f"/{slug}/results/publications/{pub_id}/accept", data={"version": 1})
    assert r.status_code == 403
    with app.app_context():
        assert db.session.get(Publication, pub_id).status == "requested"


@pytest.mark.parametrize("slug", SLUGS)
def test_navigation_is_per_role(world, slug):
    app, sides = world
    expect = {  # endpoint path fragments a role must and must not be offered
        "applicant": ({"/me/", "/results/mine"}, {"/office/", "/agency/", "/admin/"}),
        "expert": ({"/expert/"}, {"/office/", "/me/", "/admin/"}),
        "agency_clerk": ({"/agency/", "/agency/sessions"}, {"/results/acceptance", "/admin/"}),
        "employer_clerk": ({"/office/", "/results/objections"},
                           {"/results/acceptance", "/admin/employers", "/admin/jobs"}),
        "hr_city": ({"/results/acceptance", "/admin/jobs"}, {"/me/", "/agency/"}),
        "hr_county": ({"/office/", "/admin/jobs"}, {"/results/acceptance"}),
        "tenant_admin": ({"/admin/jobs", "/admin/plans"}, {"/office/", "/me/"}),
    }
    for role, (shown, hidden) in expect.items():
        c, _ = _client(app, slug, sides[slug].own[role])
        links = _nav_links(c.get(f"/{slug}/home").get_data(as_text=True))
        for part in shown:
            assert f"/{slug}{part}" in links, (role, part, links)
        for part in hidden:
            assert not any(u.startswith(f"/{slug}{part}") for u in links), (role, part, links)


def test_employer_approval_is_offered_to_the_district_bureau_only(world):
    """Beijing's pending employer registered in Haidian: the Haidian bureau is offered the page
    with the decision; another district's bureau keeps its page (for its own district) without
    Haidian's decision; the administrator (at the city bureau, no district) is offered neither."""
    app, sides = world
    c, _ = _client(app, "beijing", sides["beijing"].own["hr_county"])  # Haidian
    page = c.get("/beijing/home").get_data(as_text=True)
    assert "/beijing/admin/employers" in _nav_links(page) and "待审核的单位注册" in page
    assert any("/admin/employers/" in a for a in
               FORM_ACTION.findall(c.get("/beijing/admin/employers").get_data(as_text=True)))
    for username, offered in ((sides["beijing"].other["hr_county"], True),
                              (sides["beijing"].own["tenant_admin"], False),
                              (sides["beijing"].own["hr_city"], False)):
        c, _ = _client(app, "beijing", username)
        page = c.get("/beijing/home").get_data(as_text=True)
        assert ("/beijing/admin/employers" in _nav_links(page)) is offered, username
        assert "待审核的单位注册" not in page
        listing = c.get("/beijing/admin/employers").get_data(as_text=True)
        assert not [a for a in FORM_ACTION.findall(listing) if "/admin/employers/" in a]


def test_an_agency_viewing_a_file_on_the_office_pages_gets_no_office_actions(world):
    """The agency holds the recommended file but acts on it from its own pages: the office page
    shows it no form posting to the offices' actions."""
    app, sides = world
    c, _ = _client(app, "beijing", sides["beijing"].own["agency_clerk"])
    page = c.get(f"/beijing/office/applications/{sides['beijing'].ids['recommended_app']}")
    assert page.status_code == 200
    assert not [a for a in FORM_ACTION.findall(page.get_data(as_text=True))
                if "/office/applications/" in a]


def test_a_registered_provider_shows_on_the_home_page(world):
    app, sides = world
    calls = []

    def waiting(user, today):
        calls.append(user.role)
        if user.role != "expert":
            return []
        return [{"label": "专家信息变更待确认", "count": 3, "due": today, "endpoint": "expert.index",
                 "args": {}}]

    home.register(waiting)
    try:
        c, _ = _client(app, "chifeng", sides["chifeng"].own["expert"])
        page = c.get("/chifeng/home").get_data(as_text=True)
        assert re.search(r'<a href="/chifeng/expert/">专家信息变更待确认</a></td><td[^>]*>3</td>', page)
        c, _ = _client(app, "chifeng", sides["chifeng"].own["applicant"])
        assert "专家信息变更待确认" not in c.get("/chifeng/home").get_data(as_text=True)
    finally:
        home.PROVIDERS.remove(waiting)
    assert calls == ["expert", "applicant"]


# -- counts, deadlines and the query budget --------------------------------------------------------

def _submitted(app, slug, n, start):
    """n files submitted to the employer `emp`, on 10 July 2026 (the apply window is open)."""
    with app.app_context(), time_machine.travel(at(2026, 7, 10, 10), tick=False):
        for i in range(start, start + n):
            u = f.make_user(slug, f"u{i}", "applicant", "emp")
            a = f.make_application(slug, u, "bj-2026", "bj-eng", "engineering", "intermediate",
                                   "mechanical")
            transition(tenants()[slug], a, "submit", f.actor(u), pledge=f.PLEDGE)


def _row(page, label):
    m = re.search(r">" + re.escape(label) + r"</a></td><td[^>]*>(\d+)</td><td[^>]*>([^<]*(?:<strong[^>]*>[^<]*)?)",
                  page)
    return (int(m.group(1)), m.group(2).replace('<strong class="err">', "").strip()) if m else None


def test_office_home_counts_deadlines_and_a_fixed_number_of_queries(app, client, login):
    with app.app_context():
        f.make_employer("beijing", "emp", "haidian")
        f.make_user("beijing", "clerk", "employer_clerk", "emp")
        close = f.plan("beijing", "bj-2026").window("employer_review").closes_on
    _submitted(app, "beijing", 2, 0)
    with time_machine.travel(at(2026, 7, 11, 10), tick=False):
        login("beijing", "clerk")
        few = count_queries(app, lambda: client.get("/beijing/home"))
        page = client.get("/beijing/home").get_data(as_text=True)
    assert _row(page, "待审核的申报") == (2, close.isoformat())
    assert 'href="/beijing/office/?status=submitted"' in page
    _submitted(app, "beijing", 20, 2)
    with app.app_context():  # three files go into the unit's notice, ending on different days
        apps = db.session.scalars(sa.select(Application).order_by(Application.id).limit(3)).all()
        from datetime import date
        for a, end in zip(apps, (date(2026, 7, 8), date(2026, 7, 17), date(2026, 7, 15))):
            a.status, a.notice_ends_on = "in_notice", end
        db.session.commit()
    with time_machine.travel(at(2026, 7, 11, 10), tick=False):
        many = count_queries(app, lambda: client.get("/beijing/home"))
        page = client.get("/beijing/home").get_data(as_text=True)
    assert few == many
    assert _row(page, "待审核的申报") == (19, close.isoformat())
    assert _row(page, "公示期满、待推荐的申报") == (1, close.isoformat())
    assert _row(page, "单位公示中的申报") == (2, "2026-07-15")


def test_applicant_home_lists_drafts_and_returned_files_with_their_deadlines(app, client, login):
    with app.app_context():
        f.make_employer("beijing", "emp", "haidian")
        u = f.make_user("beijing", "appl", "applicant", "emp")
        plan = f.plan("beijing", "bj-2026")
        apply_close = plan.window("apply").closes_on.isoformat()
        for _ in range(2):
            f.make_application("beijing", u, "bj-2026", "bj-eng", "engineering", "intermediate",
                               "mechanical")
        returned = f.make_application("beijing", u, "bj-2026", "bj-eng", "engineering",
                                      "intermediate", "mechanical")
        from datetime import date
        returned.status, returned.correction_due = "returned", date(2026, 8, 3)
        db.session.commit()
    with time_machine.travel(at(2026, 7, 10, 10), tick=False):
        login("beijing", "appl")
        few = count_queries(app, lambda: client.get("/beijing/home"))
        page = client.get("/beijing/home").get_data(as_text=True)
        assert _row(page, "待提交的申报") == (2, apply_close)
        assert _row(page, "退回待补正的申报") == (1, "2026-08-03")
        with app.app_context():
            u = db.session.scalar(sa.select(User).filter_by(username="appl"))
            for _ in range(10):
                f.make_application("beijing", u, "bj-2026", "bj-eng", "engineering",
                                   "intermediate", "mechanical")
        assert count_queries(app, lambda: client.get("/beijing/home")) == few
        assert _row(client.get("/beijing/home").get_data(as_text=True), "待提交的申报")[0] == 12


def test_home_page_in_english(world):
    app, sides = world
    c, _ = _client(app, "chifeng", sides["chifeng"].own["hr_city"])
    page = c.get("/chifeng/home?lang=en").get_data(as_text=True)
    assert "Waiting for you" in page and "Review results to accept" in page
    assert "待" not in page.split('<main id="main">')[1]


@pytest.mark.rule("CF-MODE-3")
def test_chifeng_office_home_lists_paper_still_to_record(ctx):
    """Files held in a paper review mode wait for the office to record their paper; a recorded
    one no longer does; the files are read in a fixed number of queries."""
    from app.workflow import paper
    from .test_paper import submitted_junior
    f.make_employer("chifeng", "cf-firm", "songshan")
    clerk = f.make_user("chifeng", "cf-clerk", "employer_clerk", "cf-firm")
    apps = [submitted_junior(f.make_user("chifeng", f"cf-p{i}", "applicant", "cf-firm"))
            for i in range(2)]
    from app.workflow.transitions import office_stage
    close = apps[0].plan.window(office_stage(apps[0].plan)).closes_on
    today = close.replace(day=1) if close.day > 1 else close

    def paper_row():
        db.session.expire_all()
        rows = [i for i in home.waiting(clerk, today) if i["endpoint"] == "paper.receive"]
        return rows[0]["count"], rows[0]["due"]

    def fresh():  # as a request sees it: nothing loaded yet
        db.session.expire_all()
        home.paper_items(clerk, today)

    assert paper_row() == (2, close)
    few = count_queries(ctx, fresh)
    for i in range(2, 6):
        submitted_junior(f.make_user("chifeng", f"cf-p{i}", "applicant", "cf-firm"))
    assert count_queries(ctx, fresh) == few
    assert paper_row() == (6, close)
    a = apps[0]
    with time_machine.travel(at(2026, 5, 20, 9), tick=False):
        r = paper.receive(tenants()["chifeng"], f.actor(clerk), paper.file_code(a),
                          sorted({att.material for att in a.attachments}))
    assert r.matched
    assert paper_row() == (5, close)


def test_agency_home_lists_checks_sessions_and_rechecks(world):
    """Beijing's agency: the recommended file to check (due at the agency's check close), the
    drawn session (on its day) and the applicant's re-check request to answer."""
    app, sides = world
    with app.app_context():
        a = db.session.get(Application, sides["beijing"].ids["recommended_app"])
        check_close = a.plan.window("agency_check").closes_on.isoformat()
        drawn = db.session.get(ReviewSession, sides["beijing"].ids["session"])
        held_on = drawn.held_on.isoformat()
    with time_machine.travel(at(2026, 9, 1, 10), tick=False):
        c, _ = _client(app, "beijing", sides["beijing"].own["agency_clerk"])
        page = c.get("/beijing/home").get_data(as_text=True)
    assert _row(page, "待审核材料的申报") == (1, check_close)
    assert 'href="/beijing/agency/?status=recommended"' in page
    assert _row(page, "进行中的评审会") == (1, held_on)
    assert _row(page, "待答复的复查申请") == (1, "—")
    # another agency of the tenant has none of these
    c, _ = _client(app, "beijing", sides["beijing"].other["agency_clerk"])
    page = c.get("/beijing/home").get_data(as_text=True)
    assert "待审核材料的申报" not in page and "待答复的复查申请" not in page


@pytest.mark.rule("CF-POL-8")
def test_the_allocating_office_sees_the_places_it_has_not_shared_out(ctx):
    """Chifeng's teacher quota (49 places, shared out by the city education bureau): its home
    counts the places not yet allocated; the offices above see the quota but allocate nothing."""
    from .test_quotas import QUOTA, _clerk, allocate, cfg, district
    edu = _clerk("cf-edu", "department_clerk")
    total = next(q for q in cfg().policies.review_quota if q.code == QUOTA).total

    def free(user):
        rows = [i for i in home.waiting(user, at(2026, 6, 1).date())
                if i["label"] == "待分配的评审名额"]
        return rows[0]["count"] if rows else 0

    assert free(edu) == total
    allocate(district("aohan"), 30)
    allocate(f"org:{f.org('chifeng', 'cf-edu').id}", 10)
    assert free(edu) == total - 40
    assert free(_clerk("cf-hr", "hr_officer")) == 0


@pytest.mark.parametrize("slug", SLUGS)
def test_no_page_a_role_is_offered_shows_a_form_it_may_not_post(world, slug):
    """On its home page and every page its navigation offers, each form a role is shown posts
    to an endpoint the access table lets that role use."""
    from .test_access_matrix import ACCESS
    app, sides = world
    urls = app.url_map.bind("localhost")
    for role in ROLES[1:]:
        c, _ = _client(app, slug, sides[slug].own[role])
        home_page = c.get(f"/{slug}/home").get_data(as_text=True)
        pages = [f"/{slug}/home"] + [u for u in _nav_links(home_page) if u.startswith(f"/{slug}/")]
        for url in pages:
            for action in POST_FORM.findall(c.get(url).get_data(as_text=True)):
                path = action.split("?")[0] or url
                endpoint, _ = urls.match(path, method="POST")
                assert role in ACCESS[endpoint].allow, (role, url, action)


def test_a_registered_navigation_entry_is_shown_to_whom_its_predicate_admits(world):
    from app import navigation
    app, sides = world
    navigation.register("certify.query", "查验证书", lambda cfg, user: user.role == "expert")
    try:
        c, _ = _client(app, "beijing", sides["beijing"].own["expert"])
        assert "/beijing/certificates/verify" in _nav_links(
            c.get("/beijing/home").get_data(as_text=True))
        c, _ = _client(app, "beijing", sides["beijing"].own["applicant"])
        assert "/beijing/certificates/verify" not in _nav_links(
            c.get("/beijing/home").get_data(as_text=True))
    finally:
        navigation.EXTRA.pop()
