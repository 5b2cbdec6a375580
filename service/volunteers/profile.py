"""Edit a volunteer's profile: the volunteer their own skills and availability; staff, within scope, the rest.

The rules are the roster's (service/volunteers/roster.py): the same lengths, lists and availability codes, and no
text a spreadsheet would run as a formula, so an edited profile exports and re-imports unchanged.
"""
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from service.core.db import db
from service.core.errors import Forbidden, Invalid
from service.core.models import User
from service.rules.roles import STAFF
from service.volunteers import queries, registry, roster
from service.volunteers.models import Volunteer

OWN_FIELDS = frozenset({"skills", "availability"})
STAFF_FIELDS = OWN_FIELDS | {"real_name", "team", "tags", "committee", "active"}
BAD_LIST = _l("技能和标签应为文本列表，例如 [\"电工\", \"楼组长\"]。")
BAD_TEXT = _l("姓名不能为空且不超过 50 个字，服务队名称不超过 100 个字。")
BAD_ACTIVE = _l("active 只能是 true 或 false。")
BAD_COMMITTEE = _l("居村委代码不在当前边界中，请填写 12 位统计用区划代码。")


def edit(volunteer: Volunteer, body: dict, editor: User) -> Volunteer:
    """Apply a JSON edit after checking every field (nothing is written when one is bad), committed."""
    unknown = set(body) - STAFF_FIELDS
    if unknown:
        raise Invalid("unknown_field", _("无法修改这些字段：%(f)s。可修改：%(ok)s。",
                                               f="、".join(sorted(unknown)), ok="、".join(sorted(STAFF_FIELDS))))
    mine = OWN_FIELDS if editor.role not in STAFF else STAFF_FIELDS
    if set(body) - mine:
        raise Forbidden("forbidden", _("志愿者本人只能修改技能和可服务时段；其他信息请联系所在居村委修改。"))
    if not body:
        raise Invalid("nothing_to_change", _("请至少填写一项要修改的内容。"))
    changes = {field: CHECKS[field](value, editor) for field, value in body.items()}
    for field, value in changes.items():
        setattr(volunteer, "committee_code" if field == "committee" else field, value)
    db.session.commit()
    return volunteer


def _items(value, editor) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Invalid("bad_list", str(BAD_LIST))
    items = list(dict.fromkeys(v.strip() for v in value if v.strip()))
    if len(items) > roster.MAX_ITEMS or any(len(i) > roster.MAX_ITEM_CHARS for i in items):
        raise Invalid("bad_list", _("每项不超过 30 个字、最多 20 项。"))
    _no_formula(*items)
    return items


def bad_availability() -> str:
    choices = "、".join(f"{c}（{t}）" for c, t in registry.AVAILABILITY.items())
    return _("可服务时段只能是：%(ok)s。", ok=choices)


def _availability(value, editor) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v in roster.AVAILABILITY_CODES for v in value):
        raise Invalid("bad_availability", bad_availability())
    codes = {roster.AVAILABILITY_CODES[v] for v in value}
    return [c for c in registry.AVAILABILITY if c in codes]


def _text(limit: int, required: bool):
    def check(value, editor) -> str | None:
        if value is None and not required:
            return None
        if not isinstance(value, str) or len(value.strip()) > limit or (required and not value.strip()):
            raise Invalid("bad_text", str(BAD_TEXT))
        _no_formula(value.strip())
        return value.strip() or None
    return check


def _active(value, editor) -> bool:
    if not isinstance(value, bool):
        raise Invalid("bad_active", str(BAD_ACTIVE))
    return value


def _committee(value, editor) -> str:
    """A committee of the current boundaries that the editor manages."""
    if not isinstance(value, str) or value not in registry.current_committees():
        raise Invalid("bad_committee", str(BAD_COMMITTEE))
    if editor.role == "committee_staff" and value != editor.area.code or editor.role == "town_supervisor" and \
            value not in db.session.scalars(queries.town_committee_codes(editor.area.code)).all():
        raise Forbidden("committee_out_of_scope", _("只能把志愿者登记到您管辖范围内的居村委。"))
    return value


def _no_formula(*texts: str) -> None:
    if any(t[:1] in roster.FORMULA_STARTS for t in texts):
        raise Invalid("formula_text", _("内容不能以 =、+、-、@ 开头，请删除开头的符号。"))


CHECKS = {"skills": _items, "tags": _items, "availability": _availability, "active": _active,
          "committee": _committee, "real_name": _text(roster.MAX_NAME_CHARS, True),
          "team": _text(roster.MAX_TEAM_CHARS, False)}
