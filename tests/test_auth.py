"""Accounts: registration, Argon2, lockout, idle expiry, CSRF, audited login and logout."""
import re
import statistics
import time

import pytest
import sqlalchemy as sa
import time_machine

from app.extensions import db
from app.models import AuditEvent, User
from app.models.notify import Outbox
from app.tenancy import tenants
from app.workflow.accounts import set_id_number
from app.workflow.ids import decrypt_id
from app.workflow.people import find_login
from app.workflow.transitions import transition

from . import factories as f
from .conftest import PASSWORD, at, build_app
from .test_calendar_ids import HK_PERMIT, NEW_PR, OLD_PR, wrong_check


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

    times: dict[str, list[float]] = {"13900000001": [], "13900000999": []}
    sign_in(client, "wrong-password")  # warm up (the dummy hash is made once)
    # Taken in turns, so a burst of load on the machine falls on both names alike.
    for _ in range(7):
        for name, taken in times.items():
            start = time.perf_counter()
            client.post("/beijing/login", data={"username": name, "password": "wrong-password"})
            taken.append(time.perf_counter() - start)
    known, unknown = (statistics.median(times[n]) for n in ("13900000001", "13900000999"))
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


def test_the_cookie_is_signed_again_once_a_minute_and_that_slides_the_idle_expiry(
        app, client, seeded):
    def cookie_set(minute: int, second: int = 0) -> bool:
        with time_machine.travel(at(2026, 7, 8, 9, minute, second), tick=False):
            resp = client.get("/beijing/me/")
            assert resp.status_code == 200
            return "session=" in resp.headers.get("Set-Cookie", "")
    with time_machine.travel(at(2026, 7, 8, 9), tick=False):
        client.post("/beijing/login", data={"username": "13900000001", "password": PASSWORD})
    assert cookie_set(0, 10) is True    # the first page adds its CSRF token to the session
    assert cookie_set(0, 30) is False   # unchanged, signed 20 s ago: nothing to send
    assert cookie_set(1) is True        # a minute since the last signature
    assert cookie_set(1, 40) is False
    assert cookie_set(29, 50) is True   # 28 min 50 s idle: still in, and signed again
    with time_machine.travel(at(2026, 7, 8, 9, 59, 40), tick=False):   # 29 min 50 s idle
        assert client.get("/beijing/me/").status_code == 200
    with time_machine.travel(at(2026, 7, 8, 10, 29, 41), tick=False):  # 30 min 1 s idle
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


def test_signing_in_again_after_the_session_ran_out_is_not_refused(tmp_path, database_url):
    """A browser whose session outlived its absolute lifetime opens the sign-in page and signs in:
    ending the old session must not take the sign-in form's CSRF token with it."""
    app = build_app(database_url or f"sqlite:///{tmp_path / 'c.db'}", tmp_path,
                    WTF_CSRF_ENABLED=True)
    with app.app_context():
        f.make_employer("beijing", "emp", "haidian")
        f.make_user("beijing", "13900000001", "applicant", "emp")
    client = app.test_client()

    def sign_in():
        page = client.get("/beijing/login").get_data(as_text=True)
        token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
        return client.post("/beijing/login", data={
            "username": "13900000001", "password": PASSWORD, "csrf_token": token})

    with time_machine.travel(at(2026, 7, 8, 9), tick=False):
        assert sign_in().status_code == 303
    with time_machine.travel(at(2026, 7, 8, 21, 5), tick=False):  # past the 12 hours
        assert sign_in().status_code == 303
        assert client.get("/beijing/me/").status_code == 200


def test_staff_pages_refuse_applicants(client, login, app, seeded):
    login("beijing", "13900000001")
    assert client.get("/beijing/office/").status_code == 403
    assert client.get("/beijing/admin/employers").status_code == 403


# -- identity documents other than the mainland ID card (BJ-SCOPE-1) ------------------------------

def stored_text(app) -> str:
    """Every value of every table, as text: what someone reading the database would see."""
    with app.app_context():
        out = []
        for table in db.metadata.sorted_tables:
            for row in db.session.execute(sa.select(table)):
                out.extend(str(v) for v in row if v is not None)
        return "\n".join(out)


DOCUMENTS = [  # type, as typed, stored (compact), masked, label, work permit
    ("hmt_residence", HK_PERMIT, HK_PERMIT, "810" + "*" * 13 + HK_PERMIT[-2:], "港澳台居民居住证",
     None),
    ("hk_macao_permit", "m1234 5678", "M12345678", "M******78", "港澳居民来往内地通行证", None),
    ("taiwan_permit", "87654321", "87654321", "8*****21", "台湾居民来往大陆通行证", None),
    ("foreign_pr", NEW_PR, NEW_PR, "911" + "*" * 13 + NEW_PR[-2:], "外国人永久居留身份证", None),
    ("foreign_pr", OLD_PR, OLD_PR, "USA" + "*" * 10 + OLD_PR[-2:], "外国人永久居留身份证", None),
    ("passport", "E98765432", "E98765432", "E******32", "护照", "156011202300012345"),
]


@pytest.mark.rule("BJ-SCOPE-1")
@pytest.mark.parametrize("doc,typed,number,masked,name,permit", DOCUMENTS)
def test_register_with_each_document_stores_it_encrypted_with_its_type(
        app, client, seeded, login, doc, typed, number, masked, name, permit):
    resp = client.post("/beijing/register", data=form(seeded, id_type=doc, id_number=typed,
                                                       work_permit=permit or ""))
    assert resp.status_code == 303 and resp.location.endswith("/beijing/login")
    login("beijing", "13911112222", "long-enough-pw")
    page = client.get("/beijing/me/").get_data(as_text=True)
    assert f"{name}" in page and masked in page and number not in page
    with app.app_context():
        u = find_login(f.tenant_id("beijing"), "13911112222")
        assert (u.id_doc_type, u.id_number_masked) == (doc, masked)
        assert decrypt_id(u.id_number_enc) == number
        if permit:
            assert decrypt_id(u.work_permit_enc) == permit
            assert u.work_permit_masked == "156" + "*" * 13 + "45"
        else:
            assert u.work_permit_enc is None
    # Encryption at rest: neither number appears anywhere in the database.
    text = stored_text(app)
    assert masked in text and number not in text and (permit is None or permit not in text)


@pytest.mark.rule("BJ-SCOPE-1")
@pytest.mark.parametrize("doc,number,permit,message", [
    ("hmt_residence", wrong_check(HK_PERMIT), "", "港澳台居民居住证号码无效"),
    ("hmt_residence", "110108198506154321", "", "以810000（香港）"),
    ("hk_macao_permit", "X12345678", "", "港澳居民来往内地通行证号码无效"),
    ("taiwan_permit", "1234567", "", "台湾居民来往大陆通行证号码无效"),
    ("foreign_pr", wrong_check(NEW_PR), "", "外国人永久居留身份证号码无效"),
    ("passport", "E98765432", "", "外国人工作许可证号无效"),
    ("passport", "E98765432", "15601120230001234", "外国人工作许可证号无效"),
    ("passport", "E1", "156011202300012345", "护照号码无效"),
    ("resident_id", HK_PERMIT, "", "身份证号码无效"),
])
def test_register_with_a_wrong_document_number_names_its_rule_and_saves_nothing(
        app, client, seeded, doc, number, permit, message):
    resp = client.post("/beijing/register", data=form(seeded, id_type=doc, id_number=number,
                                                       work_permit=permit))
    assert resp.status_code == 200 and message in resp.get_data(as_text=True)
    with app.app_context():
        assert find_login(f.tenant_id("beijing"), "13911112222") is None
        assert db.session.scalar(sa.select(sa.func.count(User.id))) == 1  # the seeded one


@pytest.mark.rule("BJ-SCOPE-1")
@pytest.mark.parametrize("doc,number,permit,second", [
    ("hmt_residence", HK_PERMIT, "", {}),
    # Another passport with the same work permit is the same person.
    ("passport", "E98765432", "156011202300012345", {"id_number": "G55555555"}),
])
def test_registering_a_taken_document_answers_the_same_and_tells_its_owner(
        app, client, seeded, doc, number, permit, second):
    first = client.post("/beijing/register", data=form(
        seeded, id_type=doc, id_number=number, work_permit=permit),
        environ_base={"REMOTE_ADDR": "10.0.0.1"})
    retry = {"id_type": doc, "id_number": number, "work_permit": permit,
             "mobile": "13922223333", **second}
    again = client.post("/beijing/register", data=form(seeded, **retry),
                        environ_base={"REMOTE_ADDR": "10.0.0.2"}, follow_redirects=True)
    assert first.status_code == 303 and again.status_code == 200
    assert "注册申请已收到" in again.get_data(as_text=True)
    with app.app_context():
        tid = f.tenant_id("beijing")
        assert find_login(tid, "13922223333") is None
        owner = find_login(tid, "13911112222")
        texts = db.session.scalars(sa.select(Outbox).filter_by(tenant_id=tid)
                                   .where(Outbox.dedupe_key.like(f"register-taken:{owner.id}:%")))
        assert len(list(texts)) == 1


@pytest.mark.rule("BJ-SCOPE-1")
def test_the_accepted_documents_are_the_tenants_setting(app, client, seeded):
    beijing = client.get("/beijing/register").get_data(as_text=True)
    chifeng = client.get("/chifeng/register").get_data(as_text=True)
    with app.app_context():
        assert tenants()["chifeng"].tenant.id_documents == ["resident_id"]
        listed = tenants()["beijing"].tenant.id_documents
        f.make_employer("chifeng", "cf-emp", "hongshan")
        cf_emp = f.org("chifeng", "cf-emp").id
    for doc in listed:
        assert f'value="{doc}"' in beijing
    assert 'value="hmt_residence"' not in chifeng and 'name="work_permit"' not in chifeng
    resp = client.post("/chifeng/register", data=form(cf_emp, id_type="hmt_residence",
                                                       id_number=HK_PERMIT))
    assert resp.status_code == 200
    with app.app_context():
        assert find_login(f.tenant_id("chifeng"), "13911112222") is None
    ok = client.post("/chifeng/register", data=form(cf_emp))  # the ID card as ever
    assert ok.status_code == 303


@pytest.mark.rule("BJ-SCOPE-1")
def test_employer_sees_the_document_type_on_the_file_it_verifies(app, client, seeded, login):
    with app.app_context():
        f.make_user("beijing", "clerk", "employer_clerk", "emp")
        user = f.make_user("beijing", "hk", "applicant", "emp", person_type="professional")
        assert set_id_number(user, HK_PERMIT, "hmt_residence")
        db.session.commit()
        application = f.make_application("beijing", user, "bj-2026", "bj-eng", "engineering",
                                          "intermediate", "mechanical")
        with time_machine.travel(at(2026, 7, 10, 10), tick=False):
            transition(tenants()["beijing"], application, "submit", f.actor(user), pledge=f.PLEDGE)
        app_id = application.id
    login("beijing", "clerk")
    page = client.get(f"/beijing/office/applications/{app_id}").get_data(as_text=True)
    assert "港澳台居民居住证" in page and "810" + "*" * 13 + HK_PERMIT[-2:] in page
    assert HK_PERMIT not in page


def test_a_cookie_verified_before_still_expires_with_its_age(app, client, seeded):
    """A worker does not verify the same session cookie twice, but its age is checked on every
    request: the cookie last signed at 9:00:10 is refused at 9:31 by the worker that accepted
    it at 9:00:20."""
    with time_machine.travel(at(2026, 7, 8, 9), tick=False):
        client.post("/beijing/login", data={"username": "13900000001", "password": PASSWORD})
    for second in (10, 20):
        with time_machine.travel(at(2026, 7, 8, 9, 0, second), tick=False):
            assert client.get("/beijing/me/").status_code == 200
    with time_machine.travel(at(2026, 7, 8, 9, 31), tick=False):
        resp = client.get("/beijing/me/")
    assert resp.status_code == 302 and "/beijing/login" in resp.location


def test_each_request_gets_its_own_copy_of_a_verified_session(app):
    """What one request changes inside its session, in place, never reaches the next request
    with the same cookie; a cookie accepted under one secret key is refused under another."""
    from flask import request
    from flask.sessions import SecureCookieSessionInterface
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    cookie = serializer.dumps({"basket": {"files": [1]}})
    sessions = app.session_interface

    def opened():
        with app.test_request_context(headers={"Cookie": f"session={cookie}"}):
            return sessions.open_session(app, request)
    first = opened()
    first["basket"]["files"].append(2)
    assert opened()["basket"] == {"files": [1]}
    app.secret_key = "another-key-" + "x" * 32
    assert dict(opened()) == {}
