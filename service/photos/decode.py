"""Decode a photo and derive its public copy, thumbnail and perceptual hash: pure Pillow, no Flask.

This is the expensive part of intake. It runs inside a sandboxed child process (service/photos/sandbox.py) under
CPU-time and memory ceilings, so it must not touch the app, the database or translations. It comes in two steps,
so that the child can answer between them: `decode` (the upright copy and its hash), then `finish` (faces
blurred, service/photos/faces.py, and the published bytes).
"""
import io
from dataclasses import dataclass

import pillow_heif
from PIL import Image

pillow_heif.register_heif_opener()

PUBLIC_MAX = 2048
THUMB_MAX = 320
OPENERS = ["JPEG", "PNG", "WEBP", "HEIF"]  # Pillow's JPEG opener also yields MPO images
# What decoders raise on broken files; pillow_heif also raises EOFError and RuntimeError (e.g. its size limit).
DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, RuntimeError, Image.DecompressionBombError)
ORIENTATION = 0x0112
TRANSPOSE = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
             5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
             8: Image.Transpose.ROTATE_90}


@dataclass(frozen=True)
class Derived:
    width: int
    height: int
    public: bytes | None  # None while its faces wait to be blurred: it may not be published yet
    thumb: bytes | None
    phash: int


def decode(data: bytes) -> tuple[Image.Image, int]:
    """Decode the first frame; return the upright copy that may be published once finished, and its hash."""
    public = _public(Image.open(io.BytesIO(data), formats=OPENERS))
    return public, dhash(_thumb(public))  # hashed before any blur, so a duplicate matches whatever the setting


def finish(public: Image.Image, blur_faces: bool, detect=None) -> tuple[bytes, bytes]:
    """Blur the faces found (when asked) and return the public copy's and the thumbnail's bytes."""
    if blur_faces:
        public = detect(public)
    return _jpeg(public, 85), _jpeg(_thumb(public), 80)


def derive(data: bytes, blur_faces: bool = False, detect=None) -> Derived:
    """Decode and finish in one step: the public copy, its thumbnail and their hash."""
    public, phash = decode(data)
    copy, thumb = finish(public, blur_faces, detect)
    return Derived(public.width, public.height, copy, thumb, phash)


def warm_up() -> None:
    """Load every plugin and codec once, so forked children do not each pay for it."""
    Image.init()
    small = Image.new("RGB", (16, 16), (90, 120, 150))
    for fmt in ("JPEG", "PNG", "WEBP"):  # not HEIF: its encoder would leave threads in the zygote
        buf = io.BytesIO()
        small.save(buf, fmt)
        derive(buf.getvalue())


def _thumb(public: Image.Image) -> Image.Image:
    thumb = public.copy()
    thumb.thumbnail((THUMB_MAX, THUMB_MAX), Image.Resampling.LANCZOS)
    return thumb


def _public(img: Image.Image) -> Image.Image:
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


def _jpeg(img: Image.Image, quality: int) -> bytes:
    buf = io.BytesIO()
    # A fresh save without exif=/icc_profile=/xmp= writes no metadata.
    img.save(buf, "JPEG", quality=quality, optimize=False, progressive=True)
    return buf.getvalue()
