"""Check an uploaded photo cheaply, then decode it under ceilings and derive its stored copies.

The original is kept privately as sent. The public copy is turned upright by its EXIF orientation, shrunk
to at most 2048 px and re-encoded with no metadata at all (no GPS, camera serial or XMP); the thumbnail is
made from it (service/photos/decode.py), both with the faces found blurred (service/photos/faces.py) unless
BLUR_FACES=0. A photo whose face detection failed is kept with no public copy (`pending`) until
`hazard-snap photos redact --pending` finishes it (service/photos/redact.py). What a few bytes may ask of the
server is refused before any pixel is decoded (service.photo_check); the decode and the detection run in a child
under CPU and memory ceilings (service/photos/sandbox.py).
"""
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from flask import current_app, has_app_context
from flask_babel import gettext as _

from service.core.errors import ApiError, Invalid, Unavailable
from service.photos import check as photo_check
from service.photos import sandbox
from service.photos.check import FORMATS, Header, Limits
from service.photos.decode import PUBLIC_MAX, THUMB_MAX, dhash

if TYPE_CHECKING:
    from service.photos.phone import PhoneResize

__all__ = ["FORMATS", "PUBLIC_MAX", "THUMB_MAX", "ProcessedPhoto", "dhash", "inspect", "process_photo",
           "process_photos", "process_uploads"]

# Used when no app is around (benchmarks, the fuzz tests); the app reads the same names from its config.
DEFAULT_CEILINGS = sandbox.Ceilings(cpu_s=4, memory_mb=768, wall_s=15.0, slots=4)


@dataclass(frozen=True)
class ProcessedPhoto:
    sha256: str
    content_type: str
    ext: str
    width: int
    height: int
    original: bytes
    public: bytes | None  # None while its faces wait to be blurred
    thumb: bytes | None
    gps: tuple[float, float] | None
    taken_at: datetime | None
    phash: int
    phone: "PhoneResize | None" = None  # the original the phone shrank, when it did

    @property
    def pending(self) -> bool:
        """Its faces could not be blurred yet, so nothing of it may be published."""
        return self.public is None


def _ceilings() -> sandbox.Ceilings:
    if not has_app_context():
        return DEFAULT_CEILINGS
    cfg = current_app.config
    return sandbox.Ceilings(cpu_s=cfg["DECODE_CPU_S"], memory_mb=cfg["DECODE_MEMORY_MB"],
                            wall_s=cfg["DECODE_WALL_S"], slots=cfg["DECODE_SLOTS"], blur_faces=cfg["BLUR_FACES"],
                            face_cpu_s=cfg["FACE_CPU_S"], face_memory_mb=cfg["FACE_MEMORY_MB"],
                            face_wall_s=cfg["FACE_WALL_S"])


def inspect(data: bytes, max_pixels: int | None = None) -> Header:
    """Read what the headers promise and refuse the absurd, without decoding any pixel."""
    limits = Limits.from_config(current_app.config) if has_app_context() else Limits()
    if max_pixels is not None:
        limits = limits.with_max_pixels(max_pixels)
    return photo_check.inspect(data, limits)


def derive_all(uploads: list[bytes], boxes: list | None = None) -> list[sandbox.Derived]:
    """Decode photos side by side in the sandbox under the app's ceilings; a refusal is a 4xx in Chinese.
    boxes[i]: the regions a person chose to cover in photo i (fractions of the copy), blurred besides its faces."""
    try:
        return sandbox.derive_all(uploads, _ceilings(), boxes)
    except sandbox.DecodeRefused as e:
        raise _refusal(e.code) from e


def process_photos(uploads: list[bytes], headers: list[Header], digests: list[str]) -> list[ProcessedPhoto]:
    """Decode inspected photos side by side under the ceilings and return their stored copies."""
    derived = derive_all(uploads)
    return [ProcessedPhoto(
        sha256=sha, content_type=FORMATS[h.format][0], ext=FORMATS[h.format][1], width=d.width, height=d.height,
        original=data, public=d.public, thumb=d.thumb, gps=h.gps, taken_at=h.taken_at, phash=d.phash,
    ) for data, h, sha, d in zip(uploads, headers, digests, derived, strict=True)]


def process_uploads(uploads: list[bytes]) -> list[ProcessedPhoto]:
    """Inspect every photo first (all cheap refusals before any decode), then decode them."""
    headers = [inspect(data) for data in uploads]
    return process_photos(uploads, headers, [hashlib.sha256(data).hexdigest() for data in uploads])


def process_photo(data: bytes, max_pixels: int | None = None, sha256: str | None = None) -> ProcessedPhoto:
    """Validate one uploaded photo and return its original, public and thumbnail bytes."""
    header = inspect(data, max_pixels)
    return process_photos([data], [header], [sha256 or hashlib.sha256(data).hexdigest()])[0]


def _refusal(code: str) -> ApiError:
    if code == "busy":
        return Unavailable("photo_busy", _("服务器正忙，照片暂时无法处理；您的上报尚未提交，请稍后重试。"))
    if code == "too_complex":
        return Invalid("photo_too_complex",
                        _("处理这张照片所需的计算量或内存超出限制，请压缩照片或另存为普通 JPEG 后重新上传。"))
    return Invalid("photo_corrupt", _("照片文件已损坏或不完整，请重新拍照后上传。"))
