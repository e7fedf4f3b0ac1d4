"""The audit trail: every status change of every file has its row, set-based changes included;
refused access is recorded; rows are chained per tenant, `flask audit verify` names the first
edited row, PostgreSQL refuses UPDATE and DELETE, exports are signed."""
from __future__ import annotations

import base64
import json

import pytest
import sqlalchemy as sa
import time_machine
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from app.extensions import db
from app.models import Application, AuditEvent, Status
from app.models.audit import AuditChainHead
from app.tenancy import tenants
from app.workflow import audit, bulk
from app.workflow.deadlines import close_stage
from app.workflow.transitions import transition

from . import factories as f
from .conftest import at
from .test_certificates import certify_one, passed_session, publish
from .test_review import CFG

BJ = "beijing"


def state_rows(app_id: int) -> list[AuditEvent]:
    return db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.subject_type == "applications", AuditEvent.subject_id == app_id,
        AuditEvent.to_state.is_not(None)).order_by(AuditEvent.id)).all()


def assert_explained(app_id: int) -> list[str]:
    """The file's audit rows, read in order, walk from a draft to exactly its current status:
    each row leaves the state the previous one entered. Returns the actions."""
    rows = state_rows(app_id)
    assert rows, f"application {app_id} has no audit row"
    state = rows[0].from_state or Status.draft.value
    assert state == Status.draft.value, rows[0].from_state
    for r in rows:
        if r.from_state is not None:
            assert r.from_state == state, (r.action, r.from_state, state)
        state = r.to_state
    assert state == db.session.get(Application, app_id).status
    return [r.action for r in rows]


def _verify_ok(tenant_slug: str = BJ):
    v = audit.verify(f.tenant_id(tenant_slug))
    assert v.ok, v
    return v


# -- every status change has its row --------------------------------------------------------

def test_a_file_walked_to_its_certificate_and_annulment_is_explained_by_its_rows(ctx):
    cert = certify_one()
    assert assert_explained(cert.application_id)[-2:] == ["session_result", "certify"]
    city = f.make_user(BJ, "city-hr", "hr_officer", "bj-hr")
    with time_machine.travel(at(2026, 12, 10, 10), tick=False):
        transition(CFG(), cert, "revoke", f.actor(city), kind="false_material",
                   opinion="学历证书系伪造")
    actions = assert_explained(cert.application_id)
    assert actions[:4] == ["submit", "start_notice", "recommend", "check_pass"] or \
        actions[0] == "submit"
    assert actions[-1] == "annul"
    assert db.session.get(Application, cert.application_id).status == Status.annulled.value
    _verify_ok()


def test_failed_files_and_an_upheld_objection_each_have_their_row(ctx):
    agency = f.make_user(BJ, "ag", "agency_clerk", "bj-agency-eng")
    s, apps = passed_session(agency, 2, outcome=["yes", "no"])
    assert db.session.get(Application, apps[1].id).status == Status.failed.value
    assert_explained(apps[0].id)
    assert_explained(apps[1].id)
    publish(s)
    from app.models.results import Objection, ObjectionStatus
    obj = Objection(tenant_id=apps[0].tenant_id, application_id=apps[0].id, kind="material",
                    target="申报人", facts="论文抄袭", evidence="比对报告", lead="期刊编辑部",
                    status=ObjectionStatus.open.value,
                    routed_org_id=apps[0].employer_org_id)
    db.session.add(obj)
    db.session.commit()
    clerk = db.session.scalar(sa.select(f.User).filter_by(username="clerk-emp"))
    transition(CFG(), obj, "uphold", f.actor(clerk), opinion="经核实，论文系抄袭")
    assert assert_explained(apps[0].id)[-1] == "annul"
    assert db.session.get(Application, apps[0].id).status == Status.annulled.value
    _verify_ok()


def test_a_stage_close_writes_one_row_per_file_moved(ctx):
    u = [f.make_user(BJ, f"draft{i}", "applicant", None, person_type="freelancer")
         for i in range(3)]
    apps = [f.make_application(BJ, x, "bj-2026", "bj-eng", "engineering", "senior",
                               "mechanical") for x in u]
    plan = apps[0].plan
    with time_machine.travel(at(2026, 8, 1, 0, 0, 1), tick=False):
        run = close_stage(plan, "apply")
    assert run.rows_changed >= 3
    for a in apps:
        assert assert_explained(a.id) == ["close_apply"]
    _verify_ok()


# -- the chain ------------------------------------------------------------------------------

def test_rows_are_sealed_in_the_transaction_that_wrote_them(ctx):
    f.make_user(BJ, "someone", "applicant", None, person_type="freelancer")
    user = db.session.scalar(sa.select(f.User).filter_by(username="someone"))
    from app.workflow.transitions import audit as write
    write(f.actor(user), "users", user.id, "login")
    db.session.commit()
    row = db.session.scalar(sa.select(AuditEvent).order_by(AuditEvent.id.desc()))
    assert row.seq is not None and len(row.chain_hash) == 64
    v = _verify_ok()
    assert v.unsealed == 0 and v.checked >= 1


def close_unsealed(n: int) -> int:
    """Close the apply stage over `n` drafts with only 2 rows sealed inline (the caller patched
    SEAL_INLINE_MAX); returns how many rows wait for the seal job."""
    drafts = [f.make_application(
        BJ, f.make_user(BJ, f"d{i}", "applicant", None, person_type="freelancer"),
        "bj-2026", "bj-eng", "engineering", "senior", "mechanical") for i in range(n)]
    with time_machine.travel(at(2026, 8, 1, 0, 0, 1), tick=False):
        close_stage(drafts[0].plan, "apply")
    return audit.verify(f.tenant_id(BJ)).unsealed


def test_a_large_change_is_sealed_by_the_seal_job(ctx, monkeypatch):
    monkeypatch.setattr(audit, "SEAL_INLINE_MAX", 2)
    assert close_unsealed(6) >= 4
    from app.jobs.audit import seal_audit
    assert seal_audit() >= 4
    v = _verify_ok()
    assert v.unsealed == 0


def test_the_seal_writes_each_batch_in_one_statement(ctx, monkeypatch):
    """However many rows a batch holds, its seals go out as one UPDATE (PostgreSQL binds the
    batch as three arrays; SQLite runs one executemany), and the chain still verifies."""
    monkeypatch.setattr(audit, "SEAL_INLINE_MAX", 2)
    monkeypatch.setattr(audit, "SEAL_BATCH", 3)
    waiting = close_unsealed(7)
    assert waiting >= 7
    updates = []

    def listen(conn, cursor, statement, params, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE AUDIT_EVENTS"):
            updates.append(statement)
    sa.event.listen(db.engine, "before_cursor_execute", listen)
    try:
        assert audit.seal_all() == waiting
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", listen)
    assert len(updates) == -(-waiting // 3)
    seqs = [r.seq for r in _sealed_rows()]
    assert seqs == list(range(1, len(seqs) + 1))
    assert _verify_ok().unsealed == 0

def _edit_row(row_id: int, **values) -> None:
    db.session.execute(sa.update(AuditEvent).where(AuditEvent.id == row_id).values(**values))
    db.session.commit()


def _sealed_rows() -> list[AuditEvent]:
    return db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.tenant_id == f.tenant_id(BJ)).order_by(AuditEvent.seq)).all()


def test_verify_names_the_first_edited_row(ctx, database_url):
    certify_one()
    rows = _sealed_rows()
    assert len(rows) > 5
    target = rows[3]
    if database_url:  # the trigger is in the way; an intruder with DDL rights drops it first
        db.session.execute(sa.text("ALTER TABLE audit_events DISABLE TRIGGER "
                                   "audit_events_append_only"))
    _edit_row(target.id, reason="被改过的意见")
    v = audit.verify(f.tenant_id(BJ))
    assert not v.ok and v.broken_id == target.id and v.checked == 3


def test_verify_catches_a_deleted_row_and_a_cut_end(ctx, database_url):
    certify_one()
    if database_url:
        db.session.execute(sa.text("ALTER TABLE audit_events DISABLE TRIGGER "
                                   "audit_events_append_only"))
    rows = _sealed_rows()
    db.session.execute(sa.delete(AuditEvent).where(AuditEvent.id == rows[-1].id))
    db.session.commit()
    v = audit.verify(f.tenant_id(BJ))
    assert not v.ok and "removed" in v.problem
    db.session.execute(sa.delete(AuditEvent).where(AuditEvent.id == rows[2].id))
    db.session.commit()
    v = audit.verify(f.tenant_id(BJ))
    assert not v.ok and v.broken_id == rows[3].id


@pytest.mark.postgres_only
def test_postgres_refuses_update_and_delete_of_audit_rows(ctx, database_url):
    if not database_url:
        pytest.skip("the trigger is PostgreSQL's")
    certify_one()
    row = _sealed_rows()[0]
    for stmt in (sa.update(AuditEvent).where(AuditEvent.id == row.id).values(reason="x"),
                 sa.update(AuditEvent).where(AuditEvent.id == row.id).values(seq=999999),
                 sa.delete(AuditEvent).where(AuditEvent.id == row.id)):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            db.session.execute(stmt)
        db.session.rollback()
    _verify_ok()


def test_the_chain_is_per_tenant_and_uses_the_national_hash_when_set(app, database_url):
    from app.workflow.transitions import audit as write

    def login_row(username):
        f.make_user("chifeng", username, "applicant", None, person_type="freelancer")
        user = db.session.scalar(sa.select(f.User).filter_by(username=username))
        write(f.actor(user), "users", user.id, "login")
        db.session.commit()
        return db.session.scalar(sa.select(AuditEvent).order_by(AuditEvent.id.desc()))

    def hashed_with(suite, row):
        columns = [getattr(row, name) for name in audit.FIELDS]
        prev = db.session.scalar(sa.select(AuditEvent.chain_hash).where(
            AuditEvent.tenant_id == row.tenant_id, AuditEvent.seq == row.seq - 1)) or ""
        return audit.row_hash(audit.Hasher(audit.audit_key(), suite), prev, row.seq, columns)

    with app.app_context():
        app.config["CRYPTO_SUITE"] = "national"
        national = login_row("cf-x")
        assert national.chain_hash == hashed_with("national", national) != \
            hashed_with("standard", national)
        assert db.session.get(AuditChainHead, f.tenant_id("chifeng")).seq == national.seq
        assert audit.verify(f.tenant_id("chifeng")).ok
        # A deployment that switches suite keeps a chain that verifies across the switch.
        app.config["CRYPTO_SUITE"] = "standard"
        standard = login_row("cf-y")
        assert standard.chain_hash == hashed_with("standard", standard)
        assert audit.verify(f.tenant_id("chifeng")).ok
        # Per tenant: Chifeng's chain numbers its own rows from 1.
        assert (national.seq, standard.seq) == (1, 2)
        if database_url:
            db.session.execute(sa.text("ALTER TABLE audit_events DISABLE TRIGGER "
                                       "audit_events_append_only"))
        db.session.execute(sa.update(AuditEvent).where(AuditEvent.id == national.id)
                           .values(reason="改过"))
        db.session.commit()
        assert audit.verify(f.tenant_id("chifeng")).broken_id == national.id


# -- refused access -------------------------------------------------------------------------

def test_another_orgs_and_another_tenants_ids_are_refused_and_recorded(app, client, login):
    with app.app_context():
        own = f.make_employer(BJ, "emp-a", "haidian")
        f.make_employer(BJ, "emp-b", "chaoyang")
        f.make_user(BJ, "clerk-a", "employer_clerk", "emp-a")
        other = f.make_user(BJ, "b-app", "applicant", "emp-b")
        foreign = f.make_application(BJ, other, "bj-2026", "bj-eng", "engineering", "senior",
                                     "mechanical")
        cf_user = f.make_user("chifeng", "cf-app", "applicant", None, person_type="freelancer")
        cf_plan = db.session.scalar(sa.select(f.Plan).filter_by(tenant_id=cf_user.tenant_id))
        foreign_id, own_id = foreign.id, own.id
    login(BJ, "clerk-a")
    for path in (f"/beijing/office/applications/{foreign_id}",
                 f"/beijing/office/applications/{foreign_id + 100000}"):
        assert client.get(path).status_code == 404
    with app.app_context():
        rows = db.session.scalars(sa.select(AuditEvent).filter_by(
            action="access_not_found").order_by(AuditEvent.id)).all()
        assert [r.reason.split()[-1] for r in rows][-2:] == [
            f"/beijing/office/applications/{foreign_id}",
            f"/beijing/office/applications/{foreign_id + 100000}"]
        assert rows[-1].actor_name and rows[-1].actor_role == "employer_clerk"
        assert rows[-1].tenant_id == f.tenant_id(BJ) and rows[-1].seq is not None
        assert own_id and cf_plan is not None


def test_an_unknown_path_is_not_recorded(app, client):
    client.get("/beijing/no-such-page")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).filter_by(
            action="access_not_found")) == 0


# -- commands -------------------------------------------------------------------------------

def test_cli_verify_reports_ok_then_names_the_edited_row(app, database_url):
    with app.app_context():
        certify_one()
        rows = _sealed_rows()
        target = rows[1].id
    runner = app.test_cli_runner()
    result = runner.invoke(args=["audit", "verify", "--tenant", BJ])
    assert result.exit_code == 0 and "rows verified" in result.output
    with app.app_context():
        if database_url:
            db.session.execute(sa.text("ALTER TABLE audit_events DISABLE TRIGGER "
                                       "audit_events_append_only"))
        _edit_row(target, actor_name="某人")
    result = runner.invoke(args=["audit", "verify", "--tenant", BJ])
    assert result.exit_code == 1
    assert f"row id {target}" in result.output


def test_export_is_signed_and_the_signature_checks_with_the_public_key(app, tmp_path):
    with app.app_context():
        certify_one()
    runner = app.test_cli_runner()
    out = tmp_path / "audit.jsonl"
    result = runner.invoke(args=["audit", "export", "--tenant", BJ, "--from", "2020-01-01",
                                 "--to", "2030-12-31", "--out", str(out)])
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    lines = data.decode().splitlines()
    assert json.loads(lines[0])["tenant"] == BJ and len(lines) > 5
    assert {"seq", "chain_hash", "action"} <= set(json.loads(lines[1]))
    pem = runner.invoke(args=["audit", "pubkey"]).output.encode()
    signature = base64.b64decode((tmp_path / "audit.jsonl.sig").read_text())
    load_pem_public_key(pem).verify(signature, data)  # raises when it does not match
    with pytest.raises(Exception):
        load_pem_public_key(pem).verify(signature, data.replace(b"certify", b"certifx"))


def test_retention_under_six_months_is_refused_at_start(tmp_path):
    from app import create_app
    from app.config import TestConfig
    with pytest.raises(RuntimeError, match="AUDIT_RETENTION_DAYS"):
        create_app({"AUDIT_RETENTION_DAYS": 90}, config=TestConfig)


def test_bulk_move_skips_rows_no_longer_in_the_expected_state(ctx):
    u = f.make_user(BJ, "x1", "applicant", None, person_type="freelancer")
    a = f.make_application(BJ, u, "bj-2026", "bj-eng", "engineering", "senior", "mechanical")
    system = f.actor(u)
    moved = bulk.move_set(system, [Application.id == a.id],
                          bulk.Change(Status.submitted.value, Status.abandoned.value, "test"))
    assert moved == []
    moved = bulk.move_set(system, [Application.id == a.id],
                          bulk.Change(Status.draft.value, Status.abandoned.value, "test"))
    db.session.commit()
    assert moved == [a.id] and assert_explained(a.id) == ["test"]
