"""Photos with a face in them, and how sharp a region is: for tests/http/test_faces.py and the browser test."""
import numpy as np
from PIL import Image
from skimage import data

from tests.support.images import encode, scene

FACE = (181, 58, 270, 178)  # the astronaut's face in skimage's 512 px photo
HEAD = (150, 20, 300, 220)
AT = (600, 300)  # where the head is pasted, at twice its size
SCALE = 2


def face_photo() -> tuple[bytes, tuple[int, int, int, int]]:
    """A 1600x1200 busy scene with the astronaut's head pasted in; the JPEG and the face's box in it."""
    img = scene(25, (1600, 1200))
    head = Image.fromarray(data.astronaut()).crop(HEAD)
    img.paste(head.resize((head.width * SCALE, head.height * SCALE)), AT)
    box = tuple(AT[i % 2] + (FACE[i] - HEAD[i % 2]) * SCALE for i in range(4))
    return encode(img, quality=92), box


def sharpness(img: Image.Image, box=None) -> float:
    """The variance of the Laplacian (grey levels): high where there is detail, near 0 where it is blurred."""
    g = np.asarray((img.crop(box) if box else img).convert("L"), dtype=np.float64)
    lap = g[1:-1, :-2] + g[1:-1, 2:] + g[:-2, 1:-1] + g[2:, 1:-1] - 4 * g[1:-1, 1:-1]
    return float(lap.var())
