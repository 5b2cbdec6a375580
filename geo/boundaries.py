"""Administrative boundaries: read and validate GeoJSON, check the topology of a partition, repair geometry.

Codes follow the statistical division pattern: district 6 digits, town 9, committee 12 (town code plus a
three-digit suffix; 001-199 residential committees, 200-399 village committees).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon, mapping, shape
from shapely.validation import explain_validity

from geo.coords import CRS_NAMES, metres_per_degree, transform_geometry

LEVELS = ("district", "town", "committee")
KINDS = ("village", "residential")
CODE_LENGTHS = {"district": 6, "town": 9, "committee": 12}


class BoundaryError(ValueError):
    """Malformed boundary input."""


@dataclass(frozen=True)
class Boundary:
    """One administrative area with its WGS-84 MultiPolygon."""

    code: str
    name: str
    level: str
    kind: str | None
    parent_code: str | None
    geom: MultiPolygon


def kind_from_code(code: str) -> str | None:
    """Return the committee kind implied by a 12-digit code's suffix, or None if outside both ranges."""
    suffix = int(code[-3:])
    if 1 <= suffix <= 199:
        return "residential"
    if 200 <= suffix <= 399:
        return "village"
    return None


def _load(source: Any) -> Any:
    """Return parsed JSON from a path, a file object or an already-parsed dict."""
    if isinstance(source, dict):
        return source
    try:
        if isinstance(source, str | Path):
            with open(source, encoding="utf-8") as handle:
                return json.load(handle)
        if hasattr(source, "read"):
            return json.load(source)
    except (OSError, ValueError) as exc:
        raise BoundaryError(f"cannot read boundaries: {exc}") from exc
    raise BoundaryError(f"unsupported boundary source of type {type(source).__name__}")


def _code(props: dict, label: str) -> str:
    """Return the feature's code as a digit string."""
    code = props.get("code")
    if isinstance(code, int) and not isinstance(code, bool):
        code = str(code)
    if not isinstance(code, str) or not code.isascii() or not code.isdigit():
        raise BoundaryError(f"{label}: code must be a string of digits, got {code!r}")
    return code


def _polygonal(geometry: Any, label: str) -> MultiPolygon:
    """Return the feature geometry as a non-empty MultiPolygon."""
    if not isinstance(geometry, dict):
        raise BoundaryError(f"{label}: missing geometry")
    try:
        geom = shape(geometry)
    except Exception as exc:  # shapely raises assorted errors for malformed coordinate arrays
        raise BoundaryError(f"{label}: malformed geometry: {exc}") from exc
    # The database column is 2-D; heights in some exports would only get in the way.
    geom = shapely.force_2d(geom)
    if isinstance(geom, Polygon):
        geom = MultiPolygon([geom])
    if not isinstance(geom, MultiPolygon):
        raise BoundaryError(f"{label}: geometry must be Polygon or MultiPolygon, got {geom.geom_type}")
    if geom.is_empty:
        raise BoundaryError(f"{label}: empty geometry")
    return geom


def _attributes(props: dict, level: str | None, label: str) -> tuple[str, str, str, str | None, str | None]:
    """Return validated (code, name, level, kind, parent_code) from feature properties."""
    code = _code(props, label)
    label = f"{label} (code {code})"
    name = props.get("name")
    if not isinstance(name, str) or not name.strip():
        raise BoundaryError(f"{label}: name is missing")
    level = level or props.get("level")
    if level not in LEVELS:
        raise BoundaryError(f"{label}: level must be one of {', '.join(LEVELS)}, got {level!r}")
    if len(code) != CODE_LENGTHS[level]:
        raise BoundaryError(f"{label}: a {level} code has {CODE_LENGTHS[level]} digits")
    kind = props.get("kind")
    parent_code = props.get("parent_code")
    if level == "committee":
        kind = kind or kind_from_code(code)
        if kind not in KINDS:
            raise BoundaryError(f"{label}: kind must be village or residential, got {kind!r}")
        parent_code = parent_code or code[:9]
    else:
        kind = None
    if parent_code is not None and (not isinstance(parent_code, str) or not parent_code.isdigit()):
        raise BoundaryError(f"{label}: parent_code must be a string of digits, got {parent_code!r}")
    return code, name.strip(), level, kind, parent_code


def read_boundaries(source: Any, crs: str = "wgs84", level: str | None = None) -> list[Boundary]:
    """Read a GeoJSON FeatureCollection of areas in crs and return them as WGS-84 Boundaries."""
    if crs not in CRS_NAMES:
        raise BoundaryError(f"unknown crs {crs!r}; expected one of {', '.join(CRS_NAMES)}")
    if level is not None and level not in LEVELS:
        raise BoundaryError(f"unknown level {level!r}; expected one of {', '.join(LEVELS)}")
    data = _load(source)
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise BoundaryError("boundaries must be a GeoJSON FeatureCollection")
    features = data.get("features")
    if not isinstance(features, list):
        raise BoundaryError("FeatureCollection has no features list")
    result: list[Boundary] = []
    seen: set[str] = set()
    for index, feature in enumerate(features):
        label = f"feature {index}"
        if not isinstance(feature, dict) or not isinstance(feature.get("properties"), dict):
            raise BoundaryError(f"{label}: not a Feature with properties")
        code, name, lvl, kind, parent = _attributes(feature["properties"], level, label)
        if code in seen:
            raise BoundaryError(f"{label}: duplicate code {code}")
        seen.add(code)
        geom = transform_geometry(_polygonal(feature.get("geometry"), f"{label} (code {code})"), crs)
        result.append(Boundary(code, name, lvl, kind, parent, geom))
    return result


def to_feature_collection(boundaries: list[Boundary]) -> dict:
    """Return Boundaries as a WGS-84 GeoJSON FeatureCollection dict (the inverse of read_boundaries)."""
    features = []
    for b in boundaries:
        props = {"code": b.code, "name": b.name, "level": b.level}
        props.update({k: v for k, v in (("kind", b.kind), ("parent_code", b.parent_code)) if v is not None})
        features.append({"type": "Feature", "properties": props, "geometry": mapping(b.geom)})
    return {"type": "FeatureCollection", "features": features}


@dataclass
class TopologyReport:
    """Problems found in a set of boundaries; areas are in square metres."""

    invalid: list[tuple[str, str]] = field(default_factory=list)
    overlaps: list[tuple[str, str, float]] = field(default_factory=list)
    gaps: list[tuple[str, float]] = field(default_factory=list)
    outside: list[tuple[str, str, float]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Return True when no problem was found."""
        return not (self.invalid or self.overlaps or self.gaps or self.outside)

    def summary(self) -> str:
        """Return a one-line count of each kind of problem."""
        return (
            f"topology {'ok' if self.ok else 'NOT ok'}: {len(self.invalid)} invalid, "
            f"{len(self.overlaps)} overlaps, {len(self.gaps)} gaps, {len(self.outside)} outside parent"
        )

    def lines(self) -> list[str]:
        """Return one human-readable line per problem, followed by the summary line."""
        out = [f"invalid {code}: {reason}" for code, reason in self.invalid]
        out += [f"overlap {a} / {b}: {area:.6g} m2" for a, b, area in self.overlaps]
        out += [f"gap in {parent}: {area:.6g} m2 not covered by its children" for parent, area in self.gaps]
        out += [
            f"outside {child}: {area:.6g} m2 outside parent {parent}" for child, parent, area in self.outside
        ]
        return [*out, self.summary()]


def _metric(geoms: list, lat0: float) -> np.ndarray:
    """Return geometries scaled to local metres around lat0 (a local equirectangular approximation)."""
    # Scaling longitude by the ellipsoid's east-west metres per degree at the mean latitude and latitude by
    # the north-south metres per degree is accurate to well under 1 % over a district of ~30 km, which is
    # plenty for telling real gaps/overlaps from floating-point noise. No projection library needed.
    mx, my = metres_per_degree(lat0)
    return shapely.transform(np.asarray(geoms, dtype=object), lambda c: c * np.array([mx, my]))


def _significant_area(geom, min_area_m2: float) -> float:
    """Return the total area of the polygonal parts of geom that are each at least min_area_m2."""
    # Overlay noise shows up as many separate slivers, each far below a square metre; a real gap or overlap
    # has at least one sizeable piece. Summing only the sizeable pieces keeps long noisy edges quiet.
    areas = shapely.area(shapely.get_parts(as_multipolygon(geom)))
    return float(areas[areas >= min_area_m2].sum())


def _sibling_overlaps(codes: list[str], metric: np.ndarray, min_area_m2: float) -> list[tuple]:
    """Return overlapping pairs among sibling geometries already in metres."""
    tree = shapely.STRtree(metric)
    left, right = tree.query(metric, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    shared = shapely.intersection(metric[left], metric[right])
    found = []
    for a, b, geom in zip(left, right, shared, strict=True):
        area = _significant_area(geom, min_area_m2)
        if area > 0:
            found.append((*sorted((codes[a], codes[b])), area))
    return sorted(found)


def check_topology(
    boundaries: list[Boundary], parents: list[Boundary] | None = None, min_area_m2: float = 1.0,
    neighbours: list[Boundary] | None = None, replaced: list[Boundary] | None = None,
) -> TopologyReport:
    """Report invalid geometries, sibling overlaps and, given parents, gaps and children outside parents.

    For a partial import, `neighbours` are the areas of the same level that stay in force and `replaced`
    the ones the import takes the place of: overlaps with a neighbour and ground the replaced areas covered
    that nothing covers any more are reported across the seam.
    """
    report = TopologyReport()
    if not boundaries:
        return report
    all_geoms = [b.geom for b in boundaries] + [p.geom for p in parents or []]
    lat0 = float(np.mean([g.centroid.y for g in all_geoms]))  # one scale for all: areas stay comparable
    for b in boundaries:
        if not b.geom.is_valid:
            report.invalid.append((b.code, explain_validity(b.geom)))
    # Overlay needs valid input; invalid areas are reported above and measured on their repaired form.
    metric = _metric([shapely.make_valid(b.geom) for b in boundaries], lat0)
    groups: dict[str | None, list[int]] = defaultdict(list)
    for i, b in enumerate(boundaries):
        groups[b.parent_code].append(i)
    for members in groups.values():
        codes = [boundaries[i].code for i in members]
        report.overlaps += _sibling_overlaps(codes, metric[members], min_area_m2)
    if parents:
        _check_parents(report, boundaries, metric, parents, groups, lat0, min_area_m2)
    if neighbours:
        _check_seam(report, boundaries, metric, neighbours, replaced or [], lat0, min_area_m2)
    return report


def _check_seam(report: TopologyReport, boundaries: list[Boundary], metric: np.ndarray, neighbours: list[Boundary],
                replaced: list[Boundary], lat0: float, min_area_m2: float) -> None:
    """Add overlaps with the neighbours in force and the replaced ground left uncovered (a gap at the seam)."""
    near = _metric([shapely.make_valid(n.geom) for n in neighbours], lat0)
    tree = shapely.STRtree(near)
    new_i, old_i = tree.query(metric, predicate="intersects")
    for i, j, geom in zip(new_i, old_i, shapely.intersection(metric[new_i], near[old_i]), strict=True):
        area = _significant_area(geom, min_area_m2)
        if area > 0:
            report.overlaps.append((boundaries[i].code, neighbours[j].code, area))
    if replaced:
        before = shapely.union_all(_metric([shapely.make_valid(r.geom) for r in replaced], lat0))
        touching = near[tree.query(before, predicate="intersects")]
        left = shapely.difference(before, shapely.union_all(np.concatenate([metric, touching])))
        gap = _significant_area(left, min_area_m2)
        if gap > 0:
            report.gaps.append(("seam", gap))


def _check_parents(
    report: TopologyReport,
    boundaries: list[Boundary],
    metric: np.ndarray,
    parents: list[Boundary],
    groups: dict[str | None, list[int]],
    lat0: float,
    min_area_m2: float,
) -> None:
    """Add gaps (parent not covered by children) and children outside their parent to report."""
    # Children whose parent_code names none of the parents are only checked against their siblings.
    parent_metric = _metric([shapely.make_valid(p.geom) for p in parents], lat0)
    for parent, parent_geom in zip(parents, parent_metric, strict=True):
        members = groups.get(parent.code)
        if not members:
            continue
        children = metric[members]
        gap = _significant_area(shapely.difference(parent_geom, shapely.union_all(children)), min_area_m2)
        if gap > 0:
            report.gaps.append((parent.code, gap))
        for i, child_outside in zip(members, shapely.difference(children, parent_geom), strict=True):
            area = _significant_area(child_outside, min_area_m2)
            if area > 0:
                report.outside.append((boundaries[i].code, parent.code, area))
    report.outside.sort()


def as_multipolygon(geom) -> MultiPolygon:
    """Return the polygonal parts of any geometry as one MultiPolygon (possibly empty)."""
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    polygons = [poly for p in parts for poly in shapely.get_parts(p) if not poly.is_empty]
    return MultiPolygon(polygons)


def repair(boundaries: list[Boundary]) -> list[Boundary]:
    """Return boundaries with invalid geometries made valid, keeping only their polygonal parts."""
    repaired = []
    for b in boundaries:
        if b.geom.is_valid:
            repaired.append(b)
            continue
        geom = as_multipolygon(shapely.make_valid(b.geom))
        if geom.is_empty:
            raise BoundaryError(f"code {b.code}: nothing polygonal is left after repair")
        repaired.append(replace(b, geom=geom))
    return repaired
