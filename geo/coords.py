"""Coordinate conversion between WGS-84, GCJ-02 (AMap/Gaode) and BD-09 (Baidu), plus metre helpers.

GCJ-02 is WGS-84 plus an obfuscating offset of a few hundred metres; it has no closed-form inverse, so the
inverse is found by fixed-point iteration until the forward transform of the estimate reproduces the input
(the common one-step inverse errs by up to ~2 m in Minhang). BD-09 is a further polar distortion of GCJ-02;
its published inverse is approximate as well, so it is refined the same way.

Every function accepts Python floats or numpy arrays; the scalar functions return ``(lon, lat)`` float tuples.
"""

from __future__ import annotations

import math
import re

import numpy as np
import shapely

CRS_NAMES = ("wgs84", "gcj02", "bd09")

# Krasovsky 1940 ellipsoid parameters used by the GCJ-02 algorithm.
_GCJ_A = 6378245.0
_GCJ_EE = 0.00669342162296594323
_BD_X_PI = math.pi * 3000.0 / 180.0

# WGS-84 ellipsoid, for local metre scales.
_WGS_A = 6378137.0
_WGS_E2 = 0.00669437999014
_EARTH_MEAN_RADIUS_M = 6371008.8

# Stop iterating once the forward image of the estimate is this close to the input (degrees, ~1e-6 m).
_INVERSE_TOLERANCE_DEG = 1e-11
_INVERSE_MAX_ITERATIONS = 30

LON_RANGE = (-180.0, 180.0)
LAT_RANGE = (-90.0, 90.0)
# A plain decimal number, as a form or a CSV cell carries one. float() alone would also take "nan", "inf",
# "1_000" and full-width digits, none of which a phone or a spreadsheet sends as a coordinate.
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,4})?")
_MAX_NUMBER_CHARS = 64


def out_of_china(lon, lat) -> bool | np.ndarray:
    """Return True where a point lies outside the rectangle in which GCJ-02 applies an offset."""
    # Scalars give a bool, arrays a boolean array, so the vectorised transforms can mask with it.
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    outside = (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)
    return bool(outside) if outside.ndim == 0 else outside


def _gcj_delta(lon, lat):
    """Return the GCJ-02 offset (dlon, dlat) in degrees for WGS-84 input, zero outside China."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    x = lon - 105.0
    y = lat - 35.0
    sqrt_abs_x = np.sqrt(np.abs(x))
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt_abs_x + common
    dlat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt_abs_x + common
    dlon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    rad_lat = lat / 180.0 * np.pi
    magic = 1.0 - _GCJ_EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_GCJ_A * (1.0 - _GCJ_EE)) / (magic * sqrt_magic) * np.pi)
    dlon = (dlon * 180.0) / (_GCJ_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    outside = out_of_china(lon, lat)
    return np.where(outside, 0.0, dlon), np.where(outside, 0.0, dlat)


def _wgs_to_gcj_arrays(lon, lat):
    """Apply the forward GCJ-02 transform to arrays."""
    dlon, dlat = _gcj_delta(lon, lat)
    return np.asarray(lon, dtype=float) + dlon, np.asarray(lat, dtype=float) + dlat


def _iterate_inverse(forward, lon, lat, lon0, lat0):
    """Refine estimates (lon0, lat0) until forward(estimate) matches (lon, lat); return the estimates."""
    est_lon, est_lat = np.array(lon0, dtype=float), np.array(lat0, dtype=float)
    for _ in range(_INVERSE_MAX_ITERATIONS):
        fwd_lon, fwd_lat = forward(est_lon, est_lat)
        err_lon, err_lat = fwd_lon - lon, fwd_lat - lat
        # The offset field is smooth and nearly constant over metres, so subtracting the residual is a
        # contraction that gains several digits per step.
        est_lon, est_lat = est_lon - err_lon, est_lat - err_lat
        # NaN residuals compare False, so non-finite input cannot keep the loop going.
        if not np.any(np.maximum(np.abs(err_lon), np.abs(err_lat)) >= _INVERSE_TOLERANCE_DEG):
            break
    return est_lon, est_lat


def _gcj_to_wgs_arrays(lon, lat):
    """Invert GCJ-02 iteratively on arrays; points outside China are returned unchanged."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    dlon, dlat = _gcj_delta(lon, lat)
    est_lon, est_lat = _iterate_inverse(_wgs_to_gcj_arrays, lon, lat, lon - dlon, lat - dlat)
    outside = out_of_china(lon, lat)
    return np.where(outside, lon, est_lon), np.where(outside, lat, est_lat)


def _gcj_to_bd_arrays(lon, lat):
    """Apply the forward BD-09 transform to GCJ-02 arrays."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    z = np.sqrt(lon * lon + lat * lat) + 0.00002 * np.sin(lat * _BD_X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _BD_X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def _bd_to_gcj_arrays(lon, lat):
    """Invert BD-09 on arrays: the published approximation, refined iteratively."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    x, y = lon - 0.0065, lat - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _BD_X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _BD_X_PI)
    return _iterate_inverse(_gcj_to_bd_arrays, lon, lat, z * np.cos(theta), z * np.sin(theta))


def _pair(lon, lat) -> tuple[float, float]:
    """Return a (lon, lat) tuple of Python floats."""
    return float(lon), float(lat)


def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """Convert a WGS-84 point to GCJ-02 (identity outside China)."""
    return _pair(*_wgs_to_gcj_arrays(lon, lat))


def gcj02_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    """Convert a GCJ-02 point to WGS-84 with the iterative inverse (identity outside China)."""
    return _pair(*_gcj_to_wgs_arrays(lon, lat))


def gcj02_to_bd09(lon: float, lat: float) -> tuple[float, float]:
    """Convert a GCJ-02 point to BD-09."""
    return _pair(*_gcj_to_bd_arrays(lon, lat))


def bd09_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """Convert a BD-09 point to GCJ-02."""
    return _pair(*_bd_to_gcj_arrays(lon, lat))


def wgs84_to_bd09(lon: float, lat: float) -> tuple[float, float]:
    """Convert a WGS-84 point to BD-09."""
    return _pair(*_gcj_to_bd_arrays(*_wgs_to_gcj_arrays(lon, lat)))


def bd09_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    """Convert a BD-09 point to WGS-84."""
    return _pair(*_gcj_to_wgs_arrays(*_bd_to_gcj_arrays(lon, lat)))


def _identity(lon, lat):
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


# crs -> (to WGS-84, from WGS-84), each taking and returning coordinate arrays.
_CONVERSIONS = {
    "wgs84": (_identity, _identity),
    "gcj02": (_gcj_to_wgs_arrays, _wgs_to_gcj_arrays),
    "bd09": (lambda lon, lat: _gcj_to_wgs_arrays(*_bd_to_gcj_arrays(lon, lat)),
             lambda lon, lat: _gcj_to_bd_arrays(*_wgs_to_gcj_arrays(lon, lat))),
}


def _conversion(crs: str, to_wgs: bool):
    if crs not in _CONVERSIONS:
        raise ValueError(f"unknown crs {crs!r}; expected one of {', '.join(CRS_NAMES)}")
    return _CONVERSIONS[crs][0 if to_wgs else 1]


def _to_wgs_arrays(lon, lat, crs: str):
    """Convert arrays from crs to WGS-84."""
    return _conversion(crs, True)(lon, lat)


def _from_wgs_arrays(lon, lat, crs: str):
    """Convert arrays from WGS-84 to crs."""
    return _conversion(crs, False)(lon, lat)


def to_wgs84(lon: float, lat: float, crs: str) -> tuple[float, float]:
    """Convert a point in crs ("wgs84", "gcj02" or "bd09") to WGS-84."""
    return _pair(*_to_wgs_arrays(lon, lat, crs))


def from_wgs84(lon: float, lat: float, crs: str) -> tuple[float, float]:
    """Convert a WGS-84 point to crs ("wgs84", "gcj02" or "bd09")."""
    return _pair(*_from_wgs_arrays(lon, lat, crs))


def transform_geometry(geom, crs: str, to_wgs: bool = True):
    """Return geom with every vertex converted from crs to WGS-84 (or from WGS-84 to crs if not to_wgs)."""
    if crs not in CRS_NAMES:
        raise ValueError(f"unknown crs {crs!r}; expected one of {', '.join(CRS_NAMES)}")
    if crs == "wgs84":
        return geom
    convert = _to_wgs_arrays if to_wgs else _from_wgs_arrays

    def convert_coords(coords: np.ndarray) -> np.ndarray:
        """Convert an (N, 2) array of lon/lat rows."""
        lon, lat = convert(coords[:, 0], coords[:, 1], crs)
        return np.column_stack([lon, lat])

    return shapely.transform(geom, convert_coords)


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Return the great-circle (haversine) distance in metres between two WGS-84 points."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lon2 - lon1)
    h = math.sin(dphi / 2.0) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2.0) ** 2
    return 2.0 * _EARTH_MEAN_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def metres_per_degree(lat: float) -> tuple[float, float]:
    """Return the WGS-84 ellipsoid's metres per degree of longitude and of latitude at lat."""
    # Local radii of curvature: prime vertical (east-west) and meridional (north-south). Over a few tens of
    # kilometres this local scale differs from a proper projection by well under 0.5 %.
    phi = math.radians(lat)
    w = 1.0 - _WGS_E2 * math.sin(phi) ** 2
    prime_vertical = _WGS_A / math.sqrt(w)
    meridional = _WGS_A * (1.0 - _WGS_E2) / (w * math.sqrt(w))
    return math.radians(1.0) * prime_vertical * math.cos(phi), math.radians(1.0) * meridional


class CoordinateError(ValueError):
    """A coordinate that is not a finite number within its range; `field` names the offending value."""

    def __init__(self, field: str, raw: object):
        super().__init__(f"{field}: not a finite number within range: {str(raw)[:40]!r}")
        self.field = field


def parse_number(raw: object, low: float, high: float, field: str = "value") -> float:
    """Return raw (a decimal string, an int or a float) as a finite float within [low, high], else raise."""
    if isinstance(raw, str) and len(raw) <= _MAX_NUMBER_CHARS and _DECIMAL.fullmatch(raw.strip()):
        value = float(raw.strip())  # 1e400 overflows to inf and is refused below
    elif isinstance(raw, int | float) and not isinstance(raw, bool):  # True is an int, not a coordinate
        value = float(raw) if abs(raw) < 1e308 else math.inf  # a huge int would overflow float()
    else:
        raise CoordinateError(field, raw)
    if not math.isfinite(value) or not low <= value <= high:
        raise CoordinateError(field, raw)
    return value


def parse_lonlat(lon: object, lat: object) -> tuple[float, float]:
    """Return a (lon, lat) pair parsed by parse_number within the world's ranges, else raise CoordinateError."""
    return parse_number(lon, *LON_RANGE, field="lon"), parse_number(lat, *LAT_RANGE, field="lat")


def parse_bbox(raw: str) -> tuple[float, float, float, float]:
    """Return 'minlon,minlat,maxlon,maxlat' as four floats (min below max), else raise CoordinateError."""
    parts = raw.split(",") if isinstance(raw, str) else []
    if len(parts) != 4:
        raise CoordinateError("bbox", raw)
    west, south = parse_lonlat(parts[0], parts[1])
    east, north = parse_lonlat(parts[2], parts[3])
    if not (west < east and south < north):
        raise CoordinateError("bbox", raw)
    return west, south, east, north
