"""Numbers and notes from request fields, for every area that reads them (form text, or a JSON body's values)."""
from collections.abc import Mapping

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from geo import coords
from service.core.errors import Invalid


def number(form: Mapping, name: str, low: float, high: float) -> float | None:
    """Parse an optional finite number within [low, high] or raise a 422 naming the field.

    The service's one wrapper of geo.coords.parse_number for request fields: form text, or a JSON body's
    numbers (service.web.jsonbody refuses NaN and Infinity tokens and numbers that overflow before this)."""
    raw = form.get(name)
    if raw is None or isinstance(raw, str) and not raw.strip():
        return None
    try:
        return coords.parse_number(raw, low, high, field=name)
    except coords.CoordinateError:
        message = _("参数 %(name)s 的取值无效（应在 %(low)s 到 %(high)s 之间），请检查后重试。",
                    name=name, low=low, high=high)
        raise Invalid("bad_" + name, message) from None


MAX_NOTE = 2000  # characters of a note on a move, a decision or a link (the forms' maxlength says the same)
NOTE_REFUSAL = _l("备注必须是不超过 %(n)d 字的文本。", n=MAX_NOTE)  # the API's body schemas say it too


def note(value) -> str:
    """A note as sent: text of at most MAX_NOTE characters ("" when absent), else a 422; never cut short."""
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > MAX_NOTE:
        raise Invalid("bad_note", str(NOTE_REFUSAL))
    return value
