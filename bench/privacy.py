"""Measure face blurring on a labelled set: recall by face size, false blur on face-free photos, and the cost.

The faces are the astronaut of scikit-image's packaged photos (skimage.data.astronaut, her face box found once on
the clean photo), mirrored at random, pasted into generated corridor scenes (walls, floor, doors, a lamp's
falloff, noise) of 2048x1536 at face heights of 24 to 400 px, turned up to +-30 degrees, in dim light, saved as JPEG
quality 60. Each photo goes through the real sandbox (service/photos/sandbox.py) twice, blurring on and off; a face
counts as blurred when at least MIN_COVER of its box changed between the two copies. Goal: >= 95 % of faces of
40 px and larger blurred.

    .venv/bin/python bench/privacy.py [--per-size 12] [--free 20] [--seed 25]
"""
import argparse
import dataclasses
import io
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter
from skimage import data

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from service.photos import sandbox  # noqa: E402
from service.photos.pipeline import DEFAULT_CEILINGS  # noqa: E402

SIZES = (24, 32, 40, 64, 100, 160, 250, 400)
SCENE = (2048, 1536)
FACE_BOX = (181, 58, 270, 178)  # the astronaut's face in her 512 px photo (CenterFace's box on the clean image)
HEAD = (150, 20, 300, 220)  # the crop pasted: face, hair and some background
MIN_COVER = 0.7
# Both copies are encoded from the same pixels outside the blurred boxes, and JPEG encodes the same pixels the same
# way: any change marks the blur (and the 16 px blocks it touches). A threshold above 0 would miss the blur of
# smooth, dim skin, which changes by few grey levels.
CHANGED = 0


def corridor(rng: random.Random) -> Image.Image:
    """A stairwell or corridor: two walls, a floor in perspective, doors, a ceiling lamp's falloff, sensor noise."""
    w, h = SCENE
    wall = tuple(rng.randint(140, 220) for _ in range(3))
    img = Image.new("RGB", SCENE, wall)
    d = ImageDraw.Draw(img)
    vx, vy = rng.randint(w // 3, 2 * w // 3), rng.randint(h // 3, h // 2)
    floor = tuple(rng.randint(60, 130) for _ in range(3))
    d.polygon([(0, h), (w, h), (vx + 200, vy + 150), (vx - 200, vy + 150)], fill=floor)
    d.polygon([(0, 0), (vx - 200, vy - 150), (vx - 200, vy + 150), (0, h)],
              fill=tuple(max(0, c - 30) for c in wall))
    for _ in range(rng.randint(2, 5)):  # doors, notices, a meter box
        x, y = rng.randint(0, w - 300), rng.randint(vy - 100, h - 500)
        d.rectangle([x, y, x + rng.randint(80, 300), y + rng.randint(150, 500)],
                    fill=tuple(rng.randint(30, 200) for _ in range(3)), outline=(20, 20, 20), width=4)
    for _ in range(rng.randint(3, 8)):  # cables and pipes
        d.line([(rng.randint(0, w), rng.randint(0, h // 3)), (rng.randint(0, w), rng.randint(0, h))],
               fill=tuple(rng.randint(0, 80) for _ in range(3)), width=rng.randint(3, 12))
    arr = np.asarray(img, dtype=np.float32)
    yy, xx = np.mgrid[0:h, 0:w]
    lamp = 1.0 - 0.6 * np.hypot(xx - vx, yy - vy * 0.3) / np.hypot(w, h)
    nprng = np.random.default_rng(rng.randint(0, 2**31))
    arr = arr * lamp[..., None] + nprng.normal(0, 6, arr.shape)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def paste_face(img: Image.Image, size: int, rng: random.Random) -> tuple[int, int, int, int]:
    """Paste the astronaut's head with a face `size` px high, turned and dimmed; return the face's box."""
    head = Image.fromarray(data.astronaut()).crop(HEAD)
    if rng.random() < 0.5:
        head = head.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    scale = size / (FACE_BOX[3] - FACE_BOX[1])
    head = head.resize((max(1, round(head.width * scale)), max(1, round(head.height * scale))), Image.LANCZOS)
    mask = Image.new("L", head.size, 0)
    ImageDraw.Draw(mask).ellipse([0, 0, head.width - 1, head.height - 1], fill=255)
    angle = rng.uniform(-30, 30)
    head, mask = head.rotate(angle, Image.Resampling.BICUBIC, expand=True), mask.rotate(angle, expand=True)
    x, y = rng.randint(0, img.width - head.width), rng.randint(0, img.height - head.height)
    img.paste(head, (x, y), mask.filter(ImageFilter.GaussianBlur(max(1, size // 40))))
    cx, cy = x + head.width / 2, y + head.height / 2  # the face sits near the head crop's middle
    fw, fh = (FACE_BOX[2] - FACE_BOX[0]) * scale, size
    return int(cx - fw / 2), int(cy - fh / 2), int(cx + fw / 2), int(cy + fh / 2)


def dim_jpeg(img: Image.Image, rng: random.Random) -> bytes:
    img = ImageEnhance.Brightness(img).enhance(rng.uniform(0.35, 0.7))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=60)
    return buf.getvalue()


def changed(jpeg_a: bytes, jpeg_b: bytes) -> np.ndarray:
    a = np.asarray(Image.open(io.BytesIO(jpeg_a)).convert("L"), dtype=np.int16)
    b = np.asarray(Image.open(io.BytesIO(jpeg_b)).convert("L"), dtype=np.int16)
    return np.abs(a - b) > CHANGED


def both(photo: bytes, on, off) -> tuple[bytes, bytes, float, float]:
    t0 = time.perf_counter()
    blurred = sandbox.derive_all([photo], on)[0]
    t1 = time.perf_counter()
    plain = sandbox.derive_all([photo], off)[0]
    t2 = time.perf_counter()
    if blurred.public is None:
        raise SystemExit("face detection failed in the sandbox: raise FACE_CPU_S/FACE_WALL_S for the bench")
    return blurred.public, plain.public, t1 - t0, t2 - t1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-size", type=int, default=12)
    parser.add_argument("--free", type=int, default=20, help="face-free photos")
    parser.add_argument("--seed", type=int, default=25)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    on, off = DEFAULT_CEILINGS, dataclasses.replace(DEFAULT_CEILINGS, blur_faces=False)
    sandbox.derive_all([dim_jpeg(corridor(rng), rng)], on)  # start the zygote outside the timings
    t_on, t_off = [], []
    print(f"{'face px':>8} {'faces':>6} {'blurred':>8} {'recall':>7}")
    big = [0, 0]
    for size in SIZES:
        hit = 0
        for _ in range(args.per_size):
            img = corridor(rng)
            box = paste_face(img, size, rng)
            blurred, plain, a, b = both(dim_jpeg(img, rng), on, off)
            t_on.append(a), t_off.append(b)
            x0, y0, x1, y1 = (max(0, v) for v in box)
            hit += changed(blurred, plain)[y0:y1, x0:x1].mean() >= MIN_COVER
        if size >= 40:
            big[0], big[1] = big[0] + hit, big[1] + args.per_size
        print(f"{size:>8} {args.per_size:>6} {hit:>8} {hit / args.per_size:>7.0%}")
    print(f"recall at >= 40 px: {big[0]}/{big[1]} = {big[0] / big[1]:.1%} (goal >= 95%)")
    false_area, false_photos = [], 0
    for _ in range(args.free):
        blurred, plain, a, b = both(dim_jpeg(corridor(rng), rng), on, off)
        t_on.append(a), t_off.append(b)
        area = changed(blurred, plain).mean()
        false_area.append(area)
        false_photos += area > 0
    print(f"face-free photos: {false_photos}/{args.free} with any blur; false blur area mean "
          f"{statistics.mean(false_area):.3%}, max {max(false_area):.3%} of the frame")
    m_on, m_off = statistics.median(t_on), statistics.median(t_off)
    print(f"time per {SCENE[0]} px photo in the sandbox: {m_on * 1000:.0f} ms blurring, {m_off * 1000:.0f} ms without;"
          f" without/with = {m_off / m_on:.2f}x ({len(t_on)} photos, medians)")
    sandbox.shutdown()


if __name__ == "__main__":
    main()
