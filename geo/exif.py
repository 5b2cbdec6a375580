"""Read GPS position and capture time from photo EXIF, and build EXIF GPS blocks for tests and tools.

Uploaded photos come from all kinds of phones and apps, so every reader here is defensive: malformed,
missing or absurd values yield None, never an exception.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from PIL import Image
from PIL.TiffImagePlugin import IFDRational

GPS_IFD = 0x8825
EXIF_IFD = 0x8769
TAG_GPS_VERSION_ID = 0
TAG_GPS_LATITUDE_REF = 1
TAG_GPS_LATITUDE = 2
TAG_GPS_LONGITUDE_REF = 3
TAG_GPS_LONGITUDE = 4
TAG_GPS_MAP_DATUM = 18
TAG_DATETIME = 0x0132
TAG_DATETIME_ORIGINAL = 0x9003

_EXIF_TIME_FORMAT = "%Y:%m:%d %H:%M:%S"
# Seconds are stored as a rational with this denominator: 1e-4 s of arc is about 3 mm.
_SECONDS_DENOMINATOR = 10000
# Capture years outside this range are absurd; year 1 read as UTC+8 would even fall in 1 BC, which the
# database stores but Python cannot load back.
_MIN_YEAR, _MAX_YEAR = 1900, 2999


def _to_float(value: Any) -> float | None:
    """Return one EXIF numeric value as a finite float, or None."""
    try:
        if isinstance(value, bool):
            return None
        if isinstance(value, IFDRational):
            if not value.denominator:
                return None
            number = value.numerator / value.denominator
        elif isinstance(value, tuple | list) and len(value) == 2:
            numerator, denominator = (_to_float(v) for v in value)
            if numerator is None or not denominator:
                return None
            number = numerator / denominator
        elif isinstance(value, int | float):
            number = float(value)
        else:
            return None
    except (ArithmeticError, TypeError, ValueError):
        # Huge integers overflow float conversion; odd rational internals fail to divide.
        return None
    return number if math.isfinite(number) else None


def _dms_to_degrees(value: Any) -> float | None:
    """Return decimal degrees from EXIF (degrees[, minutes[, seconds]]) values, or None if malformed."""
    parts = [_to_float(v) for v in value] if isinstance(value, tuple | list) else [_to_float(value)]
    if not 1 <= len(parts) <= 3 or any(p is None or p < 0 for p in parts):
        return None
    degrees = sum(p / 60.0**i for i, p in enumerate(parts))
    return degrees if math.isfinite(degrees) else None


def _ref_sign(value: Any, positive: str, negative: str) -> int | None:
    """Return +1/-1 for a hemisphere reference; a missing reference counts as positive."""
    if value is None:
        return 1
    if isinstance(value, bytes):
        value = value.decode("ascii", errors="replace")
    if not isinstance(value, str):
        return None
    ref = value.strip("\x00 ").upper()
    if ref in ("", positive):
        return 1
    if ref == negative:
        return -1
    return None


def gps_from_gps_ifd(gps: Mapping[int, Any]) -> tuple[float, float] | None:
    """Return (lon, lat) in WGS-84 from a Pillow GPS IFD mapping, or None if absent or unusable."""
    if not isinstance(gps, Mapping):
        return None
    lat = _dms_to_degrees(gps.get(TAG_GPS_LATITUDE))
    lon = _dms_to_degrees(gps.get(TAG_GPS_LONGITUDE))
    lat_sign = _ref_sign(gps.get(TAG_GPS_LATITUDE_REF), "N", "S")
    lon_sign = _ref_sign(gps.get(TAG_GPS_LONGITUDE_REF), "E", "W")
    if lat is None or lon is None or lat_sign is None or lon_sign is None:
        return None
    lat, lon = lat * lat_sign, lon * lon_sign
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        return None
    # Many cameras write 0/0 when they had no fix; a report from "Null Island" is never genuine here.
    if lat == 0.0 and lon == 0.0:
        return None
    return lon, lat


def _exif_of(img: Image.Image) -> Image.Exif | None:
    """Return the image's EXIF, or None when it cannot be parsed."""
    try:
        return img.getexif()
    except Exception:  # corrupt EXIF from arbitrary uploads must not break intake
        return None


def _ifd_of(exif: Image.Exif, tag: int) -> Mapping[int, Any]:
    """Return a sub-IFD of exif as a mapping, empty when missing or corrupt."""
    try:
        return exif.get_ifd(tag)
    except Exception:  # same reason as _exif_of
        return {}


def gps_from_image(img: Image.Image) -> tuple[float, float] | None:
    """Return the photo's EXIF GPS position as WGS-84 (lon, lat), or None."""
    exif = _exif_of(img)
    if exif is None:
        return None
    return gps_from_gps_ifd(_ifd_of(exif, GPS_IFD))


def parse_exif_time(value: Any) -> datetime | None:
    """Return a naive datetime from an EXIF "YYYY:MM:DD HH:MM:SS" value, or None."""
    if isinstance(value, bytes):
        value = value.decode("ascii", errors="replace")
    if not isinstance(value, str):
        return None
    text = value.strip("\x00 ")
    # Some apps write ISO dashes in the date part; accept both.
    if len(text) >= 10 and text[4] == "-" and text[7] == "-":
        text = text[:4] + ":" + text[5:7] + ":" + text[8:]
    try:
        taken = datetime.strptime(text[:19], _EXIF_TIME_FORMAT)
    except ValueError:
        return None
    return taken if _MIN_YEAR <= taken.year <= _MAX_YEAR else None


def taken_at_from_image(img: Image.Image) -> datetime | None:
    """Return the capture time (DateTimeOriginal, else DateTime) as a naive datetime, or None."""
    exif = _exif_of(img)
    if exif is None:
        return None
    taken = parse_exif_time(_ifd_of(exif, EXIF_IFD).get(TAG_DATETIME_ORIGINAL))
    if taken is None:
        taken = parse_exif_time(exif.get(TAG_DATETIME))
    return taken


def _degrees_to_dms(value: float) -> tuple[IFDRational, IFDRational, IFDRational]:
    """Return EXIF (degrees, minutes, seconds) rationals for a non-negative angle."""
    total = round(abs(value) * 3600 * _SECONDS_DENOMINATOR)
    degrees, rest = divmod(total, 3600 * _SECONDS_DENOMINATOR)
    minutes, seconds = divmod(rest, 60 * _SECONDS_DENOMINATOR)
    return IFDRational(degrees, 1), IFDRational(minutes, 1), IFDRational(seconds, _SECONDS_DENOMINATOR)


def build_gps_exif(lon: float, lat: float, taken_at: datetime | None = None) -> Image.Exif:
    """Build an Exif block with a WGS-84 GPS position and optional DateTimeOriginal."""
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise ValueError(f"invalid position lon={lon!r} lat={lat!r}")
    exif = Image.Exif()
    gps = exif.get_ifd(GPS_IFD)
    gps[TAG_GPS_VERSION_ID] = b"\x02\x02\x00\x00"
    gps[TAG_GPS_LATITUDE_REF] = "N" if lat >= 0 else "S"
    gps[TAG_GPS_LATITUDE] = _degrees_to_dms(lat)
    gps[TAG_GPS_LONGITUDE_REF] = "E" if lon >= 0 else "W"
    gps[TAG_GPS_LONGITUDE] = _degrees_to_dms(lon)
    gps[TAG_GPS_MAP_DATUM] = "WGS-84"
    if taken_at is not None:
        exif.get_ifd(EXIF_IFD)[TAG_DATETIME_ORIGINAL] = taken_at.strftime(_EXIF_TIME_FORMAT)
    return exif
