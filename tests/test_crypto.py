"""Secrets and personal data at rest: no secret defaults outside tests, the key ring (both
suites), rotation on a real database, encrypted mobiles and outbox recipients, login by mobile,
and a registration that does not tell a stranger an account exists."""
from __future__ import annotations

import base64
import hashlib
import json
from datetime import date
import os
import stat

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from app import create_app
from app.config import Config, ConfigError, TestConfig
from app.extensions import db
from app.models import User
from app.models.notify import Outbox
from app.tenancy import tenants
from app.workflow import crypto, notify
from app.workflow.ids import decrypt_id, encrypt_id, id_hash
from app.workflow.people import REGISTERED, TAKEN_SMS, find_login

from . import factories as f
from .conftest import build_app

SUITES = ["standard", "national"]
HEADER = {"standard": "A256GCM", "national": "SM4GCM"}
MOBILE, ID_NUMBER = "13911112222", "110108198506154321"


@pytest.fixture(params=SUITES)
def suite(request) -> str:
    return request.param


@pytest.fixture
def sapp(suite, database_url, tmp_path):
    """The test app under one suite, its key ring in a file of its own (so it can rotate)."""
    ring = tmp_path / "keyring.json"
    crypto.create_file(ring)
    app = build_app(database_url or f"sqlite:///{tmp_path / 'test.db'}", tmp_path,
                    CRYPTO_SUITE=suite, DATA_KEYS="", DATA_HASH_KEY="", KEYRING_FILE=str(ring))
    yield app
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def register(client, employer_id: int, **kw):
    data = {"name": "张伟", "id_number": ID_NUMBER, "mobile": MOBILE,
            "person_type": "professional", "employer": employer_id, "association": 0,
            "password": "long-enough-pw", "password2": "long-enough-pw", **kw}
    return client.post("/beijing/register", data=data, follow_redirects=True)


def every_value(table: str) -> str:
    """Every column of every row of `table`, as one string to search."""
    rows = db.session.execute(sa.text(f"SELECT * FROM {table}")).all()
    return "\n".join(str(v) for row in rows for v in row)


# -- the primitives -------------------------------------------------------------------------------

def test_round_trip_names_algorithm_and_key_and_detects_tampering(sapp, suite):
    with sapp.app_context():
        token = crypto.encrypt(ID_NUMBER)
        assert token.startswith(f"{HEADER[suite]}.k1.") and ID_NUMBER not in token
        assert crypto.decrypt(token) == ID_NUMBER
        assert crypto.encrypt(ID_NUMBER) != token  # a fresh nonce each time
        assert decrypt_id(encrypt_id(ID_NUMBER)) == ID_NUMBER
        body = token.rsplit(".", 1)[1]
        flipped = token[:-len(body)] + ("A" if body[0] != "A" else "B") + body[1:]
        with pytest.raises(crypto.KeyRingError):
            crypto.decrypt(flipped)
        relabelled = token.replace(".k1.", ".k2.", 1)
        with pytest.raises(crypto.KeyRingError):
            crypto.decrypt(relabelled)
        # The keyed hash: stable, 64 hex digits, separate per purpose and per suite.
        assert id_hash(ID_NUMBER) == id_hash(ID_NUMBER) != crypto.keyed_hash("mobile", ID_NUMBER)
        assert len(id_hash(ID_NUMBER)) == 64
        other = crypto.KeyRing(crypto.ring().keys, crypto.ring().hash_key,
                               crypto.Suite("national" if suite == "standard" else "standard"),
                               "test")
        assert crypto.keyed_hash("id_number", ID_NUMBER, other) != id_hash(ID_NUMBER)
        # A token of the other suite still opens: tokens name their algorithm.
        assert crypto.decrypt(crypto.encrypt(ID_NUMBER, other)) == ID_NUMBER


def test_tokens_under_an_old_key_still_decrypt_and_the_newest_encrypts(suite):
    k1, k2, h = crypto.new_key(), crypto.new_key(), crypto.new_key()
    old = crypto.load({"CRYPTO_SUITE": suite, "DATA_KEYS": f"k1:{k1}", "DATA_HASH_KEY": h,
                       "KEYRING_FILE": "/nonexistent"})
    new = crypto.load({"CRYPTO_SUITE": suite, "DATA_KEYS": f"k1:{k1},k2:{k2}",
                       "DATA_HASH_KEY": h, "KEYRING_FILE": "/nonexistent"})
    token = crypto.encrypt(MOBILE, old)
    assert crypto.decrypt(token, new) == MOBILE
    assert crypto.key_of(crypto.encrypt(MOBILE, new)) == "k2"
    assert crypto.keyed_hash("mobile", MOBILE, old) == crypto.keyed_hash("mobile", MOBILE, new)


# -- rotation on a real database ------------------------------------------------------------------

def test_rotate_reencrypts_every_column_in_batches_and_keeps_hashes(sapp, suite):
    with sapp.app_context():
        f.make_employer("beijing", "emp", "haidian")
        users = [f.make_user("beijing", f"u{i}", "applicant", "emp", id_number=n)
                 for i, n in enumerate(f.ID_NUMBERS[:3])]
        notify.queue(users[0].tenant_id, "sms", users[0].mobile, "s", "b", "k-sms")
        notify.queue(users[0].tenant_id, "email", "zhang@example.cn", "s", "b", "k-mail")
        db.session.commit()
        before = {u.id: (u.mobile, decrypt_id(u.id_number_enc), u.mobile_hash, u.id_number_hash)
                  for u in users}
        n_users = db.session.scalar(sa.select(sa.func.count(User.mobile_enc)))
    runner = sapp.test_cli_runner()
    status = runner.invoke(args=["keys", "status"])
    assert f"{HEADER[suite]}.k1: {n_users}" in status.output, status.output
    result = runner.invoke(args=["keys", "rotate", "--batch", "2"])
    assert result.exit_code == 0, result.output
    assert "added key k2" in result.output
    with sapp.app_context():
        ring = json.loads(open(sapp.config["KEYRING_FILE"]).read())
        assert [k["id"] for k in ring["keys"]] == ["k1", "k2"]
        assert stat.S_IMODE(os.stat(sapp.config["KEYRING_FILE"]).st_mode) == 0o600
        for u in db.session.scalars(sa.select(User).where(User.id.in_(before))):
            assert crypto.key_of(u.mobile_enc) == crypto.key_of(u.id_number_enc) == "k2"
            assert (u.mobile, decrypt_id(u.id_number_enc), u.mobile_hash,
                    u.id_number_hash) == before[u.id]
        rows = db.session.scalars(sa.select(Outbox).order_by(Outbox.id)).all()
        assert [crypto.key_of(r.recipient_enc) for r in rows] == ["k2", "k2"]
        assert [r.recipient for r in rows] == [users[0].mobile, "zhang@example.cn"]
        assert find_login(users[1].tenant_id, users[1].mobile).id == users[1].id
    status = runner.invoke(args=["keys", "status"]).output
    assert f"{HEADER[suite]}.k2: {n_users}" in status and ".k1:" not in status
    assert "outbox.recipient_enc" in status and f"{HEADER[suite]}.k2: 2" in status
    again = runner.invoke(args=["keys", "rotate", "--resume"])
    assert "done: 0 rows re-encrypted" in again.output  # resumable: nothing left to do


@pytest.mark.rule("BJ-SCOPE-1")
def test_rotate_reencrypts_passports_and_work_permits_and_keeps_their_hashes(sapp, suite):
    from app.workflow.accounts import set_id_number, set_work_permit
    with sapp.app_context():
        f.make_employer("beijing", "emp", "haidian")
        u = f.make_user("beijing", "foreign", "applicant", "emp")
        assert set_id_number(u, "E98765432", "passport")
        assert set_work_permit(u, "156011202300012345")
        db.session.commit()
        before = (u.id_doc_type, decrypt_id(u.id_number_enc), u.id_number_hash,
                  decrypt_id(u.work_permit_enc), u.work_permit_hash)
        assert crypto.key_of(u.work_permit_enc) == "k1"
    result = sapp.test_cli_runner().invoke(args=["keys", "rotate"])
    assert result.exit_code == 0, result.output
    with sapp.app_context():
        u = db.session.scalar(sa.select(User).filter_by(username="foreign"))
        assert crypto.key_of(u.work_permit_enc) == crypto.key_of(u.id_number_enc) == "k2"
        assert (u.id_doc_type, decrypt_id(u.id_number_enc), u.id_number_hash,
                decrypt_id(u.work_permit_enc), u.work_permit_hash) == before


@pytest.mark.rule("AE-EXP-1", "AE-EXP-4")
def test_rotate_reencrypts_experts_id_numbers_and_mobiles_and_their_changes(sapp, suite):
    from app.models import Expert
    from app.models.expert_pool import ExpertChange
    from app.tenancy import tenants
    from app.workflow import expert_pool
    with sapp.app_context():
        f.make_employer("beijing", "emp", "haidian")
        hr = f.make_user("beijing", "hr-hd", "hr_officer", "bj-hr-haidian")
        e = expert_pool.nominate(tenants()["beijing"], f.actor(hr), {
            "name": "加密专家", "gender": "male", "birth_date": date(1985, 6, 15),
            "id_number": f.ID_NUMBERS[1], "mobile": "13912345678", "title_level": "senior",
            "title_year": 2015, "series": "engineering",
            "employer_org_id": f.org("beijing", "emp").id,
            "agency_org_id": f.org("beijing", "bj-agency-eng").id}, date(2026, 11, 1))
        x = f.make_expert("beijing", "自助专家")
        expert_pool.propose_change(tenants()["beijing"], f.actor(x.user), x, {
            "title_level": "senior", "title_year": 2015, "series": "engineering",
            "employer_name": "某研究院", "available": True, "mobile": "13700001111"})
        assert f.ID_NUMBERS[1] not in every_value("experts")
        assert "13912345678" not in every_value("experts")
        assert "13700001111" not in every_value("expert_changes")
        before = e.id_number_hash
    result = sapp.test_cli_runner().invoke(args=["keys", "rotate"])
    assert result.exit_code == 0, result.output
    with sapp.app_context():
        e = db.session.scalar(sa.select(Expert).filter_by(name="加密专家"))
        c = db.session.scalar(sa.select(ExpertChange))
        assert crypto.key_of(e.id_number_enc) == crypto.key_of(e.mobile_enc) == "k2"
        assert crypto.key_of(c.mobile_enc) == "k2"
        assert (decrypt_id(e.id_number_enc), decrypt_id(e.mobile_enc), e.id_number_hash) == (
            f.ID_NUMBERS[1], "13912345678", before)
        assert decrypt_id(c.mobile_enc) == "13700001111"


def test_rotate_reencrypts_profile_items(sapp, suite):
    from app.models import ProfileItem
    from app.workflow import profile_items
    with sapp.app_context():
        f.make_employer("chifeng", "cf-firm", "songshan")
        u = f.make_user("chifeng", "cf-a", "applicant", "cf-firm")
        profile_items.add_item(tenants()["chifeng"], f.actor(u), u, "qualification", {
            "name": "注册机械工程师", "number": "ZJ2019-0042", "year": "2019",
            "evidence": "资格证书"})
        assert "ZJ2019-0042" not in every_value("profile_items")
    result = sapp.test_cli_runner().invoke(args=["keys", "rotate"])
    assert result.exit_code == 0, result.output
    with sapp.app_context():
        item = db.session.scalar(sa.select(ProfileItem))
        assert crypto.key_of(item.data_enc) == "k2" and item.data["number"] == "ZJ2019-0042"


def test_rotate_refuses_to_add_a_key_when_keys_come_from_the_environment(app):
    result = app.test_cli_runner().invoke(args=["keys", "rotate"])
    assert result.exit_code != 0 and "DATA_KEYS is set" in result.output


# -- mobiles: encrypted, looked up by hash, masked --------------------------------------------------

def test_registration_leaves_no_plaintext_mobile_or_id_in_users_or_outbox(sapp):
    client = sapp.test_client()
    with sapp.app_context():
        employer = f.make_employer("beijing", "emp", "haidian").id
    page = register(client, employer).get_data(as_text=True)
    assert str(REGISTERED) in page
    with sapp.app_context():
        user = find_login(f.tenant_id("beijing"), MOBILE)
        assert user.mobile == MOBILE and user.mobile_masked == "139****2222"
        sms = db.session.scalar(sa.select(Outbox).filter_by(dedupe_key=f"registered:{user.id}"))
        assert sms.recipient == MOBILE
        stored = every_value("users") + every_value("outbox")
        assert MOBILE not in stored and ID_NUMBER not in stored
        assert "mobile" not in {c["name"] for c in sa.inspect(db.engine).get_columns("users")}


def test_login_by_mobile_and_by_staff_login_name(app, client, login):
    with app.app_context():
        f.make_employer("beijing", "emp", "haidian")
        applicant = f.make_user("beijing", "x-applicant", "applicant", "emp")
        applicant.username = None  # registered by mobile: no login name
        db.session.commit()
        mobile = applicant.mobile
        f.make_user("beijing", "bj-employer-2", "employer_clerk", "emp")
    login("beijing", mobile)
    assert client.get("/beijing/me/").status_code == 200
    client.post("/beijing/logout")
    login("beijing", "bj-employer-2")
    bad = client.post("/beijing/login", data={"username": "13000000000", "password": "x" * 12})
    assert bad.status_code == 200


def test_staff_pages_show_mobiles_masked(app, client, login):
    with app.app_context():
        f.make_employer("chifeng", "cf-firm", "songshan")
        staff = f.make_user("chifeng", "worker", "applicant", "cf-firm")
        mobile, masked = staff.mobile, staff.mobile_masked
        f.make_user("chifeng", "clerk", "employer_clerk", "cf-firm")
    resp = login("chifeng", "clerk").get("/chifeng/office/staff")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and masked in page and mobile not in page


@pytest.mark.parametrize("taken", ["mobile", "id_number", "both"])
def test_registering_a_taken_mobile_or_id_answers_as_success_and_texts_the_owner(
        app, client, taken):
    with app.app_context():
        employer = f.make_employer("beijing", "emp", "haidian").id
        owner = f.make_user("beijing", "owner", "applicant", "emp", id_number=f.ID_NUMBERS[1])
        owner_id, owner_mobile = owner.id, owner.mobile
        users_before = db.session.scalar(sa.select(sa.func.count(User.id)))
    fresh = register(client, employer, mobile="13922223333", id_number=f.ID_NUMBERS[2])
    data = {"mobile": {"mobile": owner_mobile}, "id_number": {"id_number": f.ID_NUMBERS[1]},
            "both": {"mobile": owner_mobile, "id_number": f.ID_NUMBERS[1]}}[taken]
    again = register(client, employer, **data)
    assert again.status_code == fresh.status_code == 200
    assert str(REGISTERED) in again.get_data(as_text=True)
    assert again.request.path == fresh.request.path == "/beijing/login"
    assert "已注册" not in again.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(User.id))) == users_before + 1
        told = [r for r in db.session.scalars(sa.select(Outbox))
                if r.dedupe_key.startswith(f"register-taken:{owner_id}:")]
        assert len(told) == 1 and told[0].recipient == owner_mobile
        assert told[0].body == str(TAKEN_SMS) % {"portal": tenants()["beijing"].name}


def test_employer_registration_with_a_taken_clerk_mobile_saves_nothing(app, client):
    with app.app_context():
        f.make_employer("beijing", "emp", "haidian")
        owner = f.make_user("beijing", "owner", "employer_clerk", "emp")
        owner_mobile, orgs = owner.mobile, every_value("orgs")
    form = {"name": "某某科技有限公司", "uscc": "91110108MA01AB23CD", "district": "haidian",
            "employer_kind": "non_public", "clerk_name": "钱七", "clerk_mobile": owner_mobile,
            "password": "long-enough-pw"}
    resp = client.post("/beijing/employers/register", data=form, follow_redirects=True)
    assert "单位注册已提交" in resp.get_data(as_text=True)
    with app.app_context():
        assert every_value("orgs") == orgs
        assert any(r.recipient == owner_mobile for r in db.session.scalars(sa.select(Outbox)))


# -- no unsafe defaults ---------------------------------------------------------------------------

def production(tmp_path, **overrides) -> dict:
    """Overrides for Config (not TestConfig) with sound secrets, then `overrides`."""
    return {"SECRET_KEY": "s" * 8 + crypto.new_key(), "PAYMENT_GATEWAY_SECRET": crypto.new_key(),
            "DATA_KEYS": f"k1:{crypto.new_key()}", "DATA_HASH_KEY": crypto.new_key(),
            "KEYRING_FILE": str(tmp_path / "absent.json"), "CRYPTO_SUITE": "standard",
            "AUDIT_KEY": crypto.new_key(),
            "AUDIT_SIGNING_KEY": base64.b64encode(os.urandom(32)).decode(),
            "PUBLIC_BASE_URL": "https://zc.hrss.example.gov.cn", "TESTING": False, **overrides}


def test_sound_secrets_start(tmp_path):
    assert create_app(production(tmp_path), config=Config).name == "app"


@pytest.mark.parametrize("name,value", [
    ("SECRET_KEY", ""), ("SECRET_KEY", "dev-only-change-me"), ("SECRET_KEY", "test-secret"),
    ("SECRET_KEY", "short"),
    ("PAYMENT_GATEWAY_SECRET", ""), ("PAYMENT_GATEWAY_SECRET", "dev-only-payment-secret"),
    ("DATA_KEYS", ""), ("DATA_KEYS", TestConfig.DATA_KEYS), ("DATA_KEYS", "k1:not-a-key"),
    ("DATA_HASH_KEY", ""), ("DATA_HASH_KEY", TestConfig.DATA_HASH_KEY),
    ("AUDIT_KEY", ""), ("AUDIT_KEY", TestConfig.AUDIT_KEY),
    ("AUDIT_SIGNING_KEY", ""), ("AUDIT_SIGNING_KEY", TestConfig.AUDIT_SIGNING_KEY),
    ("AUDIT_SIGNING_KEY", "bm90IDMyIGJ5dGVz"),
    ("PUBLIC_BASE_URL", ""), ("PUBLIC_BASE_URL", "zc.hrss.example.gov.cn"),
    ("PUBLIC_BASE_URL", "ftp://zc.hrss.example.gov.cn"),
    ("PUBLIC_BASE_URL", "https://zc.hrss.example.gov.cn/?x=1"),
])
def test_start_up_refused_on_an_unset_or_known_default_secret(tmp_path, name, value):
    with pytest.raises(ConfigError, match=name):
        create_app(production(tmp_path, **{name: value}), config=Config)


def test_keyring_file_serves_when_the_environment_has_no_keys(tmp_path):
    ring = tmp_path / "keyring.json"
    assert crypto.create_file(ring) and not crypto.create_file(ring)  # made once, then kept
    assert stat.S_IMODE(ring.stat().st_mode) == 0o600
    app = create_app(production(tmp_path, DATA_KEYS="", DATA_HASH_KEY="",
                                KEYRING_FILE=str(ring)), config=Config)
    with app.app_context():
        assert crypto.ring().newest == "k1" and crypto.ring().source == str(ring)


# -- the migration converts what is there ---------------------------------------------------------

def test_migration_encrypts_plaintext_mobiles_and_moves_id_numbers(tmp_path, database_url):
    from flask_migrate import downgrade, upgrade
    url = database_url or f"sqlite:///{tmp_path / 'm.db'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url}, config=TestConfig)
    old_key = base64.urlsafe_b64encode(hashlib.sha256(b"id-number:test-secret").digest())
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
        upgrade(revision="a1c3e5f70b11")
        with db.engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO tenants (id, slug, name) VALUES (1, 't', 'T')"))
            conn.execute(sa.text(
                "INSERT INTO users (tenant_id, username, name, role, password_hash, mobile, "
                "id_number_enc, failed_logins, active, session_epoch) VALUES "
                "(1, :m, 'a', 'applicant', '-', :m, :id, 0, true, 0), "
                "(1, 'staff', 'b', 'hr_officer', '-', '13600000001', NULL, 0, true, 0)"),
                {"m": MOBILE, "id": Fernet(old_key).encrypt(ID_NUMBER.encode()).decode()})
            conn.execute(sa.text(
                "INSERT INTO outbox (tenant_id, channel, recipient, subject, body, dedupe_key, "
                "status, attempts, last_error) VALUES (1, 'sms', :m, 's', 'b', 'k', 'queued', "
                "0, '')"), {"m": MOBILE})
        upgrade()
        a = find_login(1, MOBILE)
        assert a.username is None and a.mobile == MOBILE
        assert decrypt_id(a.id_number_enc) == ID_NUMBER and a.id_number_hash == id_hash(ID_NUMBER)
        assert find_login(1, "staff").mobile == "13600000001"
        assert db.session.scalar(sa.select(Outbox)).recipient == MOBILE
        stored = every_value("users") + every_value("outbox")
        assert MOBILE not in stored and ID_NUMBER not in stored
        db.session.remove()
        downgrade(revision="a1c3e5f70b11")  # and back: plaintext columns restored
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT username, mobile FROM users ORDER BY id")
                                ).all() == [(MOBILE, MOBILE), ("staff", "13600000001")]
            assert conn.execute(sa.text("SELECT recipient FROM outbox")).scalar() == MOBILE
        downgrade(revision="base")
        db.engine.dispose()
