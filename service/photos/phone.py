"""Photos the phone shrank before upload: the facts it read from the original, checked like device fields.

The report page (static/photo_prep.js) reads each photo's EXIF with exifr, shrinks the photo to the public
size and sends that copy with one value per photo, in photo order, in each field of FIELDS. A canvas
re-encode keeps no metadata, so the GPS position and capture time the server would read from a full-size
photo arrive as fields instead, and the original's byte size and SHA-256 (SubtleCrypto) are recorded as
evidence of what the phone shrank. A photo sent unchanged (a HEIC the browser cannot decode, or one that is
already small) has empty values and is read like any full-size upload.
"""
import re
from dataclasses import dataclass, replace
from datetime import datetime

from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from geo.exif import parse_exif_time
from service.core.errors import Invalid
from service.core.fields import number
from service.photos.check import Header
from service.photos.decode import PUBLIC_MAX
from service.photos.pipeline import ProcessedPhoto

FIELDS = ("photo_original_sha256", "photo_original_bytes", "photo_exif_lon", "photo_exif_lat",
          "photo_exif_taken_at", "photo_exif_orientation")
SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class PhoneResize:
    original_sha256: str
    original_bytes: int
    orientation: int | None
    gps: tuple[float, float] | None  # WGS-84 (lon, lat), as EXIF GPS is
    taken_at: datetime | None  # camera-local, as EXIF writes it


def read_facts(form: MultiDict, count: int) -> list[PhoneResize | None]:
    """Parse the phone's facts for each of count photos (None for a photo sent as taken)."""
    lists = {name: form.getlist(name) for name in FIELDS}
    if not any(lists.values()):
        return [None] * count
    if any(len(values) != count for values in lists.values()):
        raise Invalid("bad_photo_facts",
                       _("照片信息与照片数量不符（每张照片各一项），请刷新页面后重新提交。"))
    return [_one(MultiDict({name: values[i].strip() for name, values in lists.items()})) for i in range(count)]


def _one(raw: MultiDict) -> PhoneResize | None:
    sha = raw["photo_original_sha256"].lower()
    if not sha:
        if any(raw.values()):
            raise Invalid("bad_photo_facts", _("缺少原图的 SHA-256，请刷新页面后重新提交。"))
        return None
    if not SHA256.fullmatch(sha):
        raise Invalid("bad_photo_original_sha256",
                       _("原图 SHA-256 应为 64 位十六进制数字，请刷新页面后重新提交。"))
    size = number(raw, "photo_original_bytes", 1, 2**40)
    lon, lat = number(raw, "photo_exif_lon", -180, 180), number(raw, "photo_exif_lat", -90, 90)
    orientation = number(raw, "photo_exif_orientation", 1, 8)
    if size is None or size % 1 or (orientation is not None and orientation % 1):
        raise Invalid("bad_photo_facts", _("原图大小和方向须为整数，请刷新页面后重新提交。"))
    if (lon is None) != (lat is None):
        raise Invalid("bad_photo_exif_gps", _("照片的 GPS 经度和纬度必须同时提供。"))
    taken = parse_exif_time(raw["photo_exif_taken_at"]) if raw["photo_exif_taken_at"] else None
    if raw["photo_exif_taken_at"] and taken is None:
        raise Invalid("bad_photo_exif_taken_at",
                       _("照片拍摄时间应为 YYYY:MM:DD HH:MM:SS 格式，请刷新页面后重新提交。"))
    return PhoneResize(sha, int(size), None if orientation is None else int(orientation),
                       None if lon is None else (lon, lat), taken)


def apply(header: Header, facts: PhoneResize | None) -> Header:
    """Read a shrunk copy's position and time from the phone's facts; it must be at most the public size."""
    if facts is None:
        return header
    if max(header.width, header.height) > PUBLIC_MAX:
        raise Invalid("photo_not_resized",
                       _("标为手机压缩的照片不能超过 %(px)s 像素，请刷新页面后重新提交。", px=PUBLIC_MAX))
    return replace(header, gps=facts.gps, taken_at=facts.taken_at)


def attach(photos: list[ProcessedPhoto], facts: list[PhoneResize | None]) -> list[ProcessedPhoto]:
    return [replace(p, phone=f) for p, f in zip(photos, facts, strict=True)]


def all_sha256(photos: list[ProcessedPhoto]) -> list[str]:
    """The hashes a duplicate may share: of the stored copies and of the originals the phone shrank."""
    return [p.sha256 for p in photos] + [p.phone.original_sha256 for p in photos if p.phone]


def columns(p: ProcessedPhoto) -> dict:
    """The photo row's record of the phone's resize (all None for a full-size upload)."""
    f = p.phone
    return {"phone_original_sha256": f and f.original_sha256, "phone_original_bytes": f and f.original_bytes,
            "phone_orientation": f and f.orientation}
