"""Staff accounts administered in the portal: invitations by SMS with a one-time link that
expires, disabling (sessions end), re-enabling and resetting; who may manage whose accounts; a
second duty; and every office on every route of both tenants staffed this way."""
import hashlib
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
import time_machine

from app.extensions import db
from app.models import AuditEvent, Committee, Org, User, utcnow
from app.models.notify import Outbox
from app.tenancy import tenants
from app.tenancy.schema import StepKind
from app.workflow import orgtree, staff
from app.workflow.errors import Forbidden, Invalid
from app.workflow.routing import STEP_ROLE

from . import factories as f
from .conftest import PASSWORD

NEW_PASSWORD = "a-fresh-long-secret"


def last_link(app, mobile_tail: str | None = None) -> str:
    """The one-time link of the latest SMS in the outbox (its path and query)."""
    with app.app_context():
        body = db.session.scalar(sa.select(Outbox.body).order_by(Outbox.id.desc()).limit(1))
    url = re.search(r"https?://\S+", body).group(0)
    assert url.startswith(app.config["PUBLIC_BASE_URL"] + "/")
    return urlsplit(url).path


def invite_via_page(client, slug: str, org_id: int, username: str, mobile: str, role: str,
                    **kw):
    resp = client.post(f"/{slug}/staff/offices/{org_id}/invite", data={
        "name": kw.get("name", "新同事"), "mobile": mobile, "username": username, "role": role,
        **({"office_admin": "y"} if kw.get("office_admin") else {})})
    assert resp.status_code == 303
    return resp


def set_password(client, path: str, password: str = NEW_PASSWORD):
    assert client.get(path).status_code == 200
    return client.post(path, data={"password": password, "password2": password})


def sign_in(app, slug: str, username: str, password: str = NEW_PASSWORD):
    c = app.test_client()
    return c, c.post(f"/{slug}/login", data={"username": username, "password": password})


# -- every office on every route ------------------------------------------------------------------

def offices_on_routes(slug: str) -> list[tuple[str, str, str]]:
    """(what, org code, role) for every step kind of the tenant's routes, the freelancers'
    recommending association and every committee's office."""
    cfg = tenants()[slug]
    tid = f.tenant_id(slug)
    kinds = {k for r in cfg.routing.route for k in r.steps}

    def first(**by) -> Org:
        return db.session.scalar(sa.select(Org).filter_by(tenant_id=tid, **by).order_by(Org.id))

    found = []
    for kind in sorted(kinds, key=lambda k: k.value):
        if kind == StepKind.employer:
            org = f.make_employer(slug, f"{slug}-walk-emp", cfg.tenant.districts[0].code)
        elif kind == StepKind.supervising_department:
            org = first(kind="department")
        elif kind == StepKind.county_department:
            org = first(kind="department", tier="county")
        elif kind == StepKind.city_department:
            org = first(kind="department", tier="city")
        elif kind in (StepKind.county_hr, StepKind.city_hr, StepKind.region_hr):
            org = first(kind="hr_bureau", tier=kind.value.split("_")[0])
        else:  # the agency step: each committee's office (agencies, self-review units)
            for c in db.session.scalars(sa.select(Committee).filter_by(tenant_id=tid)):
                found.append((kind.value, c.agency.code, "agency_clerk"))
            continue
        assert org is not None, (slug, kind)
        found.append((kind.value, org.code, STEP_ROLE[kind].value))
    if any(r.recommender == "association" for r in cfg.routing.route):
        found.append(("association", db.session.scalar(sa.select(Org.code).filter_by(
            tenant_id=tid, kind="association")), "association_clerk"))
    return list(dict.fromkeys(found))


@pytest.mark.rule("CF-ROUTE-1", "CF-ROUTE-4", "BJ-WIN-2")
@pytest.mark.parametrize("slug", ["beijing", "chifeng"])
def test_every_office_on_every_route_can_be_staffed_through_an_sms_link(app, client, login,
                                                                         slug):
    with app.app_context():
        f.make_user(slug, "admin", "tenant_admin", "bj-hr" if slug == "beijing" else "cf-hr")
        offices = offices_on_routes(slug)
        ids = {code: f.org(slug, code).id for _, code, _ in offices}
    kinds = {what for what, _, _ in offices}
    expected = {"employer", "agency"} | ({"association"} if slug == "beijing" else {
        "supervising_department", "county_department", "city_department", "county_hr",
        "city_hr", "region_hr"})
    assert expected <= kinds
    login(slug, "admin")
    for n, (what, code, role) in enumerate(offices):
        username = f"walk-{n}"
        invite_via_page(client, slug, ids[code], username, f"1390000{n:04d}", role)
        visitor = app.test_client()
        resp = set_password(visitor, last_link(app))
        assert resp.status_code == 303, (what, code)
        signed, resp = sign_in(app, slug, username)
        assert resp.status_code == 303, (what, code, resp.get_data(as_text=True)[:300])
        home = signed.get(resp.location)
        assert home.status_code == 200, (what, code, role, resp.location)
        with app.app_context():
            user = db.session.scalar(sa.select(User).filter_by(username=username))
            assert (user.role, user.org.code, user.active) == (role, code, True)


# -- the link -------------------------------------------------------------------------------------

def test_the_link_is_stored_as_a_hash_works_once_and_expires(app, client, login):
    with app.app_context():
        f.make_user("chifeng", "hr-city", "hr_officer", "cf-hr")
        edu = f.org("chifeng", "cf-edu").id
    login("chifeng", "hr-city")
    invite_via_page(client, "chifeng", edu, "edu-clerk", "13900001111", "department_clerk")
    path = last_link(app)
    token = path.rsplit("/", 1)[1]
    with app.app_context():
        user = db.session.scalar(sa.select(User).filter_by(username="edu-clerk"))
        assert user.setup_token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert token not in (user.password_hash + user.setup_token_hash)
        hours = app.config["INVITE_LINK_HOURS"]
        assert abs(user.setup_expires_at - (utcnow() + timedelta(hours=hours))) < timedelta(
            minutes=1)
        assert user.active is False  # not usable before the password is set
        assert db.session.scalar(sa.select(AuditEvent.action).filter_by(
            subject_type="users", subject_id=user.id)) == "invite"
    visitor = app.test_client()
    with time_machine.travel(utcnow() + timedelta(hours=hours, minutes=1)):
        assert visitor.get(path).status_code == 404
        assert visitor.post(path, data={"password": NEW_PASSWORD,
                                        "password2": NEW_PASSWORD}).status_code == 404
    # the password policy applies on the page
    resp = visitor.post(path, data={"password": "short", "password2": "short"})
    assert resp.status_code == 200 and "密码至少10位" in resp.get_data(as_text=True)
    assert set_password(visitor, path).status_code == 303
    assert visitor.get(path).status_code == 404  # spent
    _, resp = sign_in(app, "chifeng", "13900001111")  # the first account signs in by mobile
    assert resp.status_code == 303


# -- who manages whose accounts -------------------------------------------------------------------

def test_an_office_admin_and_the_bureaus_above_manage_an_office_nobody_else(ctx):
    cfg = tenants()["chifeng"]
    firm = f.make_employer("chifeng", "cf-firm", "ningcheng", kind="non_public")
    admin = f.make_user("chifeng", "firm-admin", "employer_clerk", "cf-firm")
    admin.office_admin = True
    clerk = f.make_user("chifeng", "firm-clerk", "employer_clerk", "cf-firm")
    db.session.commit()
    county = f.make_user("chifeng", "hr-nc", "hr_officer", "cf-hr-ningcheng")
    city = f.make_user("chifeng", "hr-city", "hr_officer", "cf-hr")
    neighbour = f.make_user("chifeng", "hr-hs", "hr_officer", "cf-hr-hongshan")
    other_firm = f.make_user("chifeng", "x-admin", "employer_clerk",
                             f.make_employer("chifeng", "cf-x", "ningcheng").code)
    other_firm.office_admin = True
    db.session.commit()
    assert [staff.may_manage_office(cfg, u, firm) for u in (admin, county, city)] == [True] * 3
    assert [staff.may_manage_office(cfg, u, firm) for u in (clerk, neighbour, other_firm)] == [
        False] * 3
    with pytest.raises(Forbidden):
        staff.invite(cfg, neighbour, firm, {"name": "甲", "mobile": "13900002222",
                                            "username": "jia", "role": "employer_clerk"})
    with pytest.raises(Invalid) as e:
        staff.invite(cfg, admin, firm, {"name": "甲", "mobile": "13900002222",
                                        "username": "jia", "role": "hr_officer"})
    assert "该机构不能设置此角色。" in [str(p) for p in e.value.problems]
    with pytest.raises(Invalid):
        staff.disable(cfg, admin, admin)  # not one's own account
    staff.disable(cfg, admin, clerk)
    assert db.session.get(User, clerk.id).active is False
    assert db.session.scalar(sa.select(sa.func.count(User.id)).filter_by(username="jia")) == 0


def test_disabling_ends_sessions_reenabling_restores_and_reset_voids_the_password(app, client,
                                                                                   login):
    with app.app_context():
        f.make_user("beijing", "hr-hd", "hr_officer", "bj-hr-haidian")
        f.make_employer("beijing", "emp", "haidian")
        clerk_id = f.make_user("beijing", "emp-clerk", "employer_clerk", "emp").id
    signed, resp = sign_in(app, "beijing", "emp-clerk", PASSWORD)
    assert resp.status_code == 303 and signed.get("/beijing/office/").status_code == 200
    login("beijing", "hr-hd")
    assert client.post(f"/beijing/staff/accounts/{clerk_id}/disable").status_code == 303
    assert signed.get("/beijing/office/").status_code == 302  # the open session has ended
    assert sign_in(app, "beijing", "emp-clerk", PASSWORD)[1].status_code == 200
    client.post(f"/beijing/staff/accounts/{clerk_id}/enable")
    signed, resp = sign_in(app, "beijing", "emp-clerk", PASSWORD)
    assert resp.status_code == 303
    client.post(f"/beijing/staff/accounts/{clerk_id}/reset")
    assert signed.get("/beijing/office/").status_code == 302  # reset ends sessions too
    assert sign_in(app, "beijing", "emp-clerk", PASSWORD)[1].status_code == 200  # old password
    assert set_password(app.test_client(), last_link(app)).status_code == 303
    assert sign_in(app, "beijing", "emp-clerk")[1].status_code == 303
    with app.app_context():
        assert list(db.session.scalars(sa.select(AuditEvent.action).where(
            AuditEvent.subject_type == "users", AuditEvent.subject_id == clerk_id,
            AuditEvent.action.in_(["disable", "enable", "reset", "password_set"]))
            .order_by(AuditEvent.id))) == ["disable", "enable", "reset", "password_set"]


def test_a_second_duty_is_a_second_account_signed_in_by_its_login_name(app, client, login):
    with app.app_context():
        f.make_user("chifeng", "hr-city", "hr_officer", "cf-hr")
        edu, housing = f.org("chifeng", "cf-edu").id, f.org("chifeng", "cf-housing").id
    login("chifeng", "hr-city")
    invite_via_page(client, "chifeng", edu, "li-edu", "13900003333", "department_clerk")
    assert set_password(app.test_client(), last_link(app)).status_code == 303
    invite_via_page(client, "chifeng", housing, "li-housing", "13900003333", "department_clerk")
    assert set_password(app.test_client(), last_link(app)).status_code == 303
    c, resp = sign_in(app, "chifeng", "13900003333")
    assert resp.status_code == 303
    with app.app_context():
        first = db.session.scalar(sa.select(User).filter_by(username="li-edu"))
        second = db.session.scalar(sa.select(User).filter_by(username="li-housing"))
        assert first.mobile_hash and second.mobile_hash is None
        assert second.mobile == "13900003333"  # kept, encrypted, for its SMS
    assert sign_in(app, "chifeng", "li-housing")[1].status_code == 303


def test_a_closed_office_gets_no_new_accounts_and_its_links_stop_working(app, client, login):
    with app.app_context():
        cfg = tenants()["chifeng"]
        city = f.make_user("chifeng", "hr-city", "hr_officer", "cf-hr")
        unit = orgtree.create_unit(cfg, city, {"kind": "agency", "code": "cf-agency-x",
                                               "name": "临时评审办公室", "tier": "city"})
        unit_id = unit.id
    login("chifeng", "hr-city")
    invite_via_page(client, "chifeng", unit_id, "tmp-clerk", "13900004444", "agency_clerk")
    path = last_link(app)
    with app.app_context():
        unit = db.session.get(Org, unit_id)
        city = db.session.scalar(sa.select(User).filter_by(username="hr-city"))
        orgtree.close_unit(tenants()["chifeng"], city, unit, "撤并")
        with pytest.raises(Invalid):
            staff.invite(tenants()["chifeng"], city, db.session.get(Org, unit_id), {
                "name": "乙", "mobile": "13900005555", "username": "yi",
                "role": "agency_clerk"})
    assert app.test_client().get(path).status_code == 404


def test_the_bureau_above_makes_a_clerk_the_offices_administrator_who_then_invites(app, client,
                                                                                    login):
    with app.app_context():
        f.make_user("chifeng", "hr-nc", "hr_officer", "cf-hr-ningcheng")
        firm = f.make_employer("chifeng", "cf-firm", "ningcheng", kind="non_public")
        clerk_id, firm_id = f.make_user("chifeng", "firm-clerk", "employer_clerk", "cf-firm").id, \
            firm.id
    helper, _ = sign_in(app, "chifeng", "firm-clerk", PASSWORD)
    assert helper.get(f"/chifeng/staff/offices/{firm_id}").status_code == 404
    login("chifeng", "hr-nc")
    client.post(f"/chifeng/staff/accounts/{clerk_id}/make_admin")
    assert helper.get(f"/chifeng/staff/offices/{firm_id}").status_code == 200
    invite_via_page(helper, "chifeng", firm_id, "firm-2", "13900006666", "employer_clerk")
    with app.app_context():
        admin = db.session.get(User, clerk_id)
        assert staff.waiting(admin, None) == []
        later = utcnow() + timedelta(hours=app.config["INVITE_LINK_HOURS"] + 1)
        with time_machine.travel(later):
            [item] = staff.waiting(admin, None)
        assert (item["count"], item["endpoint"], item["args"]) == (1, "staff.accounts",
                                                                   {"org_id": firm_id})
    assert set_password(app.test_client(), last_link(app)).status_code == 303
    client.post(f"/chifeng/staff/accounts/{clerk_id}/unmake_admin")
    assert helper.get(f"/chifeng/staff/offices/{firm_id}").status_code == 404
    with app.app_context():
        assert list(db.session.scalars(sa.select(AuditEvent.action).where(
            AuditEvent.subject_type == "users", AuditEvent.subject_id == clerk_id,
            AuditEvent.action.like("office_admin%")).order_by(AuditEvent.id))) == [
            "office_admin_on", "office_admin_off"]
