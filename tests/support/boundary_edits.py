"""Realistic edits of the real towns and committees (for tests and bench/boundaries.py), and bulk report seeding.

- split: a new estate splits one committee in two (west keeps the code, east gets a new one);
- seam: a town line moves: a strip of one town along its seam with a neighbour becomes a new committee of
  the neighbour, and the committees and town it came from shrink;
- redraw: every committee outline is redrawn (vertices moved by a smooth field); towns follow.
"""
from dataclasses import replace

import numpy as np
import shapely
from shapely.geometry import box

from geo.boundaries import Boundary, as_multipolygon, to_feature_collection
from geo.coords import metres_per_degree

SEED_SQL = """
    INSERT INTO report (id, category, risk_level, description, location, submitted_lon, submitted_lat,
                        submitted_crs, location_source, committee_id, town_id, assignment_method,
                        assignment_distance_m, assigned_generation, status)
    SELECT gen_random_uuid(), 'combustibles', 'general', '', p.g, ST_X(p.g), ST_Y(p.g), 'wgs84', 'map',
           a.committee_id, a.town_id, a.method, a.distance_m, a.generation,
           CASE WHEN p.i % 2 = 0 THEN 'accepted' ELSE 'verified' END
      FROM (SELECT i, ST_SetSRID(ST_MakePoint(lon, lat), 4326) AS g
              FROM unnest(CAST(:lons AS float8[]), CAST(:lats AS float8[])) WITH ORDINALITY AS u(lon, lat, i)) p
      CROSS JOIN LATERAL assign_point(p.g, 200) a"""


def random_points(committees: list[Boundary], n: int, seed: int, margin: float = 0.004) -> tuple:
    """n uniform points over the committees' bounding box and a margin around it, as (lons, lats)."""
    rng = np.random.default_rng(seed)
    bounds = np.array([b.geom.bounds for b in committees])
    minx, miny = bounds[:, 0].min() - margin, bounds[:, 1].min() - margin
    maxx, maxy = bounds[:, 2].max() + margin, bounds[:, 3].max() + margin
    return rng.uniform(minx, maxx, n), rng.uniform(miny, maxy, n)


def _free_code(committees: list[Boundary], town: str, like: str) -> str:
    used = {b.code for b in committees}
    start = 1 if int(like[-3:]) < 200 else 200
    return next(f"{town}{s:03d}" for s in range(start, start + 199) if f"{town}{s:03d}" not in used)


def split(committees: list[Boundary], code: str) -> tuple[list[Boundary], Boundary]:
    """Split one committee at its centroid's longitude; return the new set and the new eastern committee."""
    old = next(b for b in committees if b.code == code)
    minx, miny, maxx, maxy = old.geom.bounds
    cx = old.geom.centroid.x
    west = as_multipolygon(shapely.intersection(old.geom, box(minx - 1, miny - 1, cx, maxy + 1)))
    east = as_multipolygon(shapely.difference(old.geom, west))
    new = Boundary(_free_code(committees, old.parent_code, code), old.name + "东", "committee", old.kind,
                   old.parent_code, east)
    return [replace(b, geom=west) if b.code == code else b for b in committees] + [new], new


def seam(towns: list[Boundary], committees: list[Boundary], share: float = 0.01,
         pair: tuple[str, str] | None = None) -> tuple[list[Boundary], list[Boundary], Boundary]:
    """Give a strip of town B along its seam with town A to A as a new committee, about `share` of the district."""
    by_code = {t.code: t for t in towns}
    a, b = (by_code[c] for c in pair) if pair else _longest_seam(towns)
    district = shapely.union_all([t.geom for t in towns]).area
    mx, _ = metres_per_degree(a.geom.centroid.y)
    width = 50 / mx  # widen the strip until it holds the share of the district
    while True:
        strip = as_multipolygon(shapely.intersection(b.geom, shapely.buffer(a.geom, width)))
        if strip.area >= share * district or width > 0.05:
            break
        width *= 1.3
    new_towns = [replace(t, geom=as_multipolygon(shapely.union(t.geom, strip))) if t.code == a.code
                 else replace(t, geom=as_multipolygon(shapely.difference(t.geom, strip))) if t.code == b.code else t
                 for t in towns]
    shrunk = []
    for c in committees:
        if c.parent_code == b.code and shapely.intersects(c.geom, strip):
            rest = as_multipolygon(shapely.difference(c.geom, strip))
            if rest.area > 1e-9:  # a committee swallowed whole by the strip goes
                shrunk.append(replace(c, geom=rest))
        else:
            shrunk.append(c)
    residential = next(c.code for c in committees if c.parent_code == a.code)
    new = Boundary(_free_code(committees, a.code, residential), "新划入社区", "committee", "residential", a.code,
                   strip)
    return new_towns, shrunk + [new], new


def _longest_seam(towns: list[Boundary]) -> tuple[Boundary, Boundary]:
    pairs = [(shapely.length(shapely.intersection(x.geom.boundary, y.geom.boundary)), x, y)
             for i, x in enumerate(towns) for y in towns[i + 1:] if shapely.intersects(x.geom, y.geom)]
    _, a, b = max(pairs, key=lambda p: p[0])
    return a, b


def redraw(towns: list[Boundary], committees: list[Boundary], shift_m: float = 30.0) -> tuple[list, list]:
    """Every committee redrawn: each vertex moved by a smooth field of up to shift_m (a vertex shared by two
    committees moves the same way in both, so they still tile); the towns are their committees' union."""
    mx, my = metres_per_degree(31.1)
    k = 2 * np.pi / 0.02  # a wave every ~2 km

    def field(coords: np.ndarray) -> np.ndarray:
        x, y = coords[:, 0], coords[:, 1]
        return np.column_stack([x + shift_m / mx * np.sin(k * y), y + shift_m / my * np.sin(k * x)])

    new_committees = [replace(c, geom=shapely.transform(c.geom, field)) for c in committees]
    new_towns = [replace(t, geom=as_multipolygon(shapely.union_all(
        [c.geom for c in new_committees if c.parent_code == t.code]))) for t in towns]
    return new_towns, new_committees


def write(path, boundaries: list[Boundary]) -> str:
    """Write boundaries as a GeoJSON file and return its path."""
    import json

    path.write_text(json.dumps(to_feature_collection(boundaries)), encoding="utf-8")
    return str(path)
