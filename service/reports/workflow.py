"""The rectification workflow: statuses, their labels, and the one transition table (who may move what)."""
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

SUPERVISE = frozenset({"town_supervisor", "district_admin"})
RECTIFY = frozenset({"committee_staff"})

# from-status -> {to-status: roles allowed to make that move}.
# rectified -> rectifying is 复查不合格: the supervisor sends the work back.
TRANSITIONS: dict[str, dict[str, frozenset[str]]] = {
    "submitted": {"accepted": SUPERVISE, "rejected": SUPERVISE, "duplicate": SUPERVISE},
    "accepted": {"dispatched": SUPERVISE},
    "dispatched": {"rectifying": RECTIFY},
    "rectifying": {"rectified": RECTIFY},
    "rectified": {"verified": SUPERVISE, "rectifying": SUPERVISE},
    "rejected": {},
    "duplicate": {},
    "verified": {},
}

CLOSED = frozenset(s for s, targets in TRANSITIONS.items() if not targets)
OPEN = frozenset(TRANSITIONS) - CLOSED
# The deadline clock runs in these statuses; it stops once the work is reported done.
CLOCK_RUNNING = OPEN - {"rectified"}
# OPEN as an SQL list literal: a partial index is only used when the query repeats its predicate literally.
OPEN_SQL = ", ".join(f"'{s}'" for s in sorted(OPEN))
CLOCK_RUNNING_SQL = ", ".join(f"'{s}'" for s in sorted(CLOCK_RUNNING))
# Each move's wording for people (events, notifications, buttons).
ACTION_LABELS = {
    ("submitted", "accepted"): _l("受理"),
    ("submitted", "rejected"): _l("不予受理"),
    ("submitted", "duplicate"): _l("标记为重复"),
    ("accepted", "dispatched"): _l("派单"),
    ("dispatched", "rectifying"): _l("开始整改"),
    ("rectifying", "rectified"): _l("整改完成"),
    ("rectified", "verified"): _l("核查通过"),
    ("rectified", "rectifying"): _l("复查不合格，退回整改"),
}


def allowed(from_status: str, to_status: str) -> bool:
    """Tell whether the table has this move at all."""
    return to_status in TRANSITIONS.get(from_status, {})


def may(role: str, from_status: str, to_status: str) -> bool:
    """Tell whether a role may make this move."""
    return role in TRANSITIONS.get(from_status, {}).get(to_status, frozenset())


def moves_for(role: str, status: str) -> list[str]:
    """Return the statuses a role may move a report to from its current status."""
    return [to for to, roles in TRANSITIONS.get(status, {}).items() if role in roles]
