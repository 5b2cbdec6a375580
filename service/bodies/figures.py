"""How the bodies outside the programme handled what was handed to them (转派), per body, for the dashboard and the
monthly report.

Of the transfers created in [start, end) whose report the user may see, per body, in one statement:

    transferred       the transfers created
    signed_on_time    signed for by sign_due_at;  sign_rate = signed_on_time / sign_due, where sign_due counts those
                      signed for, and those whose sign deadline passed unsigned (before they ended, or before now):
                      a transfer not yet delivered has no deadline, one still inside it is on neither side
    finished_on_time  ended `finished` by finish_due_at (of `finished`, ended so at all)
    returned          ended `returned` by the body
    median_hours      the median hours from delivery to the end, of the finished ones

The scan is ix_transfer_body_created's range per body (bodies are few), joined to report by its key for the scope,
so a month costs the month's transfers however long the table grows (a grouped join scans the whole table: at
200,000 transfers over a year, 146 ms for the district's month against 83 ms this way).
"""
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, or_, select, true

from service.accounts import scope
from service.bodies.models import Body, Transfer
from service.core.db import db
from service.core.models import Report, User

KIND_NAMES = {"property": _l("物业"), "utility": _l("公用事业单位"), "department": _l("职能部门"),
              "hotline": _l("热线")}


def rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def by_body(user: User, start: datetime | None, end: datetime | None, within: list, now: datetime) -> list[dict]:
    """The module's figures per body, most transfers first, for the transfers of [start, end) (either may be None)
    whose report the user may see and `within` (conditions on Report) admits."""
    t = Transfer
    on_time = t.signed_at <= t.sign_due_at
    missed = or_(t.signed_at > t.sign_due_at,
                 and_(t.signed_at.is_(None), t.sign_due_at < func.coalesce(t.ended_at, now)))
    finished = t.outcome == "finished"
    hours = func.extract("epoch", t.ended_at - t.delivered_at) / 3600.0
    dated = ([t.created_at >= start] if start else []) + ([t.created_at < end] if end else [])
    # Per body (LATERAL): the range of ix_transfer_body_created (body_id, created_at), which a plain join cannot
    # use for a period, created_at being its second column.
    figures = (select(func.count().label("transferred"),
                      func.count().filter(on_time).label("signed_on_time"),
                      func.count().filter(or_(on_time, missed)).label("sign_due"),
                      func.count().filter(finished).label("finished"),
                      func.count().filter(finished, t.ended_at <= t.finish_due_at).label("finished_on_time"),
                      func.count().filter(t.outcome == "returned").label("returned"),
                      func.percentile_cont(0.5).within_group(hours)
                      .filter(finished, t.delivered_at.isnot(None)).label("median_hours"))
               .select_from(t).join(Report, Report.id == t.report_id)
               .where(t.body_id == Body.id, scope.visible(user), *dated, *within).lateral("figures"))
    rows = db.session.execute(
        select(Body.id, Body.name, Body.kind, figures).join(figures, true()).where(figures.c.transferred > 0)
        .order_by(figures.c.transferred.desc(), Body.name)).all()
    return [{"id": r.id, "name": r.name, "kind": r.kind, "kind_name": str(KIND_NAMES.get(r.kind, r.kind)),
             "transferred": r.transferred, "signed_on_time": r.signed_on_time, "sign_due": r.sign_due,
             "sign_rate": rate(r.signed_on_time, r.sign_due), "finished": r.finished,
             "finished_on_time": r.finished_on_time, "returned": r.returned,
             "median_hours": round(r.median_hours, 2) if r.median_hours is not None else None} for r in rows]
