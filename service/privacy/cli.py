"""Privacy commands: `hazard-snap privacy sweep` erases the contacts kept past CONTACT_RETENTION_DAYS."""
import click
from flask import current_app
from flask.cli import with_appcontext

from service.privacy import retention

privacy_group = click.Group("privacy", help="Residents' personal data: how long it is kept.")


@privacy_group.command("sweep")
@with_appcontext
def sweep_command() -> None:
    """Erase residents' contacts kept longer than CONTACT_RETENTION_DAYS after their report closed (daily;
    safe to run again, and on several nodes at once)."""
    erased = retention.sweep()
    click.echo(f"erased the contacts of {erased} reports closed more than "
               f"{current_app.config['CONTACT_RETENTION_DAYS']} days ago")


COMMANDS = (privacy_group,)
