"""Cheap checks before any pixel is decoded: what the file is, and how much work its headers ask for.

Why these limits (each is a setting of the same name in service.core.config):
- MAX_PHOTO_PIXELS (64 MP): above what any phone camera writes by default (12-50 MP).
- MAX_PIXELS_PER_BYTE (1000, above 2 MP): a camera photo has sensor noise and stores at most a few dozen
  pixels per byte; a bomb stores tens of thousands (a 16000x4000 lossless WebP in 2.5 KB, an 8000x8000
  1-bit PNG in 7.8 KB). Below 2 MP a decode is too small to matter, so flat test pictures and icons pass.
- MAX_JPEG_SCANS (100 SOS markers in the whole file): libjpeg's progressive mode writes about 10 scans per
  picture; an MPO with a few pictures and their EXIF thumbnails stays far below. Each scan of an 8000x8000
  JPEG costs ~10 ms even at the smallest DCT scale, so thousands of empty scans are a CPU bomb.
- MAX_PHOTO_FRAMES (16): phones write one picture, MPO and HEIC add a few (depth, gain maps); only the first
  frame is decoded, but parsing hundreds of frames or images is work for nothing.
"""
import io
import warnings
from dataclasses import dataclass, replace
from datetime import datetime

from flask_babel import gettext as _
from PIL import Image, UnidentifiedImageError

from geo.exif import gps_from_image, taken_at_from_image
from service.core.errors import Invalid, Malformed, UnsupportedType
from service.photos.decode import DECODE_ERRORS

# MPO is how Pillow names the multi-picture JPEGs many phone cameras write.
FORMATS = {"JPEG": ("image/jpeg", "jpg"), "MPO": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"),
           "WEBP": ("image/webp", "webp"), "HEIF": ("image/heic", "heic")}
PIXEL_FLOOR = 2_000_000  # the pixels-per-byte rule applies above this
SOS = b"\xff\xda"


@dataclass(frozen=True)
class Limits:
    max_pixels: int = 64_000_000
    max_pixels_per_byte: int = 1000
    max_jpeg_scans: int = 100
    max_frames: int = 16

    @classmethod
    def from_config(cls, cfg) -> "Limits":
        return cls(cfg["MAX_PHOTO_PIXELS"], cfg["MAX_PIXELS_PER_BYTE"], cfg["MAX_JPEG_SCANS"],
                   cfg["MAX_PHOTO_FRAMES"])

    def with_max_pixels(self, max_pixels: int) -> "Limits":
        return replace(self, max_pixels=max_pixels)


@dataclass(frozen=True)
class Header:
    format: str
    width: int
    height: int
    frames: int
    gps: tuple[float, float] | None
    taken_at: datetime | None


def sniff(data: bytes) -> str | None:
    """Name the Pillow plugin for the file's magic bytes, or None for anything else."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"  # Pillow's JPEG opener also yields MPO images
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[4:8] == b"ftyp":
        return "HEIF"
    return None


def inspect(data: bytes, limits: Limits) -> Header:
    """Return what the headers say about a photo, or raise a 4xx when it is not one or asks too much."""
    if not data:
        raise Malformed("photo_empty", _("照片内容为空，请重新拍照或选择照片。"))
    plugin = sniff(data)
    if plugin is None:
        raise UnsupportedType("photo_type", _("无法识别的照片文件，请上传 JPEG、PNG、WebP 或 HEIC 照片。"))
    if plugin == "JPEG" and data.count(SOS) > limits.max_jpeg_scans:
        raise Invalid("photo_too_complex",
                       _("照片内部结构异常（扫描段过多），无法处理；请用相机重新拍摄，或另存为普通 JPEG 后上传。"))
    img, frames = _open(data, plugin)
    if img.format not in FORMATS:
        raise UnsupportedType("photo_type", _("不支持的照片格式，请上传 JPEG、PNG、WebP 或 HEIC 照片。"))
    _check_size(img, len(data), limits)
    if frames > limits.max_frames:
        raise Invalid("photo_frames",
                       _("照片中包含的画面过多（超过 %(n)s 帧），请只上传一张普通照片。", n=limits.max_frames))
    return Header(img.format, img.width, img.height, frames, gps_from_image(img), taken_at_from_image(img))


def _check_size(img: Image.Image, size: int, limits: Limits) -> None:
    pixels = img.width * img.height
    if pixels > limits.max_pixels:
        raise Invalid("photo_pixels", _("照片像素过多（超过 %(n)s 百万像素），请缩小后重新上传。",
                                              n=limits.max_pixels // 1_000_000))
    if pixels > PIXEL_FLOOR and pixels > size * limits.max_pixels_per_byte:
        raise Invalid("photo_pixels_per_byte",
                       _("照片的像素尺寸与文件大小明显不符，疑似异常文件；请上传相机拍摄的原始照片。"))


def _open(data: bytes, plugin: str) -> tuple[Image.Image, int]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            # Only the plugin the magic bytes name: others' parsers (AVIF, SPIDER...) raise odd errors on junk.
            img = Image.open(io.BytesIO(data), formats=[plugin])
            return img, getattr(img, "n_frames", 1)
    except (UnidentifiedImageError, Image.DecompressionBombWarning, Image.DecompressionBombError) as e:
        if isinstance(e, UnidentifiedImageError):
            raise UnsupportedType("photo_type", _("无法识别的照片文件，请上传 JPEG、PNG、WebP 或 HEIC 照片。")) from e
        raise Invalid("photo_pixels", _("照片像素过多，请缩小后重新上传。")) from e
    except DECODE_ERRORS as e:
        raise Invalid("photo_corrupt", _("照片文件已损坏或不完整，请重新拍照后上传。")) from e

