"""Sessions that end on the server (logout, password change, disabling, absolute lifetime), the
password-change page, the password policy, and the limits on registration and objections."""
from datetime import timedelta

import pytest
import sqlalchemy as sa
import time_machine

from app.extensions import db
from app.models import AuditEvent, User
from app.workflow.accounts import disable_user, enable_user
from app.workflow.actors import Actor
from app.workflow.errors import Forbidden, Invalid
from app.workflow.passwords import password_problem

from . import factories as f
from .conftest import PASSWORD, at

NEW_PASSWORD = "Lantern-river-42"
ME = "/beijing/me/"


@pytest.fixture
def seeded(app):
    with app.app_context():
        f.make_employer("beijing", "emp", "haidian")
        f.make_user("beijing", "13900000001", "applicant", "emp")
        f.make_user("beijing", "bj-admin", "tenant_admin")
        f.make_user("chifeng", "cf-admin", "tenant_admin")


def signed_in(app, username="13900000001", password=PASSWORD):
    """A new browser, signed in."""
    browser = app.test_client()
    r = browser.post("/beijing/login", data={"username": username, "password": password})
    assert r.status_code == 303, r.get_data(as_text=True)[:300]
    return browser


def refused(browser) -> bool:
    r = browser.get(ME)
    return r.status_code == 302 and "/beijing/login" in r.location


def copy_of(app, browser):
    """Another browser holding a copy of `browser`'s session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", browser.get_cookie("session").value)
    return thief


def user(username="13900000001") -> User:
    return db.session.scalar(sa.select(User).filter_by(username=username))


def test_a_cookie_copied_before_logout_is_refused_after_it(app, seeded):
    browser = signed_in(app)
    thief = copy_of(app, browser)
    assert thief.get(ME).status_code == 200  # the copy works while the session lives
    browser.post("/beijing/logout")
    assert refused(thief)
    assert refused(browser)


def test_after_a_password_change_other_sessions_are_refused_this_one_stays(app, seeded):
    phone, laptop = signed_in(app), signed_in(app)
    page = laptop.get("/beijing/password").get_data(as_text=True)
    assert "当前密码" in page
    assert 'href="/beijing/password"' in laptop.get(ME).get_data(as_text=True)  # header link
    r = laptop.post("/beijing/password", data={"current": PASSWORD, "new": NEW_PASSWORD,
                                               "new2": NEW_PASSWORD})
    assert r.status_code == 303
    assert laptop.get(ME).status_code == 200
    assert refused(phone)
    bad = app.test_client().post("/beijing/login", data={"username": "13900000001",
                                                         "password": PASSWORD})
    assert bad.status_code == 200
    signed_in(app, password=NEW_PASSWORD)
    with app.app_context():
        assert db.session.scalar(sa.select(AuditEvent.action).filter_by(
            action="password_change", subject_id=user().id)) == "password_change"


@pytest.mark.parametrize("current,new,message", [
    ("not-my-password", NEW_PASSWORD, "当前密码不正确"),
    (PASSWORD, "QwertyUIOP", "该密码过于常见"),
    (PASSWORD, "short-pw", "密码至少10位"),
    (PASSWORD, "x13900000001x", "不能包含用户名或手机号码"),
])
def test_a_refused_password_change_changes_nothing(app, seeded, current, new, message):
    browser = signed_in(app)
    r = browser.post("/beijing/password", data={"current": current, "new": new, "new2": new})
    assert r.status_code == 200 and message in r.get_data(as_text=True)
    assert browser.get(ME).status_code == 200
    signed_in(app)  # the old password still works


def test_a_password_change_cannot_be_used_to_guess_the_current_password(app, seeded):
    app.config["PASSWORD_CHANGE_LIMIT"] = "3/hour"
    browser = signed_in(app)
    for _ in range(3):
        browser.post("/beijing/password", data={"current": f"guess-{_}-guess", "new": NEW_PASSWORD,
                                                "new2": NEW_PASSWORD})
    r = browser.post("/beijing/password", data={"current": PASSWORD, "new": NEW_PASSWORD,
                                                "new2": NEW_PASSWORD})
    assert r.status_code == 429
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).filter_by(
            action="password_change_failed")) == 3


def test_a_disabled_account_loses_its_sessions_and_cannot_sign_in(app, seeded):
    browser, unused = signed_in(app), signed_in(app)
    with app.app_context():
        admin = user("bj-admin")
        disable_user(Actor.of(admin, "10.0.0.9"), user())
        assert db.session.scalar(sa.select(AuditEvent).filter_by(action="disable")).ip == \
            "10.0.0.9"
    assert refused(browser)
    r = app.test_client().post("/beijing/login", data={"username": "13900000001",
                                                       "password": PASSWORD})
    assert r.status_code == 200 and "已停用" in r.get_data(as_text=True)
    with app.app_context():
        enable_user(Actor.of(user("bj-admin")), user())
    assert refused(unused)  # enabled again: a session not used meanwhile stays ended too
    signed_in(app)


@pytest.mark.parametrize("actor,target,error", [
    ("13900000001", "bj-admin", Forbidden),  # not an admin
    ("cf-admin", "13900000001", Forbidden),  # another tenant's admin
    ("bj-admin", "bj-admin", Invalid),       # oneself
])
def test_only_the_tenants_admin_may_disable_and_not_themselves(ctx, seeded, actor, target, error):
    with pytest.raises(error):
        disable_user(Actor.of(user(actor)), user(target))
    assert user(target).active


def test_users_disable_command(app, seeded):
    browser = signed_in(app)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "disable", "beijing", "13900000001"])
    assert result.exit_code == 0, result.output
    assert refused(browser)
    assert runner.invoke(args=["users", "disable", "beijing", "nobody"]).exit_code != 0
    assert runner.invoke(args=["users", "enable", "beijing", "13900000001"]).exit_code == 0
    signed_in(app)


def test_an_active_session_ends_after_its_absolute_lifetime(app, seeded):
    lifetime = app.config["SESSION_ABSOLUTE_LIFETIME"]
    start = at(2026, 7, 8, 9)
    with time_machine.travel(start, tick=False) as clock:
        browser = signed_in(app)
        for minutes in range(0, int(lifetime.total_seconds() // 60), 25):
            clock.move_to(start + timedelta(minutes=minutes))
            assert browser.get(ME).status_code == 200  # never idle for 30 minutes
        clock.move_to(start + lifetime + timedelta(seconds=1))
        assert refused(browser)


# -- the password policy ----------------------------------------------------------------------

@pytest.mark.parametrize("password", ["Demo-2026!", "Passw0rd-test", NEW_PASSWORD,
                                      "长城长江黄河泰山华山嵩山"])
def test_good_passwords_pass_the_policy(ctx, password):
    assert password_problem(password, "13900000001") is None


@pytest.mark.parametrize("password", ["1234567890", "QWERTYUIOP", "1qaz2wsx3edc", "Woaini1314",
                                      "P@ssw0rd123", "aaaaaaaaaa", "0987654321"])
def test_common_passwords_and_keyboard_runs_are_refused_whatever_their_case(ctx, password):
    assert "常见" in str(password_problem(password))


def register_form(employer_id, password):
    return {"name": "张伟", "id_number": "110108198506154321", "mobile": "13911112222",
            "person_type": "professional", "employer": employer_id, "association": 0,
            "password": password, "password2": password}


@pytest.mark.parametrize("password,message", [("abcdefghij", "该密码过于常见"),
                                              ("13911112222", "不能包含用户名或手机号码"),
                                              ("Sh0rt-pw", "密码至少10位")])
def test_registration_applies_the_password_policy(app, client, seeded, password, message):
    with app.app_context():
        employer = f.org("beijing", "emp").id
    r = client.post("/beijing/register", data=register_form(employer, password))
    assert r.status_code == 200 and message in r.get_data(as_text=True)
    with app.app_context():
        assert user("13911112222") is None


def test_employer_registration_applies_the_password_policy(client, seeded):
    r = client.post("/beijing/employers/register", data={
        "name": "某公司", "uscc": "91110108MA01234567", "district": "haidian",
        "employer_kind": "non_public", "clerk_name": "李四", "clerk_mobile": "13911113333",
        "password": "1234567890"})
    assert r.status_code == 200 and "该密码过于常见" in r.get_data(as_text=True)


# -- limits on registration -------------------------------------------------------------------

def test_registration_is_limited_per_source_across_both_forms(app, client, seeded):
    app.config["REGISTRATION_LIMIT"] = "2/hour"
    there = {"REMOTE_ADDR": "203.0.113.20"}
    client.post("/beijing/register", data={}, environ_base=there)
    client.post("/beijing/employers/register", data={}, environ_base=there)
    assert client.post("/beijing/register", data={}, environ_base=there).status_code == 429
    r = client.post("/beijing/employers/register", data={}, environ_base=there)
    assert r.status_code == 429 and "过于频繁" in r.get_data(as_text=True)
    assert client.get("/beijing/register", environ_base=there).status_code == 200  # the form
    elsewhere = {"REMOTE_ADDR": "203.0.113.21"}
    assert client.post("/beijing/register", data={}, environ_base=elsewhere).status_code == 200
