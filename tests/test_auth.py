"""Accounts: registration, Argon2, lockout, idle expiry, CSRF, audited login and logout."""
import re
import statistics
import time

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


def test_a_forged_address_header_is_not_what_the_audit_records(app, client, seeded):
    client.post("/beijing/login", data={"username": "13900000001", "password": PASSWORD},
                environ_base={"REMOTE_ADDR": "10.9.8.7"},
                headers={"X-Real-IP": "1.2.3.4", "X-Forwarded-For": "1.2.3.4"})
    with app.app_context():
        event = db.session.scalar(sa.select(AuditEvent).filter_by(action="login"))
        assert event.ip == "10.9.8.7"


def test_behind_one_trusted_proxy_the_audit_records_the_forwarded_client(tmp_path, database_url):
    app = build_app(database_url or f"sqlite:///{tmp_path / 'p.db'}", tmp_path,
                    TRUSTED_PROXY_HOPS=1)
    with app.app_context():
        f.make_employer("beijing", "emp", "haidian")
        f.make_user("beijing", "13900000001", "applicant", "emp")
    # The client invents one hop; the proxy appends the address it saw, the one believed.
    app.test_client().post("/beijing/login", data={"username": "13900000001",
                                                   "password": PASSWORD},
                           environ_base={"REMOTE_ADDR": "10.0.0.1"},
                           headers={"X-Forwarded-For": "1.2.3.4, 203.0.113.5"})
    with app.app_context():
        event = db.session.scalar(sa.select(AuditEvent).filter_by(action="login"))
        assert event.ip == "203.0.113.5"


VICTIM, ATTACKER = {"REMOTE_ADDR": "10.1.1.1"}, {"REMOTE_ADDR": "203.0.113.66"}


def sign_in(client, password, source=VICTIM, username="13900000001"):
    r = client.post("/beijing/login", data={"username": username, "password": password},
                    environ_base=source)
    return r.status_code, r.get_data(as_text=True)


def flashed(code: int, page: str) -> tuple[int, list[str]]:
    return code, re.findall(r'<p class="flash [^"]*"[^>]*>([^<]*)</p>', page)


def test_failures_from_one_source_make_that_source_wait_longer_and_longer(app, client, seeded):
    free = app.config["LOGIN_FREE_FAILURES"]
    with time_machine.travel(at(2026, 7, 8, 9), tick=False) as clock:
        for _ in range(free):
            assert "用户名或密码错误" in sign_in(client, "wrong-password", ATTACKER)[1]
        for wait in (1, 2, 4):
            assert "用户名或密码错误" in sign_in(client, "wrong-password", ATTACKER)[1]
            code, page = sign_in(client, PASSWORD, ATTACKER)  # even the right one must wait
            assert code == 200 and f"请{wait}秒后再试" in page
            clock.shift(wait)
        assert sign_in(client, PASSWORD, ATTACKER)[0] == 303  # waited: the right one works


def test_an_attacker_cannot_lock_the_owner_out(app, client, seeded):
    """A guesser at another address is slowed; the owner signs in at once (no account lock)."""
    with time_machine.travel(at(2026, 7, 8, 9), tick=False) as clock:
        for _ in range(30):
            sign_in(client, "wrong-password", ATTACKER)
            clock.shift(1)
        assert "秒后再试" in sign_in(client, PASSWORD, ATTACKER)[1]
        assert sign_in(client, PASSWORD, VICTIM)[0] == 303


def test_one_source_is_capped_across_every_account(app, client, seeded):
    app.config["LOGIN_SOURCE_FAILURES_PER_HOUR"] = 4
    for n in range(4):  # one password sprayed over four names
        assert "用户名或密码错误" in sign_in(client, "Spring-2026!", ATTACKER, f"1390000001{n}")[1]
    assert "秒后再试" in sign_in(client, PASSWORD, ATTACKER)[1]
    assert sign_in(client, PASSWORD, VICTIM)[0] == 303


def test_unknown_and_known_names_get_the_same_answers(app, client, seeded):
    free = app.config["LOGIN_FREE_FAILURES"]
    with time_machine.travel(at(2026, 7, 8, 9), tick=False):
        answers = {name: [flashed(*sign_in(client, "wrong-password", ATTACKER, name))
                          for _ in range(free + 2)]
                   for name in ("13900000001", "13900000999")}  # the second does not exist
    assert answers["13900000001"] == answers["13900000999"]
    assert answers["13900000999"][0] == (200, ["用户名或密码错误。"])
    assert answers["13900000999"][-1] == (200, ["登录尝试过于频繁，请1秒后再试。"])


def test_unknown_and_known_names_cost_the_same_time(tmp_path, database_url):
    """The unknown name's password is checked against a dummy hash of the same cost."""
    app = build_app(database_url or f"sqlite:///{tmp_path / 't.db'}", tmp_path,
                    ARGON2_PARAMS={"time_cost": 2, "memory_cost": 32768, "parallelism": 1},
                    LOGIN_FREE_FAILURES=100)
    with app.app_context():
        f.make_employer("beijing", "emp", "haidian")
        f.make_user("beijing", "13900000001", "applicant", "emp")
    client = app.test_client()

    def median_seconds(name: str) -> float:
        times = []
        for _ in range(7):
            start = time.perf_counter()
            client.post("/beijing/login", data={"username": name, "password": "wrong-password"})
            times.append(time.perf_counter() - start)
        return statistics.median(times)
    sign_in(client, "wrong-password")  # warm up (the dummy hash is made once)
    known, unknown = median_seconds("13900000001"), median_seconds("13900000999")
    assert 0.5 < unknown / known < 2, (known, unknown)


def test_every_attempt_is_audited_unknown_names_too(app, client, seeded):
    free = app.config["LOGIN_FREE_FAILURES"]
    long_name = "1" * 200
    with time_machine.travel(at(2026, 7, 8, 9), tick=False):
        sign_in(client, PASSWORD)
        for _ in range(free + 1):
            sign_in(client, "wrong-password", ATTACKER, long_name)
        sign_in(client, "wrong-password", ATTACKER, long_name)
        sign_in(client, "wrong-password", ATTACKER)
    with app.app_context():
        user_id = find_login(f.tenant_id("beijing"), "13900000001").id
        rows = [(e.action, e.subject_id, e.actor_id, e.reason, e.ip) for e in db.session.scalars(
            sa.select(AuditEvent).filter_by(subject_type="users").order_by(AuditEvent.id))]
    unknown = ("login_failed", None, None, "1" * 60, "203.0.113.66")
    assert rows == [("login", user_id, user_id, "139****0001", "10.1.1.1"),
                    *[unknown] * (free + 1),
                    ("login_throttled", None, None, "1" * 60, "203.0.113.66"),
                    ("login_failed", user_id, None, "139****0001", "203.0.113.66")]


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
