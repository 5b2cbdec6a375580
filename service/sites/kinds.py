"""Site kinds and risk classes: stable codes, Chinese names first; the nine small kinds as in the categories."""
from flask_babel import lazy_gettext as _l

from service.reports.categories import NINE_SMALL_SUBTYPES

NINE_SMALL_PREFIX = "small_"

SITE_KINDS = {
    "large_complex": _l("大型综合体"),
    "hospital": _l("医院"),
    "school": _l("学校"),
    "elderly_care": _l("养老机构"),
    "high_rise": _l("高层住宅"),
    "old_estate": _l("老旧小区"),
    "rural_self_built": _l("农村自建房"),
} | {NINE_SMALL_PREFIX + code: name for code, name in NINE_SMALL_SUBTYPES}

RISK_CLASSES = {"low": _l("低"), "medium": _l("中"), "high": _l("高")}
