"""Real Pillow images for tests: JPEGs with EXIF GPS, PNGs, corrupt data."""
import io
import random
from datetime import datetime

from PIL import Image, ImageDraw

from geo.exif import build_gps_exif


def jpeg(size=(640, 480), gps: tuple[float, float] | None = None, taken_at: datetime | None = None,
         orientation: int | None = None, colour=(200, 60, 40)) -> bytes:
    """Encode a JPEG, optionally with GPS, DateTimeOriginal and an Orientation tag."""
    img = Image.new("RGB", size, colour)
    img.paste((20, 20, 220), (0, 0, size[0] // 4, size[1] // 4))  # mark the top-left corner blue
    exif = build_gps_exif(*gps, taken_at=taken_at) if gps else Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90, exif=exif.tobytes())
    return buf.getvalue()


def scene(seed: int, size=(1200, 900)) -> Image.Image:
    """Draw a busy synthetic picture (shapes at seeded places), closer to a photo than a flat colour."""
    rng = random.Random(seed)
    img = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(img)
    for _ in range(40):
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        w, h = rng.randrange(50, size[0] // 2), rng.randrange(50, size[1] // 2)
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape((x, y, x + w, y + h), fill=tuple(rng.randrange(256) for _ in range(3)))
    return img


def encode(img: Image.Image, fmt: str = "JPEG", **save) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **save)
    return buf.getvalue()


def png(size=(300, 200)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGBA", size, (0, 128, 0, 128)).save(buf, "PNG")
    return buf.getvalue()


def camera_photo(seed: int, size=(4000, 3000), gps: tuple[float, float] | None = None,
                 taken_at: datetime | None = None, orientation: int | None = None) -> bytes:
    """A 12 MP phone-like JPEG (~3.5 MB): a busy scene under per-pixel sensor noise, with optional EXIF."""
    noise = Image.merge("RGB", [Image.effect_noise(size, 40) for _ in range(3)])
    exif = build_gps_exif(*gps, taken_at=taken_at) if gps else Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    return encode(Image.blend(scene(seed, size), noise, 0.18), quality=92, exif=exif.tobytes())
