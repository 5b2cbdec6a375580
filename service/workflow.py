"""The rectification workflow: statuses, their Chinese labels and the one transition table."""
from flask_babel import lazy_gettext as _l

STATUS_LABELS = {
    "submitted": _l("待受理"),
    "accepted": _l("已受理"),
    "rejected": _l("不予受理"),
    "duplicate": _l("重复"),
    "dispatched": _l("已派单"),
    "rectifying": _l("整改中"),
    "rectified": _l("已整改"),
    "verified": _l("已核查/结案"),
}

# from-status -> the statuses it may move to. rectified -> rectifying is 复查不合格 (sent back).
TRANSITIONS: dict[str, frozenset[str]] = {
    "submitted": frozenset({"accepted", "rejected", "duplicate"}),
    "accepted": frozenset({"dispatched"}),
    "dispatched": frozenset({"rectifying"}),
    "rectifying": frozenset({"rectified"}),
    "rectified": frozenset({"verified", "rectifying"}),
    "rejected": frozenset(),
    "duplicate": frozenset(),
    "verified": frozenset(),
}

CLOSED = frozenset(s for s, targets in TRANSITIONS.items() if not targets)
OPEN = frozenset(TRANSITIONS) - CLOSED


def allowed(from_status: str, to_status: str) -> bool:
    """Tell whether the table permits this move."""
    return to_status in TRANSITIONS.get(from_status, frozenset())
