"""flask tenants / demo / jobs commands; they call the same services as the views and jobs."""
from __future__ import annotations

import click
import sqlalchemy as sa
from flask import Flask
from flask.cli import AppGroup

from .extensions import db
from .models import JobRun, Plan, Tenant
from .tenancy import tenant_scope, tenants
from .workflow.calendar import today_local

tenants_cli = AppGroup("tenants", help="Load tenant folders into the database.")
demo_cli = AppGroup("demo", help="Demo data.")
jobs_cli = AppGroup("jobs", help="Deadline jobs.")


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
    """Enqueue every stage close; overdue closes not yet done run now (catch-up)."""
    from .jobs.deadlines import schedule_all
    for key, when, at in schedule_all():
        click.echo(f"{when:>3}  {at}  {key}")


@jobs_cli.command("list")
@click.option("--tenant", default=None)
def jobs_list(tenant):
    """Recent job runs."""
    q = sa.select(JobRun, Tenant.slug).join(Tenant, JobRun.tenant_id == Tenant.id)
    if tenant:
        q = q.where(Tenant.slug == tenant)
    for run, slug in db.session.execute(q.order_by(JobRun.id.desc()).limit(50)):
        click.echo(f"{run.id:>5} {slug:<10} {run.status:<9} {run.rows_changed:>6} {run.key}")


@jobs_cli.command("run-now")
@click.argument("tenant")
@click.argument("plan_code")
@click.argument("stage")
def jobs_run_now(tenant, plan_code, stage):
    """Close STAGE of PLAN_CODE now (refused before the window's close)."""
    from .workflow.deadlines import close_stage
    with tenant_scope(tenant):
        from flask import g
        plan = db.session.scalar(sa.select(Plan).filter_by(tenant_id=g.tenant_id, code=plan_code))
        if plan is None or plan.window(stage) is None:
            raise click.ClickException(f"no plan {plan_code!r} with stage {stage!r} in {tenant}")
        run = close_stage(plan, stage)
        click.echo(f"{run.status}: {run.rows_changed} application(s) changed ({run.error})")


def register(app: Flask) -> None:
    for group in (tenants_cli, demo_cli, jobs_cli):
        app.cli.add_command(group)
