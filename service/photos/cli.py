"""`hazard-snap photos ...`: finish or clean interrupted uploads, blur the waiting ones, copy the store elsewhere."""
import click
from flask import current_app
from flask.cli import with_appcontext

from service.photos import redact, storage, sweep

photos_group = click.Group("photos", help="Maintain photo storage.")


@photos_group.command("sweep")
@click.option("--older-than", "hours", default=1.0, show_default=True, help="Grace period in hours for orphans.")
@with_appcontext
def photos_sweep(hours: float) -> None:
    """Finish interrupted uploads and remove orphaned photo files."""
    result = sweep.sweep(current_app.extensions["photo_storage"], hours * 3600)
    for key in result.published:
        click.echo(f"published {key}")
    for handle in result.removed:
        click.echo(f"removed {handle}")
    click.echo(f"sweep: {len(result.published)} published, {len(result.removed)} removed")


@photos_group.command("redact")
@click.option("--pending", is_flag=True, required=True, help="the photos whose faces could not be blurred at upload")
@with_appcontext
def photos_redact(pending: bool) -> None:
    """Blur the faces of the photos still waiting (待脱敏) and publish their copies (safe on several nodes)."""
    result = redact.redact_pending()
    for key in result.finished:
        click.echo(f"published {key}")
    for key in result.failed:
        click.echo(f"still pending {key}")
    click.echo(f"redact: {len(result.finished)} published, {len(result.failed)} still pending")
    if result.failed:
        raise SystemExit(1)


@photos_group.command("migrate")
@click.option("--to", "target", type=click.Choice(["s3", "local"]), required=True,
              help="the store to fill: s3 (S3_BUCKET) from PHOTO_DIR, or local (PHOTO_DIR) from S3_BUCKET")
@with_appcontext
def photos_migrate(target: str) -> None:
    """Copy every photo the database names into the other store, each verified by SHA-256 (safe to re-run)."""
    cfg = current_app.config
    stores = {kind: storage.from_config({**cfg, "PHOTO_STORE": kind}) for kind in ("local", "s3")}
    source = stores["local" if target == "s3" else "s3"]
    copied = kept = 0
    try:
        for _key, was_copied in storage.copy_all(source, stores[target], sorted(sweep.referenced_keys())):
            copied, kept = copied + was_copied, kept + (not was_copied)
    except (OSError, storage.StorageError) as e:
        raise click.ClickException(f"{e} (copied {copied} so far; run again to resume)") from e
    click.echo(f"migrate to {target}: {copied} copied, {kept} already there (verified)")


COMMANDS = (photos_group,)
