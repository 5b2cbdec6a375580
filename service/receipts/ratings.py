"""The reporter's rating of how a verified report was handled: 1 to 5 stars and a comment, given once."""
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from service.core.db import db
from service.core.errors import Conflict, Invalid
from service.core.models import Report
from service.receipts.models import ReportRating

MAX_COMMENT = 500


def rate(report: Report, stars, comment, rater_id: int | None) -> ReportRating:
    """Record the rating, or refuse: before verification a 409, a second rating a 409, bad values a 422."""
    if report.status != "verified":
        raise Conflict("not_verified", _("隐患核查结案后才能评价，请届时再来。"))
    try:
        stars = int(stars)
    except (TypeError, ValueError):
        stars = 0
    if not 1 <= stars <= 5:
        raise Invalid("bad_stars", _("请选择 1 到 5 星的评价。"))
    comment = (comment or "").strip() if isinstance(comment, str) else ""
    if len(comment) > MAX_COMMENT:
        raise Invalid("comment_too_long", _("评价内容不能超过 %(n)s 字。", n=MAX_COMMENT))
    rating = ReportRating(report_id=report.id, stars=stars, comment=comment, rater_id=rater_id)
    db.session.add(rating)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict("already_rated", _("该上报已经评价过，评价提交后不能修改。")) from None
    return rating


def ratings_of(report_ids) -> dict:
    """Report id -> its rating, in one query."""
    ids = [i for i in report_ids if i is not None]
    if not ids:
        return {}
    return {r.report_id: r for r in db.session.scalars(select(ReportRating).where(ReportRating.report_id.in_(ids)))}
