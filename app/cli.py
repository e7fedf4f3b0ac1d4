"""flask tenants / demo / jobs / users commands; they call the same services as the views and jobs."""
from __future__ import annotations

import click
import sqlalchemy as sa
from flask import Flask, g
from flask.cli import AppGroup, with_appcontext

from .extensions import db
from .models import JobRun, Plan, Tenant
from .tenancy import tenant_scope, tenants
from .workflow.calendar import today_local

tenants_cli = AppGroup("tenants", help="Load tenant folders into the database.")
demo_cli = AppGroup("demo", help="Demo data.")
jobs_cli = AppGroup("jobs", help="Deadline jobs.")
users_cli = AppGroup("users", help="Accounts.")
keys_cli = AppGroup("keys", help="The personal-data key ring.")


@tenants_cli.command("load")
def tenants_load():
    """Write every tenants/<slug>/ folder into the database (idempotent)."""
    from .tenancy.sync import sync_tenant
    for cfg in tenants().values():
        sync_tenant(cfg)
        click.echo(f"tenant {cfg.slug}: loaded")


@demo_cli.command("load")
def demo_load():
    """Load tenants, then demo employers, accounts and 演示 plans; print the accounts."""
    from .demo import load_demo
    from .tenancy.sync import sync_tenant
    today = today_local()
    for cfg in tenants().values():
        tenant = sync_tenant(cfg)
        accounts = load_demo(cfg, tenant.id, today)
        if cfg.demo is None:
            continue
        click.echo(f"\n  {cfg.name} ({cfg.slug}) — demo password: {cfg.demo.password}")
        shown = set()
        for username, role, org in accounts:  # one account per role
            if role not in shown:
                shown.add(role)
                more = sum(1 for _, r, _ in accounts if r == role) - 1
                extra = f"  (+{more} more)" if more else ""
                click.echo(f"    {role:<18} {username:<20} {org}{extra}")


@jobs_cli.command("schedule")
def jobs_schedule():
    """Schedule every close (plan stages, per-file due days) for its instant; overdue closes
    not yet done are queued now, oldest first (catch-up)."""
    from .jobs.deadlines import schedule_all
    for key, when, at in schedule_all():
        click.echo(f"{when:>3}  {at}  {key}")


@jobs_cli.command("list")
@click.option("--tenant", default=None, help="Only this tenant (its slug).")
@click.option("--runs", default=30, show_default=True, help="How many recent runs to show.")
def jobs_list(tenant, runs):
    """Every close with its job (instant, status, id), then the recent runs and their keys."""
    from .jobs.deadlines import scheduled_jobs
    for slug in [tenant] if tenant else tenants():
        with tenant_scope(slug):
            click.echo(f"== {slug}: closes")
            for j in scheduled_jobs(g.tenant_id):
                click.echo(f"{j['instant']:%Y-%m-%d %H:%M}  {j['status']:<9}  {j['job_id']}")
    click.echo("== recent runs (replay with `flask jobs replay KEY`)")
    q = sa.select(JobRun, Tenant.slug).join(Tenant, JobRun.tenant_id == Tenant.id)
    if tenant:
        q = q.where(Tenant.slug == tenant)
    for run, slug in db.session.execute(q.order_by(JobRun.id.desc()).limit(runs)):
        click.echo(f"{run.id:>5} {slug:<10} {run.status:<9} {run.rows_changed:>6} {run.key}")


@jobs_cli.command("run-now")
@click.argument("plan_code")
@click.argument("stage")
@click.option("--tenant", default=None, help="The tenant's slug, if two tenants use PLAN_CODE.")
def jobs_run_now(plan_code, stage, tenant):
    """Close STAGE of PLAN_CODE now (refused before the window's close)."""
    from .workflow.deadlines import CLOSES, close_stage
    q = sa.select(Plan, Tenant.slug).join(Tenant, Plan.tenant_id == Tenant.id).where(
        Plan.code == plan_code)
    found = db.session.execute(q.where(Tenant.slug == tenant) if tenant else q).all()
    if len(found) > 1:
        raise click.ClickException(f"several tenants have a plan {plan_code!r}: add --tenant")
    if not found or stage not in CLOSES or found[0][0].window(stage) is None:
        raise click.ClickException(f"no plan {plan_code!r} with a stage {stage!r}"
                                   f" (stages: {', '.join(CLOSES)})")
    plan, slug = found[0]
    with tenant_scope(slug):
        run = close_stage(plan, stage)
    click.echo(f"{run.key}: {run.status}, {run.rows_changed} application(s) changed"
               + (f" ({run.error})" if run.error else ""))


@jobs_cli.command("replay")
@click.argument("key")
def jobs_replay(key):
    """Run again the finished or failed close recorded under KEY (see `flask jobs list`)."""
    from .jobs.deadlines import NotReplayable, replay
    try:
        run, was_finished = replay(key)
    except NotReplayable as e:
        raise click.ClickException(str(e)) from None
    except Exception as e:  # the failed run is recorded; say why here
        raise click.ClickException(f"{key}: failed again: {e!r}") from None
    if was_finished and not run.rows_changed:
        click.echo(f"{key}: already closed; the replay changed nothing.")
    else:
        click.echo(f"{key}: {run.status}, {run.rows_changed} application(s) changed")


def _set_active(slug: str, username: str, active: bool) -> None:
    from .workflow.accounts import disable_user, enable_user
    from .workflow.people import find_login
    from .workflow.actors import Actor
    if slug not in tenants():
        raise click.ClickException(f"no tenant {slug!r}")
    with tenant_scope(slug):
        user = find_login(g.tenant_id, username)
        if user is None:
            raise click.ClickException(f"{slug}: no user {username!r}")
        (enable_user if active else disable_user)(Actor.system(g.tenant_id), user)
    click.echo(f"{slug}/{username}: {'enabled' if active else 'disabled, its sessions ended'}")


@users_cli.command("disable")
@click.argument("tenant")
@click.argument("username")
def users_disable(tenant, username):
    """Disable USERNAME of TENANT: it cannot sign in and its open sessions end now (audited)."""
    _set_active(tenant, username, False)


@users_cli.command("enable")
@click.argument("tenant")
@click.argument("username")
def users_enable(tenant, username):
    """Let a disabled account of TENANT sign in again (audited)."""
    _set_active(tenant, username, True)



@keys_cli.command("rotate")
@click.option("--resume", is_flag=True,
              help="Add no key: re-encrypt to the newest one (finish an interrupted run, or "
                   "after adding a key to DATA_KEYS).")
@click.option("--batch", default=1000, show_default=True, help="Rows per UPDATE.")
def keys_rotate(resume: bool, batch: int):
    """Add a new newest key and re-encrypt every encrypted column under it, in batches."""
    from flask import current_app

    from .workflow import crypto, rekey
    if not resume:
        try:
            kid = crypto.add_key(current_app.config)
        except crypto.KeyRingError as e:
            raise click.ClickException(str(e)) from None
        click.echo(f"added key {kid} to {current_app.config['KEYRING_FILE']}")
    click.echo(f"re-encrypting under {crypto.ring().header.rstrip('.')}")
    done = rekey.reencrypt(batch, progress=lambda col, n: click.echo(f"  {col}: {n}"))
    click.echo(f"done: {sum(done.values())} rows re-encrypted")
    _keys_status()


@keys_cli.command("status")
def keys_status():
    """How many rows of each encrypted column are under each key."""
    _keys_status()


def _keys_status() -> None:
    from .workflow import crypto, rekey
    ring = crypto.ring()
    click.echo(f"suite {ring.suite.value}, keys {', '.join(ring.keys)} (newest {ring.newest}), "
               f"from {ring.source}")
    for column, counts in rekey.status().items():
        shown = ", ".join(f"{k}: {n}" for k, n in counts.items()) or "no rows"
        click.echo(f"  {column:<22} {shown}")


@click.command("rehearse")
@click.argument("tenant")
@click.argument("year", type=int)
@click.option("--tenant-dir", type=click.Path(exists=True, file_okay=False), default=None,
              help="Rehearse this copy of the tenant's folder instead of the loaded one.")
@click.option("--size", type=click.Choice(["tiny", "small", "full"]), default="full",
              show_default=True, help="tiny: one file per plan and level; small: one per series; "
              "full: one per series, level, specialty and kind of employer.")
@click.option("--xlsx", type=click.Path(dir_okay=False), default=None,
              help="Also write the report as a spreadsheet to this file.")
@with_appcontext
def rehearse_cmd(tenant, year, tenant_dir, size, xlsx):
    """Rehearse TENANT's plans of YEAR in a sandbox database on a simulated clock and print the
    report: per stage, files moved, stalled or abandoned and why. Real data is never touched.
    Exits 1 when the rehearsal finds a problem."""
    from pathlib import Path

    from flask import current_app

    from .rehearsal import rehearse
    from .rehearsal.report import text, workbook
    from .rehearsal.sandbox import portable_config
    if tenant_dir is None:
        if tenant not in tenants():
            raise click.ClickException(f"no tenant {tenant!r}")
        tenant_dir = tenants()[tenant].path
    report = rehearse(tenant, year, Path(tenant_dir), portable_config(current_app.config), size)
    click.echo(text(report))
    if xlsx:
        Path(xlsx).write_bytes(workbook(report))
        click.echo(f"spreadsheet: {xlsx}")
    if not report["clean"]:
        raise SystemExit(1)


def register(app: Flask) -> None:
    app.cli.add_command(rehearse_cmd)
    for group in (tenants_cli, demo_cli, jobs_cli, users_cli, keys_cli):
        app.cli.add_command(group)
    from .cli_audit import audit_cli
    app.cli.add_command(audit_cli)
    from .cli_backup import backup_cmd, restore_cmd
    app.cli.add_command(backup_cmd)
    app.cli.add_command(restore_cmd)
