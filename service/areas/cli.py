"""Boundary commands: import a generation, load the demo district, re-assign open reports."""
import sys

import click
from flask.cli import with_appcontext

from geo import boundaries as geo_boundaries
from geo import demo
from service.areas import boundaries, generations
from service.core.errors import ApiError

boundaries_group = click.Group("boundaries", help="Import administrative boundaries.")


@boundaries_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False), required=False)
@click.option("--level", type=click.Choice(boundaries.LEVELS), required=True)
@click.option("--crs", type=click.Choice(["wgs84", "gcj02", "bd09"]), default="wgs84", show_default=True)
@click.option("--town", "towns", multiple=True, help="Replace only this town's areas (repeatable).")
@click.option("--towns-in-file", is_flag=True, help="Replace only the towns the file has areas for.")
@click.option("--derive", "derive_name", metavar="NAME",
              help="With --level district and no file: the district NAME as the union of the towns in force.")
@click.option("--dry-run", is_flag=True, help="Show what would change and move, then write nothing.")
@click.option("--repair", is_flag=True, help="Repair invalid geometries (make_valid) and import despite problems.")
@click.option("--tolerance-m2", default=1.0, show_default=True, help="Ignore overlaps/gaps smaller than this.")
@with_appcontext
def boundaries_import(path: str | None, level: str, crs: str, towns: tuple[str, ...], towns_in_file: bool,
                      derive_name: str | None, dry_run: bool, repair: bool, tolerance_m2: float) -> None:
    """Import a GeoJSON FeatureCollection of one level as a new generation; unchanged codes stay as they are."""
    try:
        if derive_name and level == "district" and not path:
            items = [generations.derive_district(derive_name)]
        elif path and not derive_name:
            items = geo_boundaries.read_boundaries(path, crs=crs, level=level)
        else:
            raise click.UsageError("give a file, or --level district --derive NAME without one")
        if repair:
            items = geo_boundaries.repair(items)
        result = generations.run(items, level, towns=list(towns) or None, towns_in_file=towns_in_file,
                                 repair=repair, dry_run=dry_run, source=path, min_area_m2=tolerance_m2)
    except geo_boundaries.BoundaryError as e:
        raise click.ClickException(str(e)) from e
    except ApiError as e:
        for line in e.extra.get("lines", []):
            click.echo(line, err=True)
        click.echo(e.message, err=True)
        sys.exit(1)
    for line in preview_lines(result):
        click.echo(line)
    if dry_run:
        click.echo("dry run: nothing written")
    elif result.generation is None:
        click.echo(f"nothing changed: {level} generation {boundaries.current_generation(level)} stays in force")
    else:
        click.echo(f"imported {len(items)} {level} boundaries as generation {result.generation}")


def preview_lines(result: generations.ImportResult) -> list[str]:
    """The topology report, the codes that change and the open reports that move, one line each."""
    scope = ", ".join(result.towns) if result.towns is not None else "all"
    moves = [f"move {m.n} open reports {m.from_code} {m.from_name} -> {m.to_code} {m.to_name}" for m in result.moves]
    return [f"towns replaced: {scope}", *result.topology.lines(), *result.diff.lines(), *moves,
            f"re-assigned {result.moved} open reports"]


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
        result = generations.run(chosen, level)
        click.echo(f"demo {level}: {len(chosen)} areas, generation {result.generation}")


COMMANDS = (boundaries_group, demo_data)
