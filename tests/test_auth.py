"""Accounts: registration, Argon2, lockout, idle expiry, CSRF, audited login and logout."""
from datetime import timedelta

import pytest
import sqlalchemy as sa
import time_machine

from app.extensions import db
from app.models import AuditEvent
from app.workflow.people import find_login

from . import factories as f
from .conftest import PASSWORD, at, build_app


@pytest.fixture
def seeded(app):
    with app.app_context():
        f.make_employer("beijing", "emp", "haidian")
        f.make_user("beijing", "13900000001", "applicant", "emp", id_number=f.ID_NUMBERS[0])
        return f.org("beijing", "emp").id


def form(employer_id, **kw):
    data = {"name": "张伟", "id_number": "110108198506154321", "mobile": "13911112222",
            "person_type": "professional", "employer": employer_id, "association": 0,
            "password": "long-enough-pw", "password2": "long-enough-pw"}
    data.update(kw)
    return data


def test_register_encrypts_id_and_masks_it_on_screen(app, client, seeded, login):
    resp = client.post("/beijing/register", data=form(seeded))
    assert resp.status_code == 303 and resp.location.endswith("/beijing/login")
    login("beijing", "13911112222", "long-enough-pw")  # the mobile number signs in
    page = client.get("/beijing/me/").get_data(as_text=True)
    assert "110*************21" in page and "110108198506154321" not in page
    with app.app_context():
        u = find_login(f.tenant_id("beijing"), "13911112222")
        assert u.username is None and u.password_hash.startswith("$argon2id$")
        assert "110108198506154321" not in (u.id_number_enc + u.id_number_hash)


@pytest.mark.parametrize("field,value,message", [
    ("id_number", "110108198506154322", "身份证号码无效"),
    ("mobile", "1391111", "请输入11位手机号码"),
    ("password2", "different-pw", "两次输入的密码不一致"),
    ("employer", 0, "请选择所在单位"),
])
def test_register_bad_input_gets_a_message_and_saves_nothing(app, client, seeded, field, value,
                                                            message):
    resp = client.post("/beijing/register", data=form(seeded, **{field: value}))
    assert resp.status_code == 200 and message in resp.get_data(as_text=True)
    with app.app_context():
        assert find_login(f.tenant_id("beijing"), "13911112222") is None


def test_login_and_logout_are_audited_with_ip(app, client, seeded):
    client.post("/beijing/login", data={"username": "13900000001", "password": PASSWORD},
                environ_base={"REMOTE_ADDR": "10.9.8.7"})
    client.post("/beijing/logout", environ_base={"REMOTE_ADDR": "10.9.8.7"})
    with app.app_context():
        events = db.session.scalars(sa.select(AuditEvent).filter_by(subject_type="users")
                                    .order_by(AuditEvent.id)).all()
        assert [(e.action, e.ip) for e in events] == [("login", "10.9.8.7"), ("logout", "10.9.8.7")]


def test_lockout_after_repeated_failures_even_with_the_right_password(app, client, seeded):
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        r = client.post("/beijing/login", data={"username": "13900000001", "password": "wrong"})
        assert "用户名或密码错误" in r.get_data(as_text=True) or "锁定" in r.get_data(as_text=True)
    r = client.post("/beijing/login", data={"username": "13900000001", "password": PASSWORD})
    assert r.status_code == 200 and "锁定" in r.get_data(as_text=True)
    with time_machine.travel(timedelta(minutes=app.config["LOGIN_LOCK_MINUTES"] + 1)):
        r = client.post("/beijing/login", data={"username": "13900000001", "password": PASSWORD})
        assert r.status_code == 303


def test_idle_session_expires(app, client, seeded):
    with time_machine.travel(at(2026, 7, 8, 9), tick=False):
        client.post("/beijing/login", data={"username": "13900000001", "password": PASSWORD})
        assert client.get("/beijing/me/").status_code == 200
    with time_machine.travel(at(2026, 7, 8, 9, 29), tick=False):  # activity refreshes the session
        assert client.get("/beijing/me/").status_code == 200
    with time_machine.travel(at(2026, 7, 8, 10, 0), tick=False):  # 31 idle minutes
        resp = client.get("/beijing/me/")
        assert resp.status_code == 302 and "/beijing/login" in resp.location


def test_csrf_required_on_forms_and_htmx_posts(tmp_path, database_url):
    app = build_app(database_url or f"sqlite:///{tmp_path / 'c.db'}", tmp_path,
                    WTF_CSRF_ENABLED=True)
    with app.app_context():
        f.make_employer("beijing", "emp", "haidian")
        f.make_user("beijing", "13900000001", "applicant", "emp")
    client = app.test_client()
    r = client.post("/beijing/login", data={"username": "13900000001", "password": PASSWORD})
    assert r.status_code == 400
    page = client.get("/beijing/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    r = client.post("/beijing/login", data={"username": "13900000001", "password": PASSWORD,
                                            "csrf_token": token})
    assert r.status_code == 303
    # An htmx POST without the header token is refused; with it (as base.html sends it) it passes.
    assert client.post("/beijing/logout", headers={"HX-Request": "true"}).status_code == 400
    body = client.get("/beijing/me/").get_data(as_text=True)
    header_token = body.split('"X-CSRFToken": "')[1].split('"')[0]
    r = client.post("/beijing/logout", headers={"HX-Request": "true", "X-CSRFToken": header_token})
    assert r.status_code == 303


def test_staff_pages_refuse_applicants(client, login, app, seeded):
    login("beijing", "13900000001")
    assert client.get("/beijing/office/").status_code == 403
    assert client.get("/beijing/admin/employers").status_code == 403
