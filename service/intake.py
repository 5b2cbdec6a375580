"""Take in a new hazard report: validate, locate, assign, store photos and the row together."""
import math
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import FileStorage, MultiDict

from geo import coords

from . import assignment
from .categories import CATEGORIES, RISK_LEVELS
from .db import db
from .errors import ApiError
from .models import Photo, Report, ReportEvent
from .photos import ProcessedPhoto, process_photo
from .storage import key_for

MAX_PHOTOS = 3
MAX_DESCRIPTION = 2000


@dataclass(frozen=True)
class Location:
    lon: float  # WGS-84
    lat: float
    submitted: tuple[float, float]
    crs: str
    source: str


def _number(form: MultiDict, name: str, low: float, high: float) -> float | None:
    raw = (form.get(name) or "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not low <= value <= high:
        message = _("参数 %(name)s 的取值无效（应在 %(low)s 到 %(high)s 之间），请检查后重试。",
                    name=name, low=low, high=high)
        raise ApiError(422, "bad_" + name, message)
    return value


def parse_location(form: MultiDict, photo: ProcessedPhoto | None) -> Location:
    """Pick the device/map coordinates if sent, else the photo's EXIF GPS; convert to WGS-84."""
    crs = (form.get("crs") or "wgs84").strip().lower()
    if crs not in coords.CRS_NAMES:
        raise ApiError(422, "bad_crs", _("坐标系 crs 只能是 wgs84、gcj02 或 bd09。"))
    source = (form.get("location_source") or "device").strip()
    if source not in ("device", "map"):
        raise ApiError(422, "bad_location_source", _("location_source 只能是 device 或 map。"))
    lon, lat = _number(form, "lon", -180, 180), _number(form, "lat", -90, 90)
    if (lon is None) != (lat is None):
        raise ApiError(422, "bad_location", _("经度 lon 和纬度 lat 必须同时提供。"))
    if lon is not None:
        wlon, wlat = coords.to_wgs84(lon, lat, crs)
        return Location(wlon, wlat, (lon, lat), crs, source)
    if photo is not None and photo.gps is not None:
        return Location(photo.gps[0], photo.gps[1], photo.gps, "wgs84", "exif")
    raise ApiError(422, "no_location",
                   _("无法确定隐患位置：请允许浏览器定位、在地图上选点，或上传带有 GPS 信息的照片。"))


def _category(form: MultiDict) -> tuple[str, str | None, str]:
    code = (form.get("category") or "").strip()
    category = CATEGORIES.get(code)
    if category is None:
        raise ApiError(422, "bad_category", _("隐患类别无效，请从列表中选择一个类别。"))
    sub = (form.get("subcategory") or "").strip() or None
    if sub is not None and sub not in dict(category.subtypes):
        raise ApiError(422, "bad_subcategory", _("隐患子类无效，请从列表中选择。"))
    risk = (form.get("risk_level") or category.default_risk).strip()
    if risk not in RISK_LEVELS:
        raise ApiError(422, "bad_risk_level", _("风险等级无效，只能是一般、较大或疑似重大。"))
    return code, sub, risk


def _photos(files: list[FileStorage]) -> list[ProcessedPhoto]:
    files = [f for f in files if f and f.filename is not None]
    if not files:
        raise ApiError(400, "photo_missing", _("请至少拍摄或选择一张隐患照片。"))
    if len(files) > MAX_PHOTOS:
        raise ApiError(422, "too_many_photos", _("每条上报最多 %(n)s 张照片，请删减后重试。", n=MAX_PHOTOS))
    limit = current_app.config["MAX_PHOTO_BYTES"]
    processed = []
    for f in files:
        data = f.read(limit + 1)
        if len(data) > limit:
            raise ApiError(413, "photo_too_large", _("单张照片不能超过 %(mb)s MB，请压缩后重试。", mb=limit // 2**20))
        processed.append(process_photo(data, current_app.config["MAX_PHOTO_PIXELS"]))
    return processed


def existing_report(reporter_id: int | None, client_report_id: str | None) -> Report | None:
    """Return the report a retry with this idempotency key already created."""
    if not client_report_id:
        return None
    return Report.query.filter(
        db.func.coalesce(Report.reporter_id, 0) == (reporter_id or 0),
        Report.client_report_id == client_report_id,
    ).first()


def create_report(form: MultiDict, files: list[FileStorage], reporter_id: int | None = None) -> tuple[Report, bool]:
    """Create a report from a multipart upload; return (report, created)."""
    client_id = (form.get("client_report_id") or "").strip()[:64] or None
    if (found := existing_report(reporter_id, client_id)) is not None:
        return found, False
    code, sub, risk = _category(form)
    description = (form.get("description") or "").strip()
    if len(description) > MAX_DESCRIPTION:
        raise ApiError(422, "description_too_long", _("描述不能超过 %(n)s 字。", n=MAX_DESCRIPTION))
    accuracy = _number(form, "accuracy_m", 0, 100_000)
    photos = _photos(files)
    loc = parse_location(form, photos[0])
    assigned = assignment.assign_point(loc.lon, loc.lat)
    if assigned is None:
        message = _("该位置不在服务范围内（距最近的居村委超过 %(m)s 米），请确认定位或在地图上重新选点。",
                    m=int(assignment.max_distance()))
        raise ApiError(422, "outside_area", message)
    report = Report(
        reporter_id=reporter_id, client_report_id=client_id, category=code, subcategory=sub, risk_level=risk,
        description=description, location=from_shape(Point(loc.lon, loc.lat), srid=4326),
        submitted_lon=loc.submitted[0], submitted_lat=loc.submitted[1], submitted_crs=loc.crs,
        accuracy_m=accuracy, location_source=loc.source, taken_at=photos[0].taken_at,
        committee_id=assigned.committee_id, town_id=assigned.town_id, assignment_method=assigned.method,
        assignment_distance_m=assigned.distance_m, status="submitted",
    )
    try:
        return _store(report, photos), True
    except IntegrityError:
        # A concurrent retry with the same key won the race: answer with its report.
        if (found := existing_report(reporter_id, client_id)) is not None:
            return found, False
        raise


def _store(report: Report, photos: list[ProcessedPhoto]) -> Report:
    """Insert the report and its photos in one transaction; files appear only after the commit."""
    batch = current_app.extensions["photo_storage"].batch()
    try:
        db.session.add(report)
        for p in photos:
            keys = key_for("o", p.sha256, p.ext), key_for("p", p.sha256, "jpg"), key_for("t", p.sha256, "jpg")
            for key, data in zip(keys, (p.original, p.public, p.thumb), strict=True):
                batch.put(key, data)
            report.photos.append(Photo(
                role="before", sha256=p.sha256, original_key=keys[0], public_key=keys[1], thumb_key=keys[2],
                content_type=p.content_type, width=p.width, height=p.height, bytes=len(p.original),
            ))
        db.session.flush()
        db.session.add(ReportEvent(report_id=report.id, from_status=None, to_status="submitted", note="", data={}))
        db.session.commit()
    except BaseException:
        db.session.rollback()
        batch.discard()
        raise
    batch.publish()
    return report
