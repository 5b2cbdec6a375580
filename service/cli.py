"""The hazard-snap command line (also available as `flask` commands)."""
import sys

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import text
from sqlalchemy.engine import make_url

from geo import boundaries as geo_boundaries
from geo import demo
from service import migrate
from service.accounts import cli as accounts_cli
from service.areas import assignment, boundaries
from service.reports import sweep
from service.volunteers import cli as volunteer_cli

from .db import db

db_group = click.Group("db", help="Create and migrate the database.")
boundaries_group = click.Group("boundaries", help="Import administrative boundaries.")
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


@boundaries_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--level", type=click.Choice(["town", "committee"]), required=True)
@click.option("--crs", type=click.Choice(["wgs84", "gcj02", "bd09"]), default="wgs84", show_default=True)
@click.option("--repair", is_flag=True, help="Repair invalid geometries (make_valid) and import despite problems.")
@click.option("--tolerance-m2", default=1.0, show_default=True, help="Ignore overlaps/gaps smaller than this.")
@with_appcontext
def boundaries_import(path: str, level: str, crs: str, repair: bool, tolerance_m2: float) -> None:
    """Import a GeoJSON FeatureCollection of towns or committees as a new generation."""
    try:
        items = geo_boundaries.read_boundaries(path, crs=crs, level=level)
    except geo_boundaries.BoundaryError as e:
        raise click.ClickException(str(e)) from e
    if repair:
        items = geo_boundaries.repair(items)
    parents = _current_boundaries("town") if level == "committee" else None
    report = geo_boundaries.check_topology(items, parents=parents or None, min_area_m2=tolerance_m2)
    for line in report.lines():
        click.echo(line)
    missing = boundaries.missing_parents(items, level)
    if missing:  # --repair mends geometry, never the hierarchy
        click.echo(f"nothing imported: unknown parent codes (import the level above first): {', '.join(missing[:10])}",
                   err=True)
        sys.exit(1)
    if not report.ok and not repair:
        click.echo("nothing imported: fix the problems above or pass --repair", err=True)
        sys.exit(1)
    with click.progressbar(length=len(items), label=f"importing {len(items)} {level} boundaries") as bar:
        generation = boundaries.import_boundaries(items, level, progress=bar.update)
    boundaries.commit_import()
    click.echo(f"imported {len(items)} {level} boundaries as generation {generation}")


def _current_boundaries(level: str) -> list[geo_boundaries.Boundary]:
    from geoalchemy2.shape import to_shape

    return [
        geo_boundaries.Boundary(a.code, a.name, a.level, a.kind, None, to_shape(a.geom))
        for a in db.session.scalars(boundaries.current_areas(level))
    ]


@click.command("demo-data")
@click.option("--if-empty", is_flag=True, help="Do nothing when boundaries are already loaded.")
@with_appcontext
def demo_data(if_empty: bool) -> None:
    """Load the generated demo district: 14 towns and 585 committees."""
    if if_empty and boundaries.has_areas():
        click.echo("boundaries already loaded; demo data skipped")
        return
    items = demo.demo_district()
    for level in boundaries.LEVELS:
        chosen = [b for b in items if b.level == level]
        generation = boundaries.import_boundaries(chosen, level)
        click.echo(f"demo {level}: {len(chosen)} areas, generation {generation}")
    boundaries.commit_import()


@click.command("reassign")
@with_appcontext
def reassign() -> None:
    """Re-assign open reports to the current committee boundaries."""
    n = assignment.reassign_open_reports()
    db.session.commit()
    click.echo(f"re-assigned {n} open reports")


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


COMMANDS = (db_group, boundaries_group, photos_group, demo_data, reassign, serve, *accounts_cli.COMMANDS,
            *volunteer_cli.COMMANDS)


def register(app: Flask) -> None:
    """Attach the commands to an app so `flask ...` has them too."""
    for cmd in COMMANDS:
        app.cli.add_command(cmd)


def main() -> None:
    """Run the hazard-snap command line."""
    from service import create_app

    from .security import ConfigError

    try:  # fail before any command runs, with the fix in the message rather than a traceback
        create_app()
    except ConfigError as e:
        sys.exit(f"hazard-snap: {e}")
    cli = FlaskGroup(create_app=lambda: create_app(), add_default_commands=False, add_version_option=False)
    for cmd in COMMANDS:
        cli.add_command(cmd)
    cli.main(prog_name="hazard-snap")
