"""`flask certificates issue`: the same batch as the RQ job, for one tenant or all."""
from __future__ import annotations

import click
from flask import g

from . import bp
from ..tenancy import tenant_scope, tenants


@bp.cli.command("issue")
@click.option("--tenant", default=None, help="Only this tenant (slug); default: all.")
@click.option("--date", "day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="As of this day (YYYY-MM-DD); default: today.")
def issue(tenant, day):
    """Issue e-certificates and result letters for every certifiable file (BJ-CERT-1)."""
    from ..workflow.certificates import issue_batch

    if tenant and tenant not in tenants():
        raise click.ClickException(f"unknown tenant {tenant!r}")
    today = day.date() if day else None
    for slug in [tenant] if tenant else list(tenants()):
        with tenant_scope(slug):
            run = issue_batch(g.tenant_id, today)
        click.echo(f"{slug}: {run.status}, {run.rows_changed} certificate(s) issued")
