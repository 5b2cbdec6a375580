"""Mapbox vector tiles straight from PostGIS (ST_AsMVT): reports and committees, inside the caller's scope.

The page stays the same size whatever the number of reports: the browser asks for the tiles of its viewport.
From DETAIL_ZOOM on the reports are single points. Below it they are counted on the server: per committee from
the trigger-kept rollup (migration 0008) when the filter allows, else per grid cell over the matching rows.
"""
from datetime import UTC, datetime

from sqlalchemy import Integer, String, cast, func, literal_column, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from service.accounts import scope
from service.db import db
from service.models import Area, Report, ReportRollup, User
from service.reports import deadlines
from service.reports.filters import ReportFilter

EXTENT = 4096  # tile coordinate space
BUFFER = 64  # pixels beyond the edge, so symbols straddling tiles are not cut
DETAIL_ZOOM = 14
CELL_PX = 48  # grid cell of the aggregated layer, in screen pixels
WORLD_M = 40075016.685578488  # the Web Mercator world's width in metres
MAX_ZOOM = 22


def valid_tile(z: int, x: int, y: int) -> bool:
    return 0 <= z <= MAX_ZOOM and 0 <= x < 2**z and 0 <= y < 2**z


def _envelope(z: int, x: int, y: int):
    return func.ST_TileEnvelope(z, x, y)


def _in_tile(z: int, x: int, y: int) -> ColumnElement:
    # Compare in 4326 so the GiST index on report.location serves the lookup.
    margin = WORLD_M / 2**z * BUFFER / EXTENT
    return Report.location.op("&&")(func.ST_Transform(func.ST_Expand(_envelope(z, x, y), margin), 4326))


def _mvt(rows, layer: str) -> bytes:
    q = rows.subquery("q")
    tile = db.session.scalar(select(func.ST_AsMVT(literal_column("q"), layer, EXTENT, "geom")).select_from(q))
    return bytes(tile or b"")


def report_tile(user: User, filt: ReportFilter, z: int, x: int, y: int) -> bytes:
    """The `reports` layer of one tile: points (id, status, category, overdue) or counted grid cells."""
    env, now = _envelope(z, x, y), datetime.now(UTC)
    where = (scope.visible(user), _in_tile(z, x, y), *filt.conditions(now))
    overdue = deadlines.overdue(now)
    if z >= DETAIL_ZOOM:
        geom = func.ST_AsMVTGeom(func.ST_Transform(Report.location, 3857), env, EXTENT, BUFFER, True)
        rows = select(geom.label("geom"), cast(Report.id, String).label("id"), Report.status, Report.category,
                      cast(overdue, Integer).label("overdue")).where(*where)
        return _mvt(rows, "reports")
    counts = _rollup_counts(user, filt)
    if counts is not None:
        return _committee_clusters(counts, z, x, y)
    cell = WORLD_M / 2**z * CELL_PX / 256
    snapped = func.ST_SnapToGrid(func.ST_Transform(Report.location, 3857), cell)
    centre = func.ST_Centroid(func.ST_Collect(func.ST_Transform(Report.location, 3857)))
    rows = (select(func.ST_AsMVTGeom(centre, env, EXTENT, BUFFER, True).label("geom"),
                   func.count().label("count"), func.count().filter(overdue).label("overdue"))
            .where(*where).group_by(snapped))
    return _mvt(rows, "clusters")


def _rollup_counts(user: User, filt: ReportFilter):
    """Report counts per committee code from the rollup, or None when the scope or filter needs the rows."""
    where, visible = filt.rollup_conditions(), scope.visible_rollup(user)
    if where is None or visible is None:
        return None
    held = aliased(Area)
    return (select(held.code.label("code"), func.sum(ReportRollup.n).label("n"))
            .join(held, held.id == ReportRollup.committee_id).where(visible, *where)
            .group_by(held.code).having(func.sum(ReportRollup.n) > 0).subquery())


def _current_committees_in(z: int, x: int, y: int) -> list[ColumnElement]:
    from service.areas.boundaries import current_generation

    return [Area.level == "committee", Area.generation == current_generation("committee"),
            Area.geom.op("&&")(func.ST_Transform(_envelope(z, x, y), 4326))]


def _committee_clusters(counts, z: int, x: int, y: int) -> bytes:
    """One counted point per committee (inside its polygon): constant work whatever the number of reports."""
    point = func.ST_Transform(func.ST_PointOnSurface(Area.geom), 3857)
    rows = (select(func.ST_AsMVTGeom(point, _envelope(z, x, y), EXTENT, BUFFER, True).label("geom"),
                   cast(counts.c.n, Integer).label("count"), Area.code)
            .join(counts, counts.c.code == Area.code).where(*_current_committees_in(z, x, y)))
    return _mvt(rows, "clusters")


def committee_tile(user: User, filt: ReportFilter, z: int, x: int, y: int) -> bytes:
    """The `committees` layer: current committee polygons with matching and overdue counts (the choropleth).

    Counts are taken only for the committees in the tile: from the rollup when it can answer, and overdue
    reports (which change with the clock) from the rows of those committees alone.
    """
    env, now = _envelope(z, x, y), datetime.now(UTC)
    here = select(Area.code).where(*_current_committees_in(z, x, y), scope.visible_committees(user))
    held = aliased(Area)  # the committee row a report points at, of whatever generation: joined by code
    in_tile = Report.committee_id.in_(select(held.id).where(held.code.in_(here)))
    late = (select(held.code.label("code"), func.count().label("n")).select_from(Report)
            .join(held, held.id == Report.committee_id)
            .where(in_tile, scope.visible(user), deadlines.overdue(now), *filt.conditions(now))
            .group_by(held.code).subquery())
    matching = _rollup_counts(user, filt)
    if matching is None:
        matching = (select(held.code.label("code"), func.count().label("n")).select_from(Report)
                    .join(held, held.id == Report.committee_id)
                    .where(in_tile, scope.visible(user), *filt.conditions(now)).group_by(held.code).subquery())
    pixel = WORLD_M / 2**z / 256
    geom = func.ST_AsMVTGeom(func.ST_Simplify(func.ST_Transform(Area.geom, 3857), pixel), env, EXTENT, BUFFER, True)
    rows = (select(geom.label("geom"), Area.code, Area.name,
                   cast(func.coalesce(matching.c.n, 0), Integer).label("open"),
                   cast(func.coalesce(late.c.n, 0), Integer).label("overdue"))
            .select_from(Area).outerjoin(matching, matching.c.code == Area.code)
            .outerjoin(late, late.c.code == Area.code)
            .where(*_current_committees_in(z, x, y), scope.visible_committees(user)))
    return _mvt(rows, "committees")


def scope_bounds(user: User) -> list[list[float]] | None:
    """[[south, west], [north, east]] of the areas the user's map opens on, or None for no boundary."""
    from service.areas.boundaries import current_generation

    box = db.session.scalar(select(func.ST_Extent(Area.geom)).where(
        Area.level == "committee", Area.generation == current_generation("committee"), scope.visible_committees(user)))
    if not box:
        return None
    west, south, east, north = (float(v) for v in box[4:-1].replace(" ", ",").split(","))
    return [[south, west], [north, east]]
