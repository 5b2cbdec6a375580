"""Mapbox vector tiles straight from PostGIS (ST_AsMVT): reports and committees, inside the caller's scope.

The page stays the same size whatever the number of reports: the browser asks for the tiles of its viewport.

The reports are drawn on a screen grid of CELL_PX cells, at every zoom and for any number of reports: a cell
holding one report shows it (coloured by status, or as overdue), a cell holding more shows one cluster sized by
its count and coloured by the share of it overdue; a click on a cluster zooms in. The grid divides the tile, so
every cell lies in one tile, and each symbol is drawn wholly inside its cell: no two symbols overlap and none is
cut at a tile edge, whatever the zoom or the density (issue 23). Below DETAIL_ZOOM the cells add up the
committees' totals from the trigger-kept rollup (migration 0008) when the filter allows, else the matching rows.
"""
import math
from dataclasses import replace
from datetime import datetime

from sqlalchemy import Integer, String, and_, case, cast, func, literal_column, null, select, union_all
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from geo.coords import wgs84_to_gcj02
from service.accounts import scope
from service.core import clock
from service.core.db import db
from service.core.models import Area, Report, ReportRollup, User
from service.reports import deadlines
from service.reports.filters import ReportFilter
from service.rules.workflow import CLOCK_RUNNING

EXTENT = 4096  # tile coordinate space
BUFFER = 64  # tile units beyond the edge, so outlines straddling tiles join
DETAIL_ZOOM = 15  # from it the cells count the rows (a tile holds a few thousand at 10^6), below it the rollup
CELL_PX = 64  # the symbols' screen grid: it divides the 256 px tile, so a cell never straddles a tile edge
SYMBOL_STROKE_PX = 2  # map.js draws every symbol with this white outline
# (from count, radius px), largest first: a symbol and its stroke fit in its cell (radius + 1 <= CELL_PX / 2)
SIZE_CLASSES = ((10000, 24), (1000, 21), (100, 18), (10, 15), (2, 13), (1, 11))
WORLD_M = 40075016.685578488  # the Web Mercator world's width in metres
MAX_ZOOM = 22
DRAWN_CRS = ("wgs84", "gcj02")  # what a tile may be drawn in: the base map's system (高德 tiles are GCJ-02)
GCJ02_MARGIN_DEG = 0.01  # the GCJ-02 offset stays under ~700 m in China: fetch that much beyond the tile
GCJ02_OFFSET_SLACK_DEG = 0.0005  # ~50 m: how far the offset may change across a tile, with room to spare


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
    """The rows drawn in a tile; on GCJ-02 tiles those the tile's offset (_drawn_in_tile) brings into it."""
    if crs != "gcj02":
        return Report.location.op("&&")(_tile_box(z, x, y, crs))
    (lon, lat), (glon, glat) = _gcj02_offset(z, x, y)
    box = func.ST_Translate(_tile_box(z, x, y, "wgs84"), lon - glon, lat - glat)
    return Report.location.op("&&")(func.ST_Expand(box, GCJ02_OFFSET_SLACK_DEG))


def _drawn(geom, crs: str):
    """A WGS-84 geometry as drawn on the base map, in Web Mercator: shifted to GCJ-02 on 高德 tiles
    (SQL function `to_gcj02`, migration 0017, held to geo.coords by the tests)."""
    return func.ST_Transform(func.to_gcj02(geom) if crs == "gcj02" else geom, 3857)


def _drawn_in_tile(geom, z: int, x: int, y: int, crs: str):
    """As _drawn, for the many rows of one tile: on GCJ-02 tiles shifted by the offset at the tile's centre. The
    offset changes by about 0.5 m a kilometre in Shanghai (under 0.5 px of any tile), and the per-row function
    would cost a second at z15 and 10^6 reports."""
    plain = func.ST_Transform(geom, 3857)
    if crs != "gcj02":
        return plain
    (x0, y0), (x1, y1) = (_mercator(*p) for p in _gcj02_offset(z, x, y))
    return func.ST_Translate(plain, x1 - x0, y1 - y0)


def _gcj02_offset(z: int, x: int, y: int) -> tuple[tuple[float, float], tuple[float, float]]:
    """The tile's centre (lon, lat) and where GCJ-02 draws it."""
    n = 2**z
    lon = (x + 0.5) / n * 360 - 180
    lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * (y + 0.5) / n))))
    return (lon, lat), wgs84_to_gcj02(lon, lat)


def _mercator(lon: float, lat: float) -> tuple[float, float]:
    r = WORLD_M / (2 * math.pi)
    return math.radians(lon) * r, math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) * r


def _mvt(rows, layer: str) -> bytes:
    q = rows.subquery("q")
    tile = db.session.scalar(select(func.ST_AsMVT(literal_column("q"), layer, EXTENT, "geom")).select_from(q))
    return bytes(tile or b"")


def report_tile(user: User, filt: ReportFilter, z: int, x: int, y: int, crs: str = "wgs84") -> bytes:
    """The `reports` and `clusters` layers of one tile: at most one symbol per CELL_PX cell (module docstring).

    Below DETAIL_ZOOM the cells count the committees' totals (at a point inside each committee) when the rollup
    can answer the filter: constant work whatever the number of reports. Otherwise they count the rows."""
    now = clock.now()
    shown = _current_committees_in(z, x, y, crs)
    counts = _committee_counts(user, filt, now, shown) if z < DETAIL_ZOOM else None
    if counts is not None:
        points = (select(_drawn(func.ST_PointOnSurface(Area.geom), crs).label("geom"), counts.c.n.label("n"),
                         counts.c.late.label("late"), cast(null(), String).label("id"),
                         cast(null(), String).label("status"), cast(null(), String).label("category"))
                  .join(counts, counts.c.code == Area.code).where(*shown))
    else:
        points = select(_drawn_in_tile(Report.location, z, x, y, crs).label("geom"), literal_column("1").label("n"),
                        cast(deadlines.overdue(now), Integer).label("late"), cast(Report.id, String).label("id"),
                        Report.status, Report.category).where(scope.visible(user), _in_tile(z, x, y, crs),
                                                              *filt.conditions(now))
    return _cell_tile(points.subquery(), z, x, y)


def radius_px(count) -> ColumnElement:
    """The symbol's radius for a count (SQL): the step of SIZE_CLASSES it reaches."""
    return case(*((count >= low, radius) for low, radius in SIZE_CLASSES))


def _cell_tile(points, z: int, x: int, y: int) -> bytes:
    """Points (drawn, Web Mercator; n reports each, late of them overdue) inside one tile, one symbol per cell:
    at the cell's weighted centroid moved just enough that the symbol and its stroke lie inside the cell. A cell
    holding one report is that report (layer `reports`), any other a cluster (layer `clusters`)."""
    tile_m = WORLD_M / 2**z
    x0, y0 = -WORLD_M / 2 + x * tile_m, WORLD_M / 2 - (y + 1) * tile_m  # the tile's south-west corner
    cell, px_m = tile_m * CELL_PX / 256, tile_m / 256
    gx, gy = func.ST_X(points.c.geom), func.ST_Y(points.c.geom)
    i, j, n = func.floor((gx - x0) / cell), func.floor((gy - y0) / cell), func.sum(points.c.n)
    cells = (select(i.label("i"), j.label("j"), n.label("n"), func.sum(points.c.late).label("late"),
                    (func.sum(gx * points.c.n) / n).label("cx"), (func.sum(gy * points.c.n) / n).label("cy"),
                    func.count().label("k"), func.min(points.c.id).label("id"),
                    func.min(points.c.status).label("status"), func.min(points.c.category).label("category"))
             .where(gx >= x0, gx < x0 + tile_m, gy >= y0, gy < y0 + tile_m, points.c.n > 0)
             .group_by(i, j).subquery())
    radius = radius_px(cells.c.n)
    half = (radius + SYMBOL_STROKE_PX / 2) * px_m

    def inside(centre, index, origin: float):
        return func.least(func.greatest(centre, origin + index * cell + half), origin + (index + 1) * cell - half)

    at = func.ST_SetSRID(func.ST_MakePoint(inside(cells.c.cx, cells.c.i, x0), inside(cells.c.cy, cells.c.j, y0)),
                         3857)
    single = and_(cells.c.k == 1, cells.c.id.is_not(None))
    q = select(func.ST_AsMVTGeom(at, _envelope(z, x, y), EXTENT, 0, False).label("geom"),
               case((single, cells.c.id)).label("id"), case((single, cells.c.status)).label("status"),
               case((single, cells.c.category)).label("category"), cast(cells.c.n, Integer).label("count"),
               cast(cells.c.late, Integer).label("overdue"), radius.label("r")).subquery("q")
    layers = [func.coalesce(func.ST_AsMVT(literal_column("q"), name, EXTENT, "geom").filter(where), b"")
              for name, where in (("reports", q.c.id.is_not(None)), ("clusters", q.c.id.is_(None)))]
    return bytes(db.session.scalar(select(layers[0].op("||")(layers[1])).select_from(q)) or b"")


def _rollup_counts(user: User, filt: ReportFilter, committees=None):
    """Report counts per committee code from the rollup, or None when the scope or filter needs the rows;
    `committees` (a select of area ids) narrows the sum to them (the rollup's key starts with the committee)."""
    where, visible = filt.rollup_conditions(), scope.visible_rollup(user)
    if where is None or visible is None:
        return None
    if committees is not None:
        where = [*where, ReportRollup.committee_id.in_(committees)]
    held = aliased(Area)
    return (select(held.code.label("code"), func.sum(ReportRollup.n).label("n"))
            .join(held, held.id == ReportRollup.committee_id).where(visible, *where)
            .group_by(held.code).having(func.sum(ReportRollup.n) > 0).subquery())


def _committee_counts(user: User, filt: ReportFilter, now: datetime, shown: list[ColumnElement], late: bool = True):
    """(code, n, late) for the committees `shown`: n reports matching the filter, late of them overdue, from the
    rollup (overdue: the running ones less those not yet due, as _late_counts); None when the rollup cannot
    answer. With late=False the overdue count is left out (0) unless the filter asks for overdue only."""
    base = replace(filt, overdue=False)
    if _rollup_counts(user, base) is None:
        return None
    held = aliased(Area)
    ids = select(held.id).where(held.code.in_(select(Area.code).where(*shown)))  # of every generation
    in_shown = Report.committee_id.in_(ids)
    if filt.overdue:
        overdue = _late_counts(user, base, in_shown, now, ids)
        return select(overdue.c.code, overdue.c.n.label("n"), overdue.c.n.label("late")).subquery()
    matching = _rollup_counts(user, filt, ids)
    if not late:
        return select(matching.c.code, matching.c.n, literal_column("0").label("late")).subquery()
    overdue = _late_counts(user, filt, in_shown, now, ids, total=matching)
    return (select(matching.c.code, matching.c.n, func.coalesce(overdue.c.n, 0).label("late"))
            .outerjoin(overdue, overdue.c.code == matching.c.code).subquery())


def _current_committees_in(z: int, x: int, y: int, crs: str = "wgs84") -> list[ColumnElement]:
    from service.areas.boundaries import current_generation

    return [Area.level == "committee", Area.generation == current_generation("committee"),
            Area.geom.op("&&")(_tile_box(z, x, y, crs))]


HEAT_CELL_PX = 16  # heat is finer than the clusters: the canvas blurs it
HEAT_MAX_SPAN_PX = 4096  # a view wider than this at its zoom is refused (no whole-world heat at z18)
HEAT_ROWS_ZOOM = 15  # below it heat weighs the committees' totals; from it, the rows (a few 10^4 in a view at 10^6)


def heat_points(user: User, filt: ReportFilter, bbox: tuple[float, float, float, float], z: int,
                crs: str = "wgs84") -> list[list[float]]:
    """[lat, lon, count] for the heat layer over a view: per committee from the rollup below HEAT_ROWS_ZOOM when
    the filter allows, else per grid cell over the matching rows; in the base map's system (GCJ-02 on 高德)."""
    from service.areas.boundaries import current_generation

    now = clock.now()
    box = func.ST_MakeEnvelope(*bbox, 4326)
    if crs == "gcj02":
        box = func.ST_Expand(box, GCJ02_MARGIN_DEG)
    shown = [Area.level == "committee", Area.geom.op("&&")(box), Area.generation == current_generation("committee")]
    counts = _committee_counts(user, filt, now, shown, late=False) if z < HEAT_ROWS_ZOOM else None
    if counts is not None:
        points = (select(func.ST_PointOnSurface(Area.geom).label("geom"), cast(counts.c.n, Integer).label("count"))
                  .join(counts, counts.c.code == Area.code).where(*shown, counts.c.n > 0).subquery())
        lon, lat = func.ST_X(points.c.geom), func.ST_Y(points.c.geom)
    else:
        # A grid in degrees (the latitude step shrunk by the cosine, as Web Mercator draws it): no per-row transform
        step = 360.0 / 2**z * HEAT_CELL_PX / 256
        rows = (scope.visible(user), Report.location.op("&&")(box), *filt.conditions(now))
        cell = func.ST_SnapToGrid(Report.location, 0, 0, step, step * math.cos(math.radians((bbox[1] + bbox[3]) / 2)))
        points = (select(func.avg(func.ST_X(Report.location)).label("lon"),
                         func.avg(func.ST_Y(Report.location)).label("lat"), func.count().label("count"))
                  .where(*rows).group_by(cell).subquery())
        lon, lat = points.c.lon, points.c.lat
    if crs == "gcj02":
        drawn = func.to_gcj02(func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326))
        lon, lat = func.ST_X(drawn), func.ST_Y(drawn)
    found = db.session.execute(select(lat, lon, points.c.count))
    return [[round(la, 6), round(lo, 6), int(n)] for la, lo, n in found]


def heat_span_ok(bbox: tuple[float, float, float, float], z: int) -> bool:
    """Whether a view is small enough for its zoom (in pixels of that zoom)."""
    return max(bbox[2] - bbox[0], bbox[3] - bbox[1]) / 360.0 * 256 * 2**z <= HEAT_MAX_SPAN_PX


def committee_tile(user: User, filt: ReportFilter, z: int, x: int, y: int, crs: str = "wgs84") -> bytes:
    """The `committees` layer: current committee polygons with matching and overdue counts (the choropleth).

    Counts are taken only for the committees in the tile: from the rollup when it can answer, and overdue
    reports (which change with the clock) from the rows of those committees alone.
    """
    env, now = _envelope(z, x, y), clock.now()
    shown = [*_current_committees_in(z, x, y, crs), scope.visible_committees(user)]  # one generation lookup
    here = select(Area.code).where(*shown)
    held = aliased(Area)  # the committee row a report points at, of whatever generation: joined by code
    ids = select(held.id).where(held.code.in_(here))
    in_tile = Report.committee_id.in_(ids)
    late = _late_counts(user, filt, in_tile, now, ids)
    matching = _rollup_counts(user, filt, ids)
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


def _late_counts(user: User, filt: ReportFilter, in_tile: ColumnElement, now: datetime, committees=None,
                 total=None):
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
    if total is None or replace(running, statuses=filt.statuses) != filt or set(statuses) != set(filt.statuses):
        # `total`: the caller's counts of `filt`, usable only when those are the running reports
        total = _rollup_counts(user, running, committees) if statuses else None
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
