"""In-memory assignment of points to committee polygons: ground truth for the database and bulk work.

The rule is the database's: the committees whose polygon covers the point (a point on an edge is covered by
both sides); one -> "covers"; several -> the lowest code, "edge"; none -> the nearest polygon within
max_distance_m, "nearest"; otherwise no assignment.

Distances for "nearest" are measured after projecting the candidate polygons to a local tangent plane at the
point (WGS-84 ellipsoid metres per degree at its latitude), as the database's assign_point does since
migration 0021. Within a few hundred metres this is within a few centimetres of the spheroidal geography
distance.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely

from geo.boundaries import Boundary
from geo.coords import metres_per_degree


@dataclass(frozen=True)
class Assignment:
    """The committee a point belongs to and how that was decided."""

    code: str
    method: str  # covers | edge | nearest
    distance_m: float


class Assigner:
    """Assign WGS-84 points to polygons with the covers / edge / nearest rule."""

    def __init__(self, boundaries: Sequence[Boundary] | Sequence[tuple], max_distance_m: float = 200.0):
        """Index the polygons (Boundary objects or (code, geometry) pairs)."""
        pairs = [(b.code, b.geom) if isinstance(b, Boundary) else (b[0], b[1]) for b in boundaries]
        pairs.sort(key=lambda pair: pair[0])
        codes = [code for code, _ in pairs]
        if len(set(codes)) != len(codes):
            raise ValueError("duplicate codes given to Assigner")
        # Sorting by code makes "lowest code" the lowest tree index, so ties resolve with a plain minimum.
        self.codes: list[str] = codes
        self.max_distance_m = float(max_distance_m)
        self._geoms = np.array([geom for _, geom in pairs], dtype=object)
        shapely.prepare(self._geoms)
        self._tree = shapely.STRtree(self._geoms)

    def _covering(self, hits: np.ndarray) -> Assignment | None:
        """Return the assignment for the tree indices covering a point, or None if there are none."""
        if len(hits) == 0:
            return None
        method = "covers" if len(hits) == 1 else "edge"
        return Assignment(self.codes[int(np.min(hits))], method, 0.0)

    def _nearest(self, lon: float, lat: float) -> Assignment | None:
        """Return the nearest polygon within max_distance_m of an uncovered point, or None."""
        mx, my = metres_per_degree(lat)
        # A degree radius at least max_distance_m in every direction; the exact check is done in metres.
        radius_deg = 1.01 * self.max_distance_m / min(mx, my)
        point = shapely.points(lon, lat)
        candidates = np.sort(self._tree.query(point, predicate="dwithin", distance=radius_deg))
        if len(candidates) == 0:
            return None
        origin, scale = np.array([lon, lat]), np.array([mx, my])
        local = shapely.transform(self._geoms[candidates], lambda c: (c - origin) * scale)
        distances = shapely.distance(local, shapely.points(0.0, 0.0))
        best = int(np.argmin(distances))  # first minimum = lowest code on ties
        if not distances[best] <= self.max_distance_m:
            return None
        return Assignment(self.codes[int(candidates[best])], "nearest", float(distances[best]))

    def assign(self, lon: float, lat: float) -> Assignment | None:
        """Return the assignment of one WGS-84 point, or None if it is too far from every polygon."""
        if not (math.isfinite(lon) and math.isfinite(lat)):
            return None
        hits = self._tree.query(shapely.points(lon, lat), predicate="covered_by")
        return self._covering(hits) or self._nearest(float(lon), float(lat))

    def assign_many(self, lons: Sequence[float], lats: Sequence[float]) -> list[Assignment | None]:
        """Return assign() for each point, using one vectorised tree query for the covered ones."""
        lons = np.asarray(lons, dtype=float)
        lats = np.asarray(lats, dtype=float)
        if lons.shape != lats.shape or lons.ndim != 1:
            raise ValueError("lons and lats must be one-dimensional sequences of equal length")
        finite = np.isfinite(lons) & np.isfinite(lats)
        points = shapely.points(np.where(finite, lons, 0.0), np.where(finite, lats, 0.0))
        point_idx, tree_idx = self._tree.query(points, predicate="covered_by")
        keep = finite[point_idx]
        point_idx, tree_idx = point_idx[keep], tree_idx[keep]
        counts = np.bincount(point_idx, minlength=len(lons))
        lowest = np.full(len(lons), len(self.codes), dtype=np.int64)
        np.minimum.at(lowest, point_idx, tree_idx)
        results: list[Assignment | None] = []
        for i in range(len(lons)):
            if counts[i]:
                method = "covers" if counts[i] == 1 else "edge"
                results.append(Assignment(self.codes[lowest[i]], method, 0.0))
            elif finite[i]:
                results.append(self._nearest(float(lons[i]), float(lats[i])))
            else:
                results.append(None)
        return results
