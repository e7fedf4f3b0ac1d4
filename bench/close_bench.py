"""Stage-close benchmark: close the apply stage of a plan with N open drafts, on SQLite and on
PostgreSQL, and report seconds, SQL statements per close and audit rows written. On PostgreSQL
the same N rows are also moved by a bare `UPDATE ... RETURNING` feeding an `INSERT ... SELECT` of
their audit rows (one statement, no job run, no marker), the reference the close is compared to.

    .venv/bin/python bench/close_bench.py [--pg URL] [--sizes 100000,200000,400000] [--rounds 3]

Without --pg (or BENCH_PG_URL) only SQLite runs. Figures go to bench/results.json as
{"close_100k_sqlite_s": {"value": 0.81, "unit": "s"}, ...} and close_100k_postgres_vs_bare (the
close's seconds over the bare statement's); `make bench` starts a private
PostgreSQL and runs this script."""
from __future__ import annotations

import argparse
import base64
import os
import secrets
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Application, AuditEvent, Committee, Plan, Status, Tenant, User  # noqa: E402
from app.tenancy import tenants  # noqa: E402
from app.tenancy.sync import sync_tenant  # noqa: E402
from app.workflow.audit import seal_all  # noqa: E402
from app.workflow.audit import verify as audit_verify  # noqa: E402
from app.workflow.calendar import closes_at  # noqa: E402
from app.workflow.crypto import new_key  # noqa: E402
from app.workflow.deadlines import close_stage  # noqa: E402
from bench.results import record  # noqa: E402

SIZES = (100_000, 200_000, 400_000)
TENANT, PLAN, STAGE = "beijing", "bj-2026", "apply"
CHUNK = 20_000


@dataclass(frozen=True)
class Figure:
    database: str
    rows: int
    seconds: float
    statements: int
    audited: int
    sealed_seconds: float = 0.0
    bare_seconds: float | None = None


def build(url: str):
    """A fresh schema with the tenants synced, on `url`. The benchmark's data is throwaway:
    it signs and encrypts with fresh random secrets, never the deployment's."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_STORAGE_URI": "memory://",
                      "SECRET_KEY": secrets.token_urlsafe(32),
                      "PAYMENT_GATEWAY_SECRET": secrets.token_urlsafe(32),
                      "DATA_KEYS": f"b1:{new_key()}", "DATA_HASH_KEY": new_key(),
                      "AUDIT_KEY": secrets.token_urlsafe(32),
                      "AUDIT_SIGNING_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
                      "PUBLIC_BASE_URL": "http://127.0.0.1:5000"})
    return fresh_schema(app)


def fresh_schema(app):
    """Drop and create every table of `app`'s database and sync the tenants; returns `app`."""
    with app.app_context():
        db.drop_all()
        db.create_all()
        for cfg in tenants().values():
            sync_tenant(cfg)
    return app


def seed(n: int) -> Plan:
    """`n` drafts of one applicant in the plan, inserted in bulk (a few executemany calls)."""
    plan = db.session.scalar(sa.select(Plan).join(Tenant).where(
        Tenant.slug == TENANT, Plan.code == PLAN))
    user_id = db.session.execute(sa.insert(User).values(
        tenant_id=plan.tenant_id, username="bench", name="bench", role="applicant",
        password_hash="-", person_type="professional").returning(User.id)).scalar_one()
    committee_id = db.session.scalar(sa.select(Committee.id).filter_by(tenant_id=plan.tenant_id)
                                     .order_by(Committee.id))
    row = {"tenant_id": plan.tenant_id, "applicant_id": user_id, "plan_id": plan.id,
           "committee_id": committee_id, "series": "engineering", "level": "intermediate",
           "person_type": "professional", "status": Status.draft.value, "route": [],
           "basic": {}}
    for start in range(0, n, CHUNK):
        db.session.execute(sa.insert(Application), [row] * min(CHUNK, n - start))
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        # A live table has planner statistics (autovacuum) and no pending checkpoint from a
        # bulk load: start the close from that state.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
            conn.execute(sa.text("CHECKPOINT"))
    return plan


@contextmanager
def counted(engine):
    """Count the SQL statements sent to the database inside the block."""
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


def measure(database: str, url: str, n: int) -> Figure:
    """Close the apply stage over `n` drafts on a fresh schema; the close is checked complete."""
    app = build(url)
    with app.app_context():
        plan = seed(n)
        instant = closes_at(plan.window(STAGE).closes_on)
        with counted(db.engine) as statements:
            start = time.perf_counter()
            run = close_stage(plan, STAGE, now=instant)
            seconds = time.perf_counter() - start
        audited = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                                    .where(AuditEvent.action == f"close_{STAGE}"))
        if run.status != "finished" or run.rows_changed != n or audited != n:
            raise SystemExit(f"{database} {n}: close {run.status}, {run.rows_changed} moved, "
                             f"{audited} audited")
        # The chain: the close's own commit sealed the first rows; the seal job does the rest.
        start = time.perf_counter()
        seal_all()
        sealed_seconds = time.perf_counter() - start
        if not audit_verify(plan.tenant_id).ok:
            raise SystemExit(f"{database} {n}: the audit chain does not verify")
        db.session.remove()
        db.drop_all()
        db.engine.dispose()
    return Figure(database, n, seconds, len(statements), audited, sealed_seconds)


BARE = """
WITH moved AS (
  UPDATE applications SET status = :to_state, version = version + 1, updated_at = :at,
         holder_org_id = NULL
  WHERE plan_id = :plan_id AND status = :from_state
  RETURNING tenant_id, id)
INSERT INTO audit_events (tenant_id, subject_id, at, actor_name, actor_role, ip, subject_type,
                          action, from_state, to_state, reason)
SELECT tenant_id, id, :at, 'system', 'system', '', 'applications', :action, :from_state,
       :to_state, :reason FROM moved"""


def bare(url: str, n: int) -> float:
    """Seconds of the bare reference over `n` drafts on a fresh schema, its commit included."""
    app = build(url)
    with app.app_context():
        plan = seed(n)
        params = {"plan_id": plan.id, "from_state": Status.draft.value,
                  "to_state": Status.abandoned.value, "at": closes_at(
                      plan.window(STAGE).closes_on), "action": f"close_{STAGE}",
                  "reason": "申报期截止未提交，视为放弃申报"}
        db.session.remove()
        with db.engine.connect() as conn:
            start = time.perf_counter()
            moved = conn.execute(sa.text(BARE), params).rowcount
            conn.commit()
            seconds = time.perf_counter() - start
        if moved != n:
            raise SystemExit(f"bare reference moved {moved} of {n}")
        db.drop_all()
        db.engine.dispose()
    return seconds


def paired(database: str, url: str, n: int, rounds: int) -> Figure:
    """On PostgreSQL, `rounds` rounds of the bare reference then the close, each on a fresh
    schema; the round with the median close/bare ratio (the machine's speed drifts within
    minutes, so each close is compared with the reference run just before it). SQLite: one
    close, no reference."""
    if database != "postgres":
        return measure(database, url, n)
    pairs = []
    for _ in range(max(1, rounds)):
        reference = bare(url, n)
        pairs.append(replace(measure(database, url, n), bare_seconds=reference))
    pairs.sort(key=lambda f: f.seconds / f.bare_seconds)
    return pairs[len(pairs) // 2]


def label(n: int) -> str:
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)


def results(figures: list[Figure]) -> dict:
    """The figures by stable name; the statements per close must not vary with N."""
    out = {f"close_{label(f.rows)}_{f.database}_s": {"value": round(f.seconds, 3), "unit": "s"}
           for f in figures}
    out.update({f"audit_seal_{label(f.rows)}_{f.database}_s": {
        "value": round(f.sealed_seconds, 3), "unit": "s"} for f in figures})
    for f in figures:
        if f.bare_seconds:
            out[f"close_bare_{label(f.rows)}_{f.database}_s"] = {
                "value": round(f.bare_seconds, 3), "unit": "s"}
            out[f"close_{label(f.rows)}_{f.database}_vs_bare"] = {
                "value": round(f.seconds / f.bare_seconds, 2), "unit": "ratio"}
    for database in dict.fromkeys(f.database for f in figures):
        counts = {f.rows: f.statements for f in figures if f.database == database}
        if len(set(counts.values())) > 1:
            raise SystemExit(f"{database}: statements per close vary with N: {counts}")
        out[f"close_statements_{database}"] = {"value": max(counts.values()),
                                               "unit": "statements"}
    return out


def table(figures: list[Figure]) -> str:
    lines = [f"{'database':<10} {'N':>8} {'seconds':>8} {'statements':>10} {'audit rows':>10} "
             f"{'seal s':>8} {'bare s':>8} {'vs bare':>8}"]
    lines += [f"{f.database:<10} {f.rows:>8} {f.seconds:>8.3f} {f.statements:>10} {f.audited:>10} "
              f"{f.sealed_seconds:>8.3f} " + (f"{f.bare_seconds:>8.3f} "
                                              f"{f.seconds / f.bare_seconds:>8.2f}"
                                              if f.bare_seconds else f"{'-':>8} {'-':>8}")
              for f in figures]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default=os.environ.get("BENCH_PG_URL"),
                        help="a PostgreSQL URL (postgresql+psycopg://...); SQLite only without it")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--rounds", type=int, default=3,
                        help="PostgreSQL: bare reference and close this many times each, "
                             "alternating; the round with the median ratio is reported")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    figures = []
    with tempfile.TemporaryDirectory() as tmp:
        databases = [("sqlite", f"sqlite:///{tmp}/bench.db")]
        if args.pg:
            databases.append(("postgres", args.pg))
        for database, url in databases:
            for n in sizes:
                figures.append(paired(database, url, n, args.rounds))
                print(table(figures[-1:]).splitlines()[-1], flush=True)
    print()
    print(table(figures))
    path = record(results(figures))
    print(f"\nwritten to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
