"""What a new generation of boundaries changes: codes added, removed, changed, and by how much.

A code's geometry counts as unchanged when the new outline stays within `tolerance_m` of the old one
everywhere (Hausdorff distance of the vertices, measured in local metres) and the two differ by no more
than a strip `tolerance_m` wide along the outline. Format conversions and coordinate rounding move
vertices by millimetres; the default 0.05 m is far below what a GPS fix can tell apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely

from geo.boundaries import Boundary
from geo.coords import metres_per_degree

TOLERANCE_M = 0.05
METRES_PER_DEGREE_MAX = 111_700.0  # a degree of latitude or longitude is never longer than this


@dataclass(frozen=True)
class Change:
    """One code whose area differs between generations; area_m2 is the symmetric difference."""

    code: str
    name: str
    kind: str  # added | removed | changed | renamed
    area_m2: float


@dataclass
class Diff:
    """The changes from the areas in force to an imported set, code by code."""

    changes: list[Change] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def of(self, kind: str) -> list[Change]:
        return [c for c in self.changes if c.kind == kind]

    @property
    def moved_area_m2(self) -> float:
        return sum(c.area_m2 for c in self.changes)

    def lines(self) -> list[str]:
        """One line per change, then a summary."""
        out = [f"{c.kind} {c.code} {c.name}: {c.area_m2:.6g} m2" for c in self.changes]
        counts = ", ".join(f"{len(self.of(k))} {k}" for k in ("added", "removed", "changed", "renamed"))
        return [*out, f"{counts}, {len(self.unchanged)} unchanged; {self.moved_area_m2:.6g} m2 changed hands"]


def _to_metres(geoms: list, lat0: float) -> list:
    mx, my = metres_per_degree(lat0)
    return list(shapely.transform(np.asarray(geoms, dtype=object), lambda c: c * np.array([mx, my])))


def same_outline(old, new, lat0: float, tolerance_m: float = TOLERANCE_M) -> tuple[bool, float]:
    """Return whether two WGS-84 geometries are equal within tolerance_m, and their difference in m2."""
    a, b = _to_metres([shapely.make_valid(old), shapely.make_valid(new)], lat0)
    area = float(shapely.area(shapely.symmetric_difference(a, b)))
    if shapely.hausdorff_distance(a, b) > tolerance_m:
        return False, area
    return area <= tolerance_m * max(a.length, b.length), area


def diff(current: list[Boundary], imported: list[Boundary], replaced: set[str] | None = None,
         tolerance_m: float = TOLERANCE_M) -> Diff:
    """Compare the imported areas with those in force; `replaced` limits removals to these codes."""
    old = {b.code: b for b in current}
    if not old and not imported:
        return Diff()
    lat0 = float(np.mean([b.geom.centroid.y for b in (imported or current)]))
    result = Diff()
    kept = [b for b in imported if b.code in old]
    # Vertex by vertex within the tolerance (in degrees, no more than tolerance_m anywhere) settles most
    # codes at once; only the others need the overlay.
    identical = dict(zip((b.code for b in kept), shapely.equals_exact(
        np.array([old[b.code].geom for b in kept], dtype=object), np.array([b.geom for b in kept], dtype=object),
        tolerance=tolerance_m / METRES_PER_DEGREE_MAX), strict=True))
    for b in sorted(imported, key=lambda b: b.code):
        before = old.get(b.code)
        if before is None:
            result.changes.append(Change(b.code, b.name, "added", float(shapely.area(_to_metres([b.geom], lat0)[0]))))
            continue
        same, area = (True, 0.0) if identical[b.code] else same_outline(before.geom, b.geom, lat0, tolerance_m)
        if not same:
            result.changes.append(Change(b.code, b.name, "changed", area))
        elif (before.name, before.kind, before.parent_code) != (b.name, b.kind, b.parent_code):
            result.changes.append(Change(b.code, b.name, "renamed", 0.0))
        else:
            result.unchanged.append(b.code)
    present = {b.code for b in imported}
    for code in sorted(set(old) - present):
        if replaced is None or code in replaced:
            gone = old[code]
            result.changes.append(Change(code, gone.name, "removed",
                                         float(shapely.area(_to_metres([gone.geom], lat0)[0]))))
    return result
