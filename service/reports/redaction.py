"""Staff blur a region of a report's photo by hand, or a district admin takes it back (issue 25).

A manual redaction writes the photo's public copy and thumbnail again from the private original through the
pipeline's own derive (service/photos/redact.py: `rewrite`): its faces blurred as at intake and every region drawn
so far covered too, so a second save adds to the first. The copies get new keys (no cache can serve the old bytes
under the new URL), the replaced files are deleted through the storage interface after the commit, and the original
is never touched. Each save is a `redact` event in the report's history; an un-redact (district admins only) goes
back to the faces-only copy and is an `unredact` event. Neither changes the report's status. A redaction closes
the photo's open request (service/reports/redaction_requests.py).
"""
from flask_babel import gettext as _
from sqlalchemy import select

from service.core.db import db
from service.core.errors import Conflict, Forbidden, Invalid, NotFound
from service.core.models import Photo, Report, ReportEvent, User
from service.photos import boxes as photo_boxes
from service.photos.redact import rewrite
from service.photos.staging import photo_transaction
from service.reports import queries, redaction_requests
from service.rules.roles import STAFF

KINDS = ("redact", "unredact")
UNREDACT = frozenset({"district_admin"})


def manual_boxes(report_id) -> dict[int, list]:
    """Each photo of the report that carries regions covered by hand -> those regions, from its history."""
    state: dict[int, list] = {}
    for data in db.session.scalars(select(ReportEvent.data).where(
            ReportEvent.report_id == report_id, ReportEvent.kind.in_(KINDS)).order_by(ReportEvent.id)):
        state[data["photo_id"]] = data.get("all_boxes", [])
    return {pid: b for pid, b in state.items() if b}


def may_redact(user: User | None) -> bool:
    """Staff may cover a region of any photo of a report in their scope (the caller found it through the scope)."""
    return user is not None and user.role in STAFF


def may_unredact(user: User | None) -> bool:
    return user is not None and user.role in UNREDACT


def redact(report_id: str, photo_id, raw_boxes, user: User) -> Photo:
    """Cover the regions drawn (fractions of the copy) in one published photo of a report in the user's scope."""
    report = queries.get_report(report_id, user, for_update=True)  # out of scope: the same 404 as unknown
    if not may_redact(user):
        raise Forbidden("forbidden", _("只有工作人员可以手动遮挡照片；如需遮挡，请使用“请求遮挡”。"))
    photo = _photo(report, photo_id)
    drawn = photo_boxes.parse(raw_boxes)
    every = [list(b) for b in manual_boxes(report.id).get(photo.id, [])] + [list(b) for b in drawn]
    if len(every) > photo_boxes.MAX_TOTAL:
        raise Invalid("too_many_boxes", _("这张照片已遮挡 %(n)d 处，达到上限；请联系区级管理员撤销后重新框选。",
                                          n=len(every) - len(drawn)))
    with photo_transaction() as batch:
        rewrite(batch, photo, every)
        closed = redaction_requests.close_open(photo.id, user, "redacted")
        _event(report, user, "redact", {"photo_id": photo.id, "boxes": [list(b) for b in drawn], "all_boxes": every,
                                        "public_key": photo.public_key}
               | ({"request_id": closed.id} if closed is not None else {}))
    return photo


def unredact(report_id: str, photo_id, user: User) -> Photo:
    """Go back to the copy with only its faces blurred (district admins): the regions covered by hand come back."""
    report = queries.get_report(report_id, user, for_update=True)
    if not may_unredact(user):
        raise Forbidden("forbidden", _("只有区级管理员可以撤销手动遮挡。"))
    photo = _photo(report, photo_id)
    previous = manual_boxes(report.id).get(photo.id)
    if not previous:
        raise Conflict("not_redacted", _("这张照片没有手动遮挡，无需撤销。"))
    with photo_transaction() as batch:
        rewrite(batch, photo, [])
        _event(report, user, "unredact", {"photo_id": photo.id, "all_boxes": [], "removed": len(previous),
                                          "public_key": photo.public_key})
    return photo


def _photo(report: Report, photo_id) -> Photo:
    """The report's published photo of that id; a photo whose faces wait to be blurred has no copy to redo yet."""
    try:
        wanted = int(photo_id)
    except (TypeError, ValueError):
        wanted = None
    photo = next((p for p in report.photos if p.id == wanted), None)
    if photo is None:
        raise NotFound("photo_not_found", _("找不到这张照片，请刷新页面后重试。"))
    if photo.redaction_pending:
        raise Conflict("photo_pending", _("这张照片正在等待人脸模糊处理，处理完成后才能手动遮挡。"))
    return photo


def _event(report: Report, user: User, kind: str, data: dict) -> ReportEvent:
    event = ReportEvent(report=report, kind=kind, from_status=report.status, to_status=report.status,
                        actor_id=user.id, actor_label=user.name, data=data)
    db.session.add(event)
    return event
