"""`hazard-snap photos ...`: finish or clean interrupted uploads, copy the store to another backend."""
import click
from flask import current_app
from flask.cli import with_appcontext

from service.photos import storage, sweep

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
