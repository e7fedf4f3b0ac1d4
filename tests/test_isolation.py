"""Tenant isolation and employer isolation: another's ids are 404, never someone else's data."""
import pytest
import time_machine

from app.tenancy import tenants
from app.workflow.transitions import transition

from . import factories as f
from .conftest import at


@pytest.fixture
def two_tenants(app):
    """A submitted application with a scan in each tenant, plus each side's staff."""
    with app.app_context(), time_machine.travel(at(2026, 6, 1, 9), tick=False):
        f.make_employer("chifeng", "cf-emp", "songshan", kind="state_owned")
        cf_user = f.make_user("chifeng", "cf-a", "applicant", "cf-emp")
        f.make_user("chifeng", "cf-c", "employer_clerk", "cf-emp")
        cf_app = f.make_application("chifeng", cf_user, "cf-2026-intermediate", "cf-eng",
                                    "engineering", "intermediate", "mechanical")
        transition(tenants()["chifeng"], cf_app, "submit", f.actor(cf_user), pledge=f.PLEDGE)
        cf = {"cf": cf_app.id, "cf_att": cf_app.attachments[0].id}
    with app.app_context(), time_machine.travel(at(2026, 7, 8, 9), tick=False):
        f.make_employer("beijing", "bj-emp", "haidian")
        f.make_employer("beijing", "bj-other", "xicheng")
        bj_user = f.make_user("beijing", "bj-a", "applicant", "bj-emp")
        f.make_user("beijing", "bj-c", "employer_clerk", "bj-emp")
        f.make_user("beijing", "bj-o", "employer_clerk", "bj-other")
        bj_app = f.make_application("beijing", bj_user, "bj-2026", "bj-eng", "engineering",
                                    "intermediate", "mechanical")
        transition(tenants()["beijing"], bj_app, "submit", f.actor(bj_user), pledge=f.PLEDGE)
        return {**cf, "bj": bj_app.id, "bj_att": bj_app.attachments[0].id}


def test_applicant_gets_404_for_another_tenants_application(client, login, two_tenants):
    login("chifeng", "cf-a")
    bj, att = two_tenants["bj"], two_tenants["bj_att"]
    assert client.get(f"/chifeng/me/applications/{bj}").status_code == 404
    assert client.get(f"/chifeng/me/applications/{bj}/attachments/{att}").status_code == 404
    assert client.post(f"/chifeng/me/applications/{bj}/submit").status_code == 404
    assert client.post(f"/chifeng/me/applications/{bj}/entries/papers",
                       data={"title": "x"}).status_code == 404


def test_clerk_gets_404_for_another_tenants_application(client, login, two_tenants):
    login("beijing", "bj-c")
    cf, att = two_tenants["cf"], two_tenants["cf_att"]
    assert client.get(f"/beijing/office/applications/{cf}").status_code == 404
    assert client.get(f"/beijing/office/applications/{cf}/attachments/{att}").status_code == 404
    assert client.post(f"/beijing/office/applications/{cf}/start_notice").status_code == 404
    assert "cf-a" not in client.get("/beijing/office/").get_data(as_text=True)


def test_a_session_does_not_cross_tenants(client, login, two_tenants):
    login("beijing", "bj-c")
    resp = client.get("/chifeng/office/")
    assert resp.status_code == 302 and "/chifeng/login" in resp.location


def test_employer_clerk_sees_only_its_own_staff(client, login, two_tenants):
    login("beijing", "bj-o")
    bj = two_tenants["bj"]
    assert client.get(f"/beijing/office/applications/{bj}").status_code == 404
    assert client.post(f"/beijing/office/applications/{bj}/start_notice").status_code == 404
    assert "bj-a" not in client.get("/beijing/office/").get_data(as_text=True)


def test_own_clerk_sees_it(client, login, two_tenants):
    login("beijing", "bj-c")
    bj = two_tenants["bj"]
    assert client.get(f"/beijing/office/applications/{bj}").status_code == 200
    assert "bj-a" in client.get("/beijing/office/").get_data(as_text=True)


def test_another_applicant_of_the_same_tenant_gets_404(client, login, two_tenants, app):
    with app.app_context():
        f.make_user("beijing", "bj-b", "applicant", "bj-emp")
    login("beijing", "bj-b")
    assert client.get(f"/beijing/me/applications/{two_tenants['bj']}").status_code == 404
