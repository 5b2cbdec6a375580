"""Report housekeeping: finish or clean interrupted photo uploads, escalate overdue reports."""
import click
from flask import current_app
from flask.cli import with_appcontext

from service.reports import deadlines, sweep

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


@click.command("escalate")
@with_appcontext
def escalate() -> None:
    """Escalate overdue reports to the town, then the district (safe to run repeatedly)."""
    counts = deadlines.escalate()
    click.echo(f"escalated to town: {counts['town']}, to district: {counts['district']}")


COMMANDS = (photos_group, escalate)
