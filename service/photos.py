"""Decode an uploaded photo once and derive its stored copies.

The original is kept privately as sent. The public copy is turned upright by its EXIF
orientation, shrunk to at most 2048 px and re-encoded with no metadata at all (no GPS,
camera serial or XMP); the thumbnail is made from it. JPEG decoding uses Pillow's draft
mode so a 12-megapixel photo is decoded at the smallest DCT scale still large enough.
"""
import hashlib
import io
import warnings
from dataclasses import dataclass
from datetime import datetime

import pillow_heif
from flask_babel import gettext as _
from PIL import Image, UnidentifiedImageError

from geo.exif import gps_from_image, taken_at_from_image

from .errors import ApiError

pillow_heif.register_heif_opener()

PUBLIC_MAX = 2048
THUMB_MAX = 320
# MPO is how Pillow names the multi-picture JPEGs many phone cameras write.
FORMATS = {"JPEG": ("image/jpeg", "jpg"), "MPO": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"),
           "WEBP": ("image/webp", "webp"), "HEIF": ("image/heic", "heic")}
OPENERS = ["JPEG", "PNG", "WEBP", "HEIF"]  # Pillow's JPEG opener also yields MPO images
# What decoders raise on broken files; pillow_heif also raises EOFError and RuntimeError (e.g. its size limit).
DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, RuntimeError)
ORIENTATION = 0x0112
TRANSPOSE = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
             5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
             8: Image.Transpose.ROTATE_90}


@dataclass(frozen=True)
class ProcessedPhoto:
    sha256: str
    content_type: str
    ext: str
    width: int
    height: int
    original: bytes
    public: bytes
    thumb: bytes
    gps: tuple[float, float] | None
    taken_at: datetime | None
    phash: int


def process_photo(data: bytes, max_pixels: int, sha256: str | None = None) -> ProcessedPhoto:
    """Validate an uploaded photo and return its original, public and thumbnail bytes."""
    if not data:
        raise ApiError(400, "photo_empty", _("照片内容为空，请重新拍照或选择照片。"))
    img = _open(data)
    fmt = FORMATS.get(img.format or "")
    if fmt is None:
        raise ApiError(415, "photo_type", _("不支持的照片格式，请上传 JPEG、PNG、WebP 或 HEIC 照片。"))
    width, height = img.size
    if width * height > max_pixels:
        raise ApiError(422, "photo_pixels", _("照片像素过多（超过 %(n)s 百万像素），请缩小后重新上传。",
                                              n=max_pixels // 1_000_000))
    gps, taken_at = gps_from_image(img), taken_at_from_image(img)
    try:
        public = _derive(img)
        thumb = public.copy()
        thumb.thumbnail((THUMB_MAX, THUMB_MAX), Image.Resampling.LANCZOS)
        return ProcessedPhoto(
            sha256=sha256 or hashlib.sha256(data).hexdigest(), content_type=fmt[0], ext=fmt[1],
            width=public.width, height=public.height, original=data,
            public=_jpeg(public, 85), thumb=_jpeg(thumb, 80), gps=gps, taken_at=taken_at, phash=dhash(thumb),
        )
    except (*DECODE_ERRORS, Image.DecompressionBombError) as e:
        raise ApiError(422, "photo_corrupt", _("照片文件已损坏或不完整，请重新拍照后上传。")) from e


def _open(data: bytes) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            # Only the plugins of accepted formats: others' parsers (AVIF, SPIDER...) raise odd errors on junk.
            return Image.open(io.BytesIO(data), formats=OPENERS)
    except (UnidentifiedImageError, Image.DecompressionBombWarning, Image.DecompressionBombError) as e:
        if isinstance(e, UnidentifiedImageError):
            raise ApiError(415, "photo_type", _("无法识别的照片文件，请上传 JPEG、PNG、WebP 或 HEIC 照片。")) from e
        raise ApiError(422, "photo_pixels", _("照片像素过多，请缩小后重新上传。")) from e
    except DECODE_ERRORS as e:
        raise ApiError(422, "photo_corrupt", _("照片文件已损坏或不完整，请重新拍照后上传。")) from e


def _derive(img: Image.Image) -> Image.Image:
    """Return the upright, shrunk RGB copy that may be published."""
    if img.format in ("JPEG", "MPO"):
        # Let libjpeg decode at the smallest DCT scale that keeps at least half the public size:
        # a 12 MP phone photo (4000 px) comes out at 2000 px and needs no resampling at all.
        img.draft("RGB", (PUBLIC_MAX // 2, PUBLIC_MAX // 2))
    upright = _upright(img)
    if upright.mode not in ("RGB", "L"):
        upright = upright.convert("RGBA").convert("RGB") if "A" in upright.mode else upright.convert("RGB")
    upright.thumbnail((PUBLIC_MAX, PUBLIC_MAX), Image.Resampling.LANCZOS)
    return upright


def _upright(img: Image.Image) -> Image.Image:
    """Return the image turned by the EXIF orientation. Unlike ImageOps.exif_transpose this never re-encodes
    the EXIF, which raises TypeError on corrupt tags; the published copy carries no metadata anyway."""
    img.load()
    try:
        orientation = img.getexif().get(ORIENTATION)
    except Exception:  # corrupt EXIF must not reject a photo that decodes
        orientation = None
    method = TRANSPOSE.get(orientation) if isinstance(orientation, int) else None
    return img.transpose(method) if method is not None else img  # the caller owns img: no copy needed


def dhash(img: Image.Image) -> int:
    """Return a 64-bit difference hash (signed, to fit a BIGINT) that survives re-encoding and resizing."""
    small = img.convert("L").resize((9, 8), Image.Resampling.BILINEAR)
    px = small.tobytes()
    bits = 0
    for row in range(8):
        for col in range(8):
            bits = (bits << 1) | (px[row * 9 + col] > px[row * 9 + col + 1])
    return bits - (1 << 64) if bits >= 1 << 63 else bits


def hamming(a: int, b: int) -> int:
    """Count differing bits of two 64-bit hashes."""
    return ((a ^ b) & 0xFFFF_FFFF_FFFF_FFFF).bit_count()


def _jpeg(img: Image.Image, quality: int) -> bytes:
    buf = io.BytesIO()
    # A fresh save without exif=/icc_profile=/xmp= writes no metadata.
    img.save(buf, "JPEG", quality=quality, optimize=False, progressive=True)
    return buf.getvalue()
