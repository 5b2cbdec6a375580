"""Bulk triage on the queues: several reports moved at once, each still one checked transition with its own event.

Every report goes through `moves.move` on its own (scope, the transition table, the event, the notifications, its
own commit), so one refused report never stops or undoes the others: the caller gets both lists back.
"""
from flask_babel import gettext as _

from service.core.db import db
from service.core.errors import ApiError, Invalid
from service.core.models import User
from service.reports import moves
from service.rules.workflow import action_label, moves_for

# These moves need more than a note: the report it duplicates, or an after-photo. They are made one at a time.
ONE_AT_A_TIME = frozenset({"duplicate", "rectified", "transferred"})  # each needs its own choice
MAX_BULK = 100  # one page of a queue


def actions(user: User, from_status: str) -> list[tuple[str, str]]:
    """The (to_status, button label) pairs a user may apply in bulk to reports in one status."""
    roles = frozenset({user.role})
    return [(to, str(action_label(from_status, to, roles))) for to in moves_for(roles, from_status)
            if to not in ONE_AT_A_TIME]


def move_many(report_ids: list[str], to_status: str, user: User, note: str = "") -> tuple[list[str], list[tuple]]:
    """Move each report on its own; return the ids moved and the (id, reason) pairs refused."""
    if to_status in ONE_AT_A_TIME:
        raise Invalid("not_in_bulk", _("这一操作需要逐条处理，请在详情页中完成。"))
    if len(report_ids) > MAX_BULK:
        raise Invalid("too_many", _("一次最多处理 %(n)d 条，请分批操作。", n=MAX_BULK))
    done, refused = [], []
    for report_id in dict.fromkeys(report_ids):  # each once, in the order given
        try:
            moves.move(report_id, to_status, user, note)
            done.append(report_id)
        except ApiError as e:
            db.session.rollback()
            refused.append((report_id, str(e.message)))
    return done, refused
