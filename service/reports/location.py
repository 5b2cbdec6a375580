"""Where a report is: parse sent coordinates, fall back to EXIF GPS, and flag doubtful positions."""
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _

from geo import coords
from service.core import clock, localtime
from service.core.errors import Invalid
from service.core.fields import number
from service.photos.check import Header
from service.photos.pipeline import ProcessedPhoto


@dataclass(frozen=True)
class Location:
    lon: float  # WGS-84
    lat: float
    submitted: tuple[float, float]
    crs: str
    source: str


def position(form: Mapping) -> tuple[float, float] | None:
    """The (lon, lat) a form or JSON object sends, as given (any crs), or None when it sends neither."""
    lon, lat = number(form, "lon", *coords.LON_RANGE), number(form, "lat", *coords.LAT_RANGE)
    if (lon is None) != (lat is None):
        raise Invalid("bad_location", _("经度 lon 和纬度 lat 必须同时提供。"))
    return None if lon is None else (lon, lat)


def _word(form: Mapping, name: str, default: str) -> str | None:
    raw = form.get(name)
    return (raw or default).strip() if isinstance(raw, str | None) else None  # a JSON number is no word


def parse_location(form: Mapping, photo: Header | ProcessedPhoto | None) -> Location:
    """Pick the device/map coordinates if sent, else the photo's EXIF GPS; convert to WGS-84."""
    crs = (_word(form, "crs", "wgs84") or "").lower()
    if crs not in coords.CRS_NAMES:
        raise Invalid("bad_crs", _("坐标系 crs 只能是 wgs84、gcj02 或 bd09。"))
    source = _word(form, "location_source", "device")
    if source not in ("device", "map"):
        raise Invalid("bad_location_source", _("location_source 只能是 device 或 map。"))
    sent = position(form)
    if sent is not None:
        wlon, wlat = coords.to_wgs84(*sent, crs)
        return Location(wlon, wlat, sent, crs, source)
    if photo is not None and photo.gps is not None:
        return Location(photo.gps[0], photo.gps[1], photo.gps, "wgs84", "exif")
    raise Invalid("no_location",
                   _("无法确定隐患位置：请允许浏览器定位、在地图上选点，或上传带有 GPS 信息的照片。"))


def taken_at_aware(photo: ProcessedPhoto) -> datetime | None:
    """Return the EXIF capture time, read as local time of the programme's timezone."""
    if photo.taken_at is None:
        return None
    return localtime.attach(photo.taken_at)


def warnings_for(loc: Location, photos: list[ProcessedPhoto], accuracy_m: float | None) -> list[str]:
    """Flag a position or photo a supervisor should double-check."""
    cfg = current_app.config
    found = []
    gps = next((p.gps for p in photos if p.gps), None)
    if gps and loc.source != "exif" and coords.distance_m(gps[0], gps[1], loc.lon, loc.lat) > cfg["EXIF_FAR_M"]:
        found.append("exif_far_from_device")
    taken = [t for t in map(taken_at_aware, photos) if t is not None]
    if taken and min(taken) < clock.now() - timedelta(hours=cfg["PHOTO_OLD_HOURS"]):
        found.append("photo_old")
    if accuracy_m is not None and accuracy_m > cfg["LOW_ACCURACY_M"]:
        found.append("low_accuracy")
    return found
