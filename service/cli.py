"""The hazard-snap command line (also available as `flask` commands)."""
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import text
from sqlalchemy.engine import make_url

from service.accounts import cli as accounts_cli
from service.accounts import scope
from service.areas import cli as areas_cli
from service.bodies import cli as bodies_cli
from service.core import events, migrate
from service.core.db import db
from service.dashboard import cli as dashboard_cli
from service.hotline import cli as hotline_cli
from service.notify import cli as notify_cli
from service.open311 import cli as open311_cli
from service.ops import backup
from service.orders import cli as orders_cli
from service.photos import cli as photos_cli
from service.privacy import cli as privacy_cli
from service.reports import cli as reports_cli
from service.sites import cli as sites_cli
from service.volunteers import cli as volunteer_cli

db_group = click.Group("db", help="Create and migrate the database.")


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Create the database if missing, migrate it as the owner, and grant the app's role its rights."""
    url = current_app.config["DATABASE_OWNER_URL"]
    if migrate.ensure_database(url):
        click.echo(f"created database {url.rsplit('/', 1)[-1]}")
    migrate.upgrade(url, revision)
    click.echo(f"database at {revision}")
    _grant_app_role()


def _grant_app_role() -> None:
    """Grant the app's role its rights as the owner (creating the role if missing); warn if they are one role."""
    url = current_app.config["DATABASE_OWNER_URL"]
    app_url, owner = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"]), make_url(url)
    if app_url.username == owner.username:
        click.echo(f"warning: the app connects as the schema owner {owner.username}; set DATABASE_URL to a role "
                   "of its own and DATABASE_OWNER_URL to the owner (see README, Database roles)", err=True)
        return
    try:
        created = migrate.grant_app_role(url, app_url.username, app_url.password)
    except migrate.RoleError as e:
        raise click.ClickException(str(e)) from e
    click.echo(f"{'created role' if created else 'role'} {app_url.username}: rights granted")


@db_group.command("downgrade")
@click.argument("revision")
@with_appcontext
def db_downgrade(revision: str) -> None:
    """Migrate the database down to a revision."""
    migrate.downgrade(current_app.config["DATABASE_OWNER_URL"], revision)


@click.command("serve")
@click.option("--port", default=5000, show_default=True, envvar="PORT")
@click.option("--host", default="127.0.0.1", show_default=True)
@with_appcontext
def serve(port: int, host: str) -> None:
    """Serve the app with Werkzeug's threaded server (use gunicorn in production)."""
    from werkzeug.serving import run_simple

    base = f"http://{host}:{port}"
    click.echo(f"上报页 report page: {base}/report\n登录 sign in: {base}/login\n地图 map: {base}/map\n"
               f"API: {base}/api/v1/categories\nDATABASE_URL={current_app.config['SQLALCHEMY_DATABASE_URI']}")
    if not db.session.scalar(text("SELECT count(*) FROM \"user\"")):
        click.echo("no accounts yet: create one with\n  .venv/bin/hazard-snap users create --name 管理员 "
                   "--phone 13800000000 --role district_admin --password-stdin")
    # app.run() refuses to start inside a `flask`/FlaskGroup command, so call the server directly.
    run_simple(host, port, current_app._get_current_object(), threaded=True, use_reloader=False)


@click.command("backup")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@with_appcontext
def backup_cmd(directory: Path) -> None:
    """Dump the database and copy its photos into a new DIRECTORY, with a sha256 manifest."""
    try:
        manifest = backup.backup(current_app.config["DATABASE_OWNER_URL"], current_app.extensions["photo_storage"],
                                 directory)
    except backup.BackupError as e:
        raise click.ClickException(str(e)) from e
    click.echo(f"backup in {directory}: database at {manifest['alembic_revision']}, "
               f"{len(manifest['files'])} photo files")


@click.command("restore")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@with_appcontext
def restore_cmd(directory: Path) -> None:
    """Verify a backup in DIRECTORY and restore it into an empty database and photo store."""
    url = current_app.config["DATABASE_OWNER_URL"]
    try:
        if migrate.ensure_database(url):
            click.echo(f"created database {make_url(url).database}")
        manifest = backup.restore(url, current_app.extensions["photo_storage"], directory)
    except backup.BackupError as e:
        raise click.ClickException(str(e)) from e
    click.echo(f"restored database at {manifest['alembic_revision']} and {len(manifest['files'])} photo files "
               f"from {manifest['created_at']}")
    _grant_app_role()


@click.command("events")
@with_appcontext
def events_cmd() -> None:
    """Print who reacts to each domain event (the subscriptions each area made)."""
    for kind, handler in events.describe():
        click.echo(f"{kind}\t{handler}")


@click.command("scope")
@with_appcontext
def scope_cmd() -> None:
    """Print every visibility rule: where it is stated and what it lets each role see."""
    for name, said in scope.describe():
        click.echo(f"{name}\t{said}")


COMMANDS = (db_group, serve, backup_cmd, restore_cmd, events_cmd, scope_cmd, *areas_cli.COMMANDS, *photos_cli.COMMANDS,
            *reports_cli.COMMANDS,
            *accounts_cli.COMMANDS, *notify_cli.COMMANDS, *volunteer_cli.COMMANDS, *sites_cli.COMMANDS,
            *orders_cli.COMMANDS, *open311_cli.COMMANDS, *dashboard_cli.COMMANDS, *privacy_cli.COMMANDS,
            *bodies_cli.COMMANDS, *hotline_cli.COMMANDS)


def register(app: Flask) -> None:
    """Attach the commands to an app so `flask ...` has them too."""
    for cmd in COMMANDS:
        app.cli.add_command(cmd)


def main() -> None:
    """Run the hazard-snap command line."""
    from service import create_app
    from service.security import ConfigError

    try:  # fail before any command runs, with the fix in the message rather than a traceback
        create_app()
    except ConfigError as e:
        sys.exit(f"hazard-snap: {e}")
    cli = FlaskGroup(create_app=lambda: create_app(), add_default_commands=False, add_version_option=False)
    for cmd in COMMANDS:
        cli.add_command(cmd)
    cli.main(prog_name="hazard-snap")
