"""The service-order workflow: kinds, statuses, offer states, and the one transition table (who may do what).

An order's status follows from its offers except where a move sets it (cancel, check-in, check-out): it is
`accepted` once enough volunteers accepted, `dispatched` while offers are open, and back to `submitted` (待派单,
in the dispatcher's queue) when nobody is left to answer (all declined or expired).
"""
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

# code -> (label, the skill the dispatch screen looks for by default; None: any volunteer)
KINDS = {
    "home_check": (_l("家庭消防安全检查"), None),
    "extinguisher": (_l("灭火器或烟感检查"), "消防器材"),
    "building_talk": (_l("楼栋消防宣讲"), "消防宣讲"),
    "combustibles": (_l("协助清理可燃物"), None),
    "other": (_l("其他"), None),
}

STATUS_LABELS = {
    "submitted": _l("待派单"),
    "dispatched": _l("已派单，待接单"),
    "accepted": _l("已接单"),
    "in_service": _l("服务中"),
    "completed": _l("已完成"),
    "cancelled": _l("已取消"),
}
OFFER_LABELS = {
    "offered": _l("待接单"),
    "accepted": _l("已接单"),
    "declined": _l("已谢绝"),
    "expired": _l("超时未接"),
    "withdrawn": _l("已撤回"),
    "checked_in": _l("已签到"),
    "checked_out": _l("已签退"),
}
OPEN_OFFERS = ("offered",)
COMING = ("accepted", "checked_in", "checked_out")  # the volunteers a resident is told about
BUSY = ("accepted", "checked_in")  # holds the volunteer's time window
CLOSED = frozenset({"completed", "cancelled"})

DISPATCH = frozenset({"town_supervisor", "district_admin"})
VOLUNTEER = frozenset({"volunteer"})
RESIDENT = frozenset({"resident"})  # the holder of the tracking link


@dataclass(frozen=True)
class Move:
    roles: frozenset[str]
    order_from: frozenset[str]
    offer_from: frozenset[str] | None = None  # None: a move of the order, not of one volunteer's offer
    offer_to: str | None = None
    label: object = ""


# The one table: every move, who may make it, from which order status and (for a volunteer) offer state.
MOVES: dict[str, Move] = {
    "dispatch": Move(DISPATCH, frozenset({"submitted", "dispatched"}), None, "offered", _l("派单")),
    "accept": Move(VOLUNTEER, frozenset({"dispatched"}), frozenset({"offered"}), "accepted", _l("接单")),
    "decline": Move(VOLUNTEER, frozenset({"dispatched"}), frozenset({"offered"}), "declined", _l("谢绝")),
    "check_in": Move(VOLUNTEER, frozenset({"accepted", "in_service"}), frozenset({"accepted"}), "checked_in",
                     _l("签到")),
    "check_out": Move(VOLUNTEER, frozenset({"in_service"}), frozenset({"checked_in"}), "checked_out", _l("签退")),
    "cancel": Move(DISPATCH, frozenset({"submitted", "dispatched", "accepted", "in_service"}), label=_l("取消")),
    "rate": Move(RESIDENT, frozenset({"completed"}), label=_l("评价")),
}
EVENT_LABELS = {name: m.label for name, m in MOVES.items()} | {
    "submit": _l("点单"), "expire": _l("超时未接单，退回派单人"), "return": _l("无人接单，退回派单人")}


def legal(move: str, status: str) -> bool:
    """Tell whether the table has this move from this order status."""
    return status in MOVES[move].order_from


def may(role: str, move: str) -> bool:
    return role in MOVES[move].roles


def moves_for(role: str, status: str, offer_state: str | None = None) -> list[str]:
    """The moves a role may make now, for the buttons of a page."""
    return [name for name, m in MOVES.items() if role in m.roles and status in m.order_from
            and (m.offer_from is None or offer_state in m.offer_from)]


def sql_list(states) -> str:
    """States as an SQL list literal (partial indexes are only used when a query repeats their predicate)."""
    return ", ".join(f"'{s}'" for s in sorted(states))
