"""Boundary commands: import a generation, load the demo district, re-assign open reports."""
import sys

import click
from flask.cli import with_appcontext

from geo import boundaries as geo_boundaries
from geo import demo
from service.areas import assignment, boundaries
from service.db import db
from service.models import Area

boundaries_group = click.Group("boundaries", help="Import administrative boundaries.")


def area_option(code: str | None) -> Area | None:
    """The area an --area option names, or a clear error."""
    if not code:
        return None
    area = boundaries.latest(code)
    if area is None:
        raise click.ClickException(f"no area with code {code}")
    return area


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


COMMANDS = (boundaries_group, demo_data, reassign)
