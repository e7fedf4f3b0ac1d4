"""flask backup PATH / flask restore PATH: the instance's database and files in one archive."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from .backup import BackupError, backup, restore


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False))
@with_appcontext
def backup_cmd(path):
    """Write every table and every stored file to the archive PATH (a tar with SHA-256 sums)."""
    try:
        backup(path, echo=click.echo)
    except BackupError as e:
        raise click.ClickException(str(e)) from None
    except OSError as e:
        raise click.ClickException(f"cannot write {path}: {e}") from None


@click.command("restore")
@click.argument("path", type=click.Path(dir_okay=False))
@with_appcontext
def restore_cmd(path):
    """Restore the archive PATH into this instance, whose database and file store are empty
    (`flask db upgrade` on a new database first). Refuses a damaged archive."""
    try:
        summary = restore(path, echo=click.echo)
    except BackupError as e:
        raise click.ClickException(str(e)) from None
    from .pagecache import raise_generation
    raise_generation()  # kept office lists of a running instance are drawn again
    if any("BROKEN" in line for line in summary.audit):
        raise click.ClickException("restored, but an audit chain does not verify (see above)")
