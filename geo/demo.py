"""A deterministic synthetic demo district shaped roughly like Minhang, generated entirely by this code.

The outline is a star-shaped polygon with seeded smooth wobble; towns are Voronoi cells of seeded points
clipped to it; committees are Voronoi cells of seeded points inside each town clipped to the town. Clipping
adjacent cells against the same parent yields a partition without gaps or overlaps (up to floating-point
noise far below a square metre). Coordinates are not rounded, since rounding would open slivers where a
committee vertex sits on a town edge that does not carry that vertex.
"""

from __future__ import annotations

import math
import random

import shapely
from shapely.geometry import MultiPoint, Point, Polygon

from geo.boundaries import Boundary, as_multipolygon

DISTRICT_CODE = "310112"
DISTRICT_NAME = "闵行区"
TOWNS = [
    ("310112001", "江川路街道"),
    ("310112006", "古美街道"),
    ("310112008", "新虹街道"),
    ("310112009", "浦锦街道"),
    ("310112101", "莘庄镇"),
    ("310112102", "七宝镇"),
    ("310112103", "颛桥镇"),
    ("310112106", "华漕镇"),
    ("310112107", "虹桥镇"),
    ("310112108", "梅陇镇"),
    ("310112110", "吴泾镇"),
    ("310112112", "马桥镇"),
    ("310112114", "浦江镇"),
    ("310112501", "莘庄工业区"),
]
# (residential, village) committees per town: street offices are urban, the towns hold the villages and the
# industrial zone has few of either. Totals are 471 residential and 114 village committees.
COMMITTEE_COUNTS = {
    "310112001": (33, 0),
    "310112006": (28, 0),
    "310112008": (12, 0),
    "310112009": (25, 0),
    "310112101": (62, 6),
    "310112102": (52, 10),
    "310112103": (42, 12),
    "310112106": (25, 14),
    "310112107": (48, 5),
    "310112108": (55, 9),
    "310112110": (22, 10),
    "310112112": (16, 16),
    "310112114": (45, 30),
    "310112501": (6, 2),
}

_CENTER = (121.45, 31.11)
_RADII_DEG = (0.115, 0.125)  # lon, lat half-extents: about 11 x 14 km
_OUTLINE_VERTICES = 72
_NAME_HEADS = "春华锦康平安和兴福明东南西北新金银梅莲桂荷竹松柳泰瑞祥嘉永宁德丰景鸿凤龙恒盛裕昌隆益"
_RESIDENTIAL_TAILS = "苑园城里坊庭居邸馨湾庐府阁轩"
_VILLAGE_TAILS = "泾浜塘桥港宅庄家浦墩"


def _outline(rng: random.Random) -> Polygon:
    """Return a seeded, smoothly wobbling star-shaped district outline."""
    harmonics = [(k, rng.uniform(0.02, 0.07), rng.uniform(0, 2 * math.pi)) for k in range(2, 6)]
    ring = []
    for i in range(_OUTLINE_VERTICES):
        theta = 2 * math.pi * i / _OUTLINE_VERTICES
        # Radius stays within roughly 0.7-1.3 of the ellipse, so the ring never self-intersects.
        wobble = sum(a * math.sin(k * theta + phase) for k, a, phase in harmonics)
        factor = 1 + wobble + rng.uniform(-0.02, 0.02)
        lon = _CENTER[0] + _RADII_DEG[0] * factor * math.cos(theta)
        lat = _CENTER[1] + _RADII_DEG[1] * factor * math.sin(theta)
        ring.append((round(lon, 6), round(lat, 6)))
    return Polygon(ring)


def _sample_points(rng: random.Random, area, count: int) -> list[tuple[float, float]]:
    """Return count seeded points inside area, spread out by dart throwing with a shrinking spacing."""
    min_x, min_y, max_x, max_y = area.bounds
    shapely.prepare(area)
    spacing = 0.7 * math.sqrt(area.area / count)
    points: list[tuple[float, float]] = []
    attempts = 0
    while len(points) < count:
        x, y = rng.uniform(min_x, max_x), rng.uniform(min_y, max_y)
        attempts += 1
        if attempts % 200 == 0:
            spacing *= 0.8  # a crowded or oddly shaped area still gets its points
        if not area.contains(Point(x, y)):
            continue
        if all((x - px) ** 2 + (y - py) ** 2 >= spacing**2 for px, py in points):
            points.append((x, y))
    return points


def _cells(points: list[tuple[float, float]], area) -> list:
    """Return the Voronoi cell of each point clipped to area, in the order of the points."""
    minx, miny, maxx, maxy = area.bounds
    frame = shapely.box(minx - 0.1, miny - 0.1, maxx + 0.1, maxy + 0.1)
    cells = shapely.voronoi_polygons(MultiPoint(points), extend_to=frame, ordered=True)
    return [as_multipolygon(shapely.intersection(cell, area)) for cell in shapely.get_parts(cells)]


def _names(rng: random.Random, tails: str, suffix: str, count: int) -> list[str]:
    """Return count distinct made-up committee names from seeded syllable combinations."""
    combos = [head + tail for head in _NAME_HEADS for tail in tails]
    rng.shuffle(combos)
    return [name + suffix for name in combos[:count]]


def _committees(rng: random.Random, town_code: str, town_geom, names: dict[str, list[str]]) -> list[Boundary]:
    """Return the committees partitioning one town; residential ones nearest the district centre."""
    residential, village = COMMITTEE_COUNTS[town_code]
    points = _sample_points(rng, town_geom, residential + village)
    cells = _cells(points, town_geom)
    # Urban committees cluster towards the centre, villages lie further out.
    order = sorted(range(len(points)), key=lambda i: math.dist(points[i], _CENTER))
    result = []
    for rank, i in enumerate(order):
        if rank < residential:
            code, kind, name = f"{town_code}{rank + 1:03d}", "residential", names["residential"].pop()
        else:
            code, kind, name = f"{town_code}{200 + rank - residential:03d}", "village", names["village"].pop()
        result.append(Boundary(code, name, "committee", kind, town_code, cells[i]))
    return sorted(result, key=lambda b: b.code)


def demo_district(seed: int = 2026) -> list[Boundary]:
    """Return the demo district: 1 district, 14 towns and 585 committees partitioning them."""
    rng = random.Random(seed)
    outline = _outline(rng)
    cells = _cells(_sample_points(rng, outline, len(TOWNS)), outline)
    # Give the towns with the most committees the largest cells, so committee sizes stay comparable.
    by_area = sorted(range(len(cells)), key=lambda i: -cells[i].area)
    by_count = sorted(range(len(TOWNS)), key=lambda i: -sum(COMMITTEE_COUNTS[TOWNS[i][0]]))
    town_geoms = dict(zip(by_count, (cells[i] for i in by_area), strict=True))
    towns = [
        Boundary(code, name, "town", None, DISTRICT_CODE, town_geoms[i])
        for i, (code, name) in enumerate(TOWNS)
    ]
    residential = sum(r for r, _ in COMMITTEE_COUNTS.values())
    village = sum(v for _, v in COMMITTEE_COUNTS.values())
    names = {
        "residential": _names(rng, _RESIDENTIAL_TAILS, "居民委员会", residential),
        "village": _names(rng, _VILLAGE_TAILS, "村村民委员会", village),
    }
    # The name pools are consumed town by town, so names are unique across the whole district.
    committees = [c for town in towns for c in _committees(rng, town.code, town.geom, names)]
    district_geom = as_multipolygon(shapely.union_all([t.geom for t in towns]))
    district = Boundary(DISTRICT_CODE, DISTRICT_NAME, "district", None, None, district_geom)
    return [district, *towns, *committees]
