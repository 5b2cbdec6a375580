"""The regions a person draws on a photo to have them blurred (issue 25), checked before anything is derived.

The browser sends them as fractions (0..1) of the published copy, so they do not depend on the size the photo was
shown at: a JSON list of [left, top, right, bottom]. The sandbox turns them into pixels of the upright copy
(service/photos/zygote.py) and blurs them as hard as a face (service/photos/faces.py), with no margin added.
"""
import json
import math

from flask_babel import gettext as _

from service.core.errors import Invalid, Malformed

MAX_BOXES = 20  # regions drawn in one save: a person hides a few plates or faces, not a mosaic
MAX_TOTAL = 60  # regions a photo may carry in all, over every save (each save adds to the ones before)
MIN_SIDE = 0.005  # a side shorter than this share of the photo (10 px of a 2048 px copy) covers nothing
MAX_RAW = 8000  # characters of the JSON text: 20 boxes of four numbers fit many times over
Box = tuple[float, float, float, float]


def parse(raw) -> list[Box]:
    """The boxes of a form field (JSON text) or a JSON body (a list), checked; a 4xx in Chinese otherwise."""
    if isinstance(raw, str):
        if len(raw) > MAX_RAW:
            raise Invalid("too_many_boxes", too_many())
        try:
            raw = json.loads(raw, parse_constant=_no_constant)
        except ValueError:
            raise Malformed("bad_boxes", _("遮挡区域的格式无法识别，请刷新页面后重新框选。")) from None
    if not isinstance(raw, list) or not all(isinstance(b, list) and len(b) == 4 for b in raw):
        raise Malformed("bad_boxes", _("遮挡区域的格式无法识别，请刷新页面后重新框选。"))
    if not raw:
        raise Invalid("no_boxes", _("请先在照片上框选至少一处要遮挡的区域，再保存。"))
    if len(raw) > MAX_BOXES:
        raise Invalid("too_many_boxes", too_many())
    return [_box(b) for b in raw]


def too_many() -> str:
    return _("一次最多遮挡 %(n)d 处，请合并相近的区域后分次保存。", n=MAX_BOXES)


def _box(values: list) -> Box:
    if not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in values):
        raise Malformed("bad_boxes", _("遮挡区域的格式无法识别，请刷新页面后重新框选。"))
    x0, y0, x1, y1 = (float(v) for v in values)
    if not all(0.0 <= v <= 1.0 for v in (x0, y0, x1, y1)):
        raise Invalid("box_out_of_range", _("遮挡区域超出了照片范围，请在照片内重新框选。"))
    if x1 - x0 < MIN_SIDE or y1 - y0 < MIN_SIDE:
        raise Invalid("box_empty", _("有一处遮挡区域太小或为空，请框选出有面积的区域。"))
    return x0, y0, x1, y1


def _no_constant(name: str):
    raise ValueError(name)  # NaN and Infinity are no coordinates
