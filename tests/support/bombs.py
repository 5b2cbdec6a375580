"""Hostile files, generated: decode bombs that are small on the wire and huge or slow to decode."""
import io
import struct

import pillow_heif
from PIL import Image

EMPTY_AC_SCAN = b"\xff\xda" + struct.pack(">HBBBBBB", 8, 1, 1, 0x00, 1, 63, 0)  # 1 component, AC band 1..63


def progressive_scan_bomb(size=(8000, 8000), scans=2000) -> bytes:
    """A grey progressive JPEG with thousands of empty AC scans: each scan makes libjpeg walk every block."""
    buf = io.BytesIO()
    Image.new("L", size, 128).save(buf, "JPEG", progressive=True, quality=50)
    data = buf.getvalue()
    assert data.endswith(b"\xff\xd9")
    return data[:-2] + EMPTY_AC_SCAN * scans + b"\xff\xd9"


def webp_pixel_bomb(width=16000, height=4000) -> bytes:
    """A lossless WebP of one colour, a few dozen bytes whatever its size: a single-symbol Huffman code
    spends zero bits per pixel, so patching the size in a tiny file's VP8L header makes a valid bomb."""
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 30, 30)).save(buf, "WEBP", lossless=True)
    data = bytearray(buf.getvalue())
    at = data.index(b"VP8L") + 8  # chunk tag, chunk size, then the 0x2f signature
    assert data[at] == 0x2F
    bits = int.from_bytes(data[at + 1:at + 5], "little")
    bits = (bits & ~((1 << 28) - 1)) | (width - 1) | (height - 1) << 14
    data[at + 1:at + 5] = bits.to_bytes(4, "little")
    return bytes(data)


def png_1bit_bomb(width=8000, height=8000) -> bytes:
    """A 1-bit PNG at the pixel limit: 64 MP in about 8 KB."""
    buf = io.BytesIO()
    Image.new("1", (width, height), 0).save(buf, "PNG", optimize=True)
    return buf.getvalue()


def heic_many_images(count=100) -> bytes:
    """A HEIC holding many top-level images."""
    heif = pillow_heif.from_pillow(Image.new("RGB", (64, 64), (10, 20, 30)))
    for i in range(count - 1):
        heif.add_from_pillow(Image.new("RGB", (64, 64), (i % 256, 20, 30)))
    buf = io.BytesIO()
    heif.save(buf, quality=50)
    return buf.getvalue()


def mpo_many_frames(count=40) -> bytes:
    """A multi-picture JPEG (MPO) with many frames (a few hundred would also trip the JPEG scan count)."""
    frames = [Image.new("RGB", (64, 64), (i % 256, 0, 0)) for i in range(count)]
    buf = io.BytesIO()
    frames[0].save(buf, "MPO", save_all=True, append_images=frames[1:])
    return buf.getvalue()
