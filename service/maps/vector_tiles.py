"""Mapbox vector tiles straight from PostGIS (ST_AsMVT): reports and committees, inside the caller's scope.

The page stays the same size whatever the number of reports: the browser asks for the tiles of its viewport.
From DETAIL_ZOOM on the reports are single points. Below it they are counted on the server: per committee from
the trigger-kept rollup (migration 0008) when the filter allows, else per grid cell over the matching rows.
"""
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import Integer, String, cast, func, literal_column, select, union_all
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from service.accounts import scope
from service.core.db import db
from service.core.models import Area, Report, ReportRollup, User
from service.reports import deadlines
from service.reports.filters import ReportFilter
from service.rules.workflow import CLOCK_RUNNING

EXTENT = 4096  # tile coordinate space
BUFFER = 64  # pixels beyond the edge, so symbols straddling tiles are not cut
DETAIL_ZOOM = 14
CELL_PX = 48  # grid cell of the aggregated layer, in screen pixels
WORLD_M = 40075016.685578488  # the Web Mercator world's width in metres
MAX_ZOOM = 22
DRAWN_CRS = ("wgs84", "gcj02")  # what a tile may be drawn in: the base map's system (高德 tiles are GCJ-02)
GCJ02_MARGIN_DEG = 0.01  # the GCJ-02 offset stays under ~700 m in China: fetch that much beyond the tile


def valid_tile(z: int, x: int, y: int) -> bool:
    return 0 <= z <= MAX_ZOOM and 0 <= x < 2**z and 0 <= y < 2**z


def _envelope(z: int, x: int, y: int):
    return func.ST_TileEnvelope(z, x, y)


def _tile_box(z: int, x: int, y: int, crs: str, margin_m: float = 0.0):
    """The WGS-84 box whose rows may be drawn in a tile (4326, so the GiST indexes serve the lookup)."""
    box = func.ST_Transform(func.ST_Expand(_envelope(z, x, y), margin_m), 4326)
    if crs == "gcj02":  # the tile is a GCJ-02 square: the WGS-84 rows drawn in it lie up to the offset away
        box = func.ST_Expand(box, GCJ02_MARGIN_DEG)
    return box


def _in_tile(z: int, x: int, y: int, crs: str) -> ColumnElement:
    return Report.location.op("&&")(_tile_box(z, x, y, crs, WORLD_M / 2**z * BUFFER / EXTENT))


def _drawn(geom, crs: str):
    """A WGS-84 geometry as drawn on the base map, in Web Mercator: shifted to GCJ-02 on 高德 tiles
    (SQL function `to_gcj02`, migration 0017, held to geo.coords by the tests)."""
    return func.ST_Transform(func.to_gcj02(geom) if crs == "gcj02" else geom, 3857)


def _mvt(rows, layer: str) -> bytes:
    q = rows.subquery("q")
    tile = db.session.scalar(select(func.ST_AsMVT(literal_column("q"), layer, EXTENT, "geom")).select_from(q))
    return bytes(tile or b"")


def report_tile(user: User, filt: ReportFilter, z: int, x: int, y: int, crs: str = "wgs84") -> bytes:
    """The `reports` layer of one tile: points (id, status, category, overdue) or counted grid cells."""
    env, now = _envelope(z, x, y), datetime.now(UTC)
    where = (scope.visible(user), _in_tile(z, x, y, crs), *filt.conditions(now))
    overdue = deadlines.overdue(now)
    if z >= DETAIL_ZOOM:
        geom = func.ST_AsMVTGeom(_drawn(Report.location, crs), env, EXTENT, BUFFER, True)
        rows = select(geom.label("geom"), cast(Report.id, String).label("id"), Report.status, Report.category,
                      cast(overdue, Integer).label("overdue")).where(*where)
        return _mvt(rows, "reports")
    counts = _rollup_counts(user, filt)
    if counts is not None:
        return _committee_clusters(counts, z, x, y, crs)
    cells = _grid_cells(where, overdue, WORLD_M / 2**z * CELL_PX / 256).subquery()
    rows = select(func.ST_AsMVTGeom(_drawn(cells.c.geom, crs), env, EXTENT, BUFFER, True).label("geom"),
                  cells.c.count, cells.c.overdue)
    return _mvt(rows, "clusters")


def _grid_cells(where, overdue, cell_m: float):
    """The matching reports counted per square grid cell (cell_m in Web Mercator metres), at their centroid."""
    snapped = func.ST_SnapToGrid(func.ST_Transform(Report.location, 3857), cell_m)
    return (select(func.ST_Centroid(func.ST_Collect(Report.location)).label("geom"),
                   func.count().label("count"), func.count().filter(overdue).label("overdue"))
            .where(*where).group_by(snapped))


def _rollup_counts(user: User, filt: ReportFilter):
    """Report counts per committee code from the rollup, or None when the scope or filter needs the rows."""
    where, visible = filt.rollup_conditions(), scope.visible_rollup(user)
    if where is None or visible is None:
        return None
    held = aliased(Area)
    return (select(held.code.label("code"), func.sum(ReportRollup.n).label("n"))
            .join(held, held.id == ReportRollup.committee_id).where(visible, *where)
            .group_by(held.code).having(func.sum(ReportRollup.n) > 0).subquery())


def _current_committees_in(z: int, x: int, y: int, crs: str = "wgs84") -> list[ColumnElement]:
    from service.areas.boundaries import current_generation

    return [Area.level == "committee", Area.generation == current_generation("committee"),
            Area.geom.op("&&")(_tile_box(z, x, y, crs))]


def _committee_points(counts, where):
    """One counted point per committee (inside its polygon): constant work whatever the number of reports."""
    return (select(func.ST_PointOnSurface(Area.geom).label("geom"), cast(counts.c.n, Integer).label("count"),
                   Area.code).join(counts, counts.c.code == Area.code).where(*where))


def _committee_clusters(counts, z: int, x: int, y: int, crs: str) -> bytes:
    points = _committee_points(counts, _current_committees_in(z, x, y, crs)).subquery()
    rows = select(func.ST_AsMVTGeom(_drawn(points.c.geom, crs), _envelope(z, x, y), EXTENT, BUFFER, True)
                  .label("geom"), points.c.count, points.c.code)
    return _mvt(rows, "clusters")


HEAT_CELL_PX = 16  # heat is finer than the clusters: the canvas blurs it
HEAT_MAX_SPAN_PX = 4096  # a view wider than this at its zoom is refused (no whole-world heat at z18)


def heat_points(user: User, filt: ReportFilter, bbox: tuple[float, float, float, float], z: int,
                crs: str = "wgs84") -> list[list[float]]:
    """[lat, lon, count] for the heat layer over a view: per committee from the rollup below DETAIL_ZOOM when
    the filter allows, else per grid cell over the matching rows; in the base map's system (GCJ-02 on 高德)."""
    now = datetime.now(UTC)
    box = func.ST_MakeEnvelope(*bbox, 4326)
    if crs == "gcj02":
        box = func.ST_Expand(box, GCJ02_MARGIN_DEG)
    counts = _rollup_counts(user, filt) if z < DETAIL_ZOOM else None
    if counts is not None:
        from service.areas.boundaries import current_generation

        points = _committee_points(counts, [Area.level == "committee", Area.geom.op("&&")(box),
                                            Area.generation == current_generation("committee")]).subquery()
    else:
        where = (scope.visible(user), Report.location.op("&&")(box), *filt.conditions(now))
        points = _grid_cells(where, deadlines.overdue(now), WORLD_M / 2**z * HEAT_CELL_PX / 256).subquery()
    drawn = func.to_gcj02(points.c.geom) if crs == "gcj02" else points.c.geom
    rows = db.session.execute(select(func.ST_Y(drawn), func.ST_X(drawn), points.c.count))
    return [[round(lat, 6), round(lon, 6), int(n)] for lat, lon, n in rows]


def heat_span_ok(bbox: tuple[float, float, float, float], z: int) -> bool:
    """Whether a view is small enough for its zoom (in pixels of that zoom)."""
    return max(bbox[2] - bbox[0], bbox[3] - bbox[1]) / 360.0 * 256 * 2**z <= HEAT_MAX_SPAN_PX


def committee_tile(user: User, filt: ReportFilter, z: int, x: int, y: int, crs: str = "wgs84") -> bytes:
    """The `committees` layer: current committee polygons with matching and overdue counts (the choropleth).

    Counts are taken only for the committees in the tile: from the rollup when it can answer, and overdue
    reports (which change with the clock) from the rows of those committees alone.
    """
    env, now = _envelope(z, x, y), datetime.now(UTC)
    shown = [*_current_committees_in(z, x, y, crs), scope.visible_committees(user)]  # one generation lookup
    here = select(Area.code).where(*shown)
    held = aliased(Area)  # the committee row a report points at, of whatever generation: joined by code
    in_tile = Report.committee_id.in_(select(held.id).where(held.code.in_(here)))
    late = _late_counts(user, filt, in_tile, now)
    matching = _rollup_counts(user, filt)
    if matching is None:
        matching = (select(held.code.label("code"), func.count().label("n")).select_from(Report)
                    .join(held, held.id == Report.committee_id)
                    .where(in_tile, scope.visible(user), *filt.conditions(now)).group_by(held.code).subquery())
    geom = func.ST_AsMVTGeom(_outline(Area.geom, z, crs), env, EXTENT, BUFFER, True)
    rows = (select(geom.label("geom"), Area.code, Area.name,
                   cast(func.coalesce(matching.c.n, 0), Integer).label("open"),
                   cast(func.coalesce(late.c.n, 0), Integer).label("overdue"))
            .select_from(Area).outerjoin(matching, matching.c.code == Area.code)
            .outerjoin(late, late.c.code == Area.code)
            .where(*shown))
    return _mvt(rows, "committees")


def _late_counts(user: User, filt: ReportFilter, in_tile: ColumnElement, now: datetime):
    """Overdue reports per committee code. As for the list's totals (queries.count_reports): the running reports
    from the rollup minus those not yet due, which are only the last deadline period's intake; the rows themselves
    when the rollup cannot answer the filter."""
    held = aliased(Area)

    def per_code(*where):
        return (select(held.code.label("code"), func.count().label("n")).select_from(Report)
                .join(held, held.id == Report.committee_id).where(in_tile, scope.visible(user), *where)
                .group_by(held.code))

    statuses = tuple(sorted(set(filt.statuses or CLOCK_RUNNING) & CLOCK_RUNNING))
    running = replace(filt, overdue=False, statuses=statuses)
    total = _rollup_counts(user, running) if statuses else None
    if total is None:
        return per_code(deadlines.overdue(now), *filt.conditions(now)).subquery()
    halves = [per_code(*running.conditions(now), half) for half in deadlines.pending(now)]  # each index-only
    waiting = union_all(*halves).subquery()
    waiting = select(waiting.c.code, func.sum(waiting.c.n).label("n")).group_by(waiting.c.code).subquery()
    return (select(total.c.code, (total.c.n - func.coalesce(waiting.c.n, 0)).label("n"))
            .outerjoin(waiting, waiting.c.code == total.c.code).subquery())


def _outline(geom, z: int, crs: str):
    """A boundary simplified to the zoom's pixel (before the per-vertex GCJ-02 shift, so it shifts few vertices)."""
    pixel_deg = 360.0 / 2**z / 256
    return _drawn(func.ST_SimplifyPreserveTopology(geom, pixel_deg), crs)


def town_tile(user: User, z: int, x: int, y: int, crs: str = "wgs84") -> bytes:
    """The `towns` layer: outlines and names of the current towns the user may see, simplified per zoom."""
    from service.areas.boundaries import current_generation

    rows = (select(func.ST_AsMVTGeom(_outline(Area.geom, z, crs), _envelope(z, x, y), EXTENT, BUFFER, True)
                   .label("geom"), Area.code, Area.name)
            .where(Area.level == "town", Area.generation == current_generation("town"),
                   Area.geom.op("&&")(_tile_box(z, x, y, crs)),
                   scope.visible_towns(user)))
    return _mvt(rows, "towns")


def scope_bounds(user: User) -> list[list[float]] | None:
    """[[south, west], [north, east]] of the areas the user's map opens on, or None for no boundary."""
    from service.areas.boundaries import current_generation

    box = db.session.scalar(select(func.ST_Extent(Area.geom)).where(
        Area.level == "committee", Area.generation == current_generation("committee"), scope.visible_committees(user)))
    if not box:
        return None
    west, south, east, north = (float(v) for v in box[4:-1].replace(" ", ",").split(","))
    return [[south, west], [north, east]]
