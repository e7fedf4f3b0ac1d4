"""flask audit seal | verify | export | pubkey: the audit trail from the command line."""
from __future__ import annotations

import sys
from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from flask.cli import AppGroup

from .extensions import db
from .workflow import audit

audit_cli = AppGroup("audit", help="The audit trail: seal, verify, export for the regulator.")
TZ = ZoneInfo("Asia/Shanghai")


def _tenant_ids(tenant: str | None) -> list[int]:
    ids = audit.tenant_ids(tenant)
    if tenant and not ids:
        raise click.BadParameter(f"no tenant {tenant!r}", param_hint="--tenant")
    return ids


@audit_cli.command("seal")
def audit_seal():
    """Seal every unsealed row (the minute sweep does the same)."""
    click.echo(f"sealed {audit.seal_all()} rows")


@audit_cli.command("verify")
@click.option("--tenant", help="one tenant's slug (default: every tenant)")
def audit_verify(tenant):
    """Walk each tenant's chain; exit 1 and name the first broken row if one does not match."""
    broken = False
    for tenant_id in _tenant_ids(tenant):
        v = audit.verify(tenant_id)
        if v.ok:
            click.echo(f"tenant {tenant_id}: {v.checked} rows verified, {v.unsealed} not yet sealed")
        else:
            broken = True
            where = "the chain's end" if v.broken_id == -1 else f"row id {v.broken_id}"
            click.echo(f"tenant {tenant_id}: BROKEN at {where} (seq {v.broken_seq}): {v.problem}; "
                       f"{v.checked} rows before it verified", err=True)
    db.session.rollback()
    sys.exit(1 if broken else 0)


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(), TZ).astimezone(UTC)


@audit_cli.command("export")
@click.option("--tenant", required=True, help="the tenant's slug")
@click.option("--from", "start", required=True, type=click.DateTime(["%Y-%m-%d"]),
              help="first day (Beijing time), inclusive")
@click.option("--to", "end", required=True, type=click.DateTime(["%Y-%m-%d"]),
              help="last day (Beijing time), inclusive")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="the .jsonl file to write; its signature goes to FILE.sig")
def audit_export(tenant, start, end, out: Path):
    """Write the sealed rows of a period as JSON lines with a detached Ed25519 signature."""
    (tenant_id,) = _tenant_ids(tenant)
    from datetime import timedelta
    with out.open("wb") as f:
        rows, signature = audit.export(tenant_id, _day_start(start.date()),
                                       _day_start(end.date() + timedelta(days=1)), f)
    out.with_name(out.name + ".sig").write_text(signature + "\n")
    click.echo(f"{rows} rows written to {out}; signature in {out}.sig "
               "(check it with the key `flask audit pubkey` prints)")


@audit_cli.command("pubkey")
def audit_pubkey():
    """Print the public key that checks export signatures (PEM)."""
    click.echo(audit.public_key_text(), nl=False)
