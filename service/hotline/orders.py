"""Take a hotline work order in as a report (source `hotline`), once per order number.

An order comes from the hotline body (a Body of kind `hotline`) by an Open311 POST with its own key (the account of
`hazard-snap hotline key`, body.inbound_user_id) or a row of its batch file (`hazard-snap hotline import`). It goes
through the native intake's checks, assignment and deadline (reports.intake.create_from_call): a call has no photo,
and its place is the one the call-taker put on the map. Its deadlines are the order's own when it states them, else
the hotline body's hours from arrival (sign_hours to sign for, finish_hours to reply); a misrouted order may be
returned within HOTLINE_RETURN_HOURS. The caller's contact is kept as any report's (private, erased on schedule),
and the order gets a receipt, so the caller can follow it and answer the call-back (回访) on the tracking page.

Taking the same order number again finds the first report (an order already taken is not changed by a later copy).
"""
import re
import uuid
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from service.bodies.models import Body
from service.core import clock, localtime
from service.core.db import db
from service.core.errors import Forbidden, Invalid
from service.core.models import Report, User
from service.hotline.models import HotlineOrder
from service.receipts import receipts
from service.reports import intake

ORDER_NO = re.compile(r"[0-9A-Za-z][0-9A-Za-z_-]{0,39}")
HOUR = timedelta(hours=1)


def hotline_of(user: User | None) -> Body | None:
    """The hotline whose Open311 key this account holds, active or not (take() refuses a disabled one), or None."""
    if user is None:
        return None
    return db.session.scalar(select(Body).where(Body.inbound_user_id == user.id))


def hotline_named(name: str) -> Body:
    """The active hotline body of this name (for the commands), or Invalid."""
    body = db.session.scalar(select(Body).where(Body.name == name))
    if body is None or body.kind != "hotline" or not body.active:
        raise Invalid("unknown_hotline", _("找不到在用的热线单位“%(name)s”，请先用 hazard-snap bodies add "
                                           "--kind hotline 登记。", name=name))
    return body


def check_number(raw) -> str:
    order_no = (raw or "").strip() if isinstance(raw, str) else ""
    if not ORDER_NO.fullmatch(order_no):
        raise Invalid("bad_order_no", _("工单编号应为 1 到 40 位字母、数字、“-”或“_”。"))
    return order_no


def check_deadline(raw: datetime | None, now: datetime, what: str) -> datetime | None:
    if raw is not None and raw <= now:
        raise Invalid("deadline_passed", _("%(what)s已过（%(at)s），请核对工单时限。", what=what,
                                           at=localtime.show(raw)))
    return raw


def find(body: Body, order_no: str) -> HotlineOrder | None:
    return db.session.scalar(select(HotlineOrder).where(HotlineOrder.body_id == body.id,
                                                        HotlineOrder.order_no == order_no))


def take(body: Body, order_no: str, form: MultiDict, sign_due: datetime | None = None,
         reply_due: datetime | None = None) -> tuple[Report, bool]:
    """The report of this order: made now (committed), or found again; (report, created). Bad fields are a 422."""
    if body.kind != "hotline" or not body.active:
        raise Forbidden("not_a_hotline", _("只有在用的热线单位可以派来工单。"))
    order_no = check_number(order_no)
    if (found := find(body, order_no)) is not None:
        return db.session.get(Report, found.report_id), False
    now = clock.now()
    sign_due = check_deadline(sign_due, now, _("签收时限")) or now + body.sign_hours * HOUR
    reply_due = check_deadline(reply_due, now, _("答复时限")) or now + body.finish_hours * HOUR
    if reply_due < sign_due:
        raise Invalid("deadlines_order", _("答复时限不能早于签收时限，请核对工单时限。"))
    return_due = now + current_app.config["HOTLINE_RETURN_HOURS"] * HOUR

    def rows(report: Report) -> list:
        report.id = report.id or uuid.uuid4()
        return [HotlineOrder(report_id=report.id, body_id=body.id, order_no=order_no, received_at=now,
                             sign_due_at=sign_due, return_due_at=min(return_due, reply_due), reply_due_at=reply_due),
                receipts.new_receipt(report.id)]

    return intake.create_from_call(form, f"hotline:{body.id}:{order_no}", body.inbound_user_id, rows)


def order_of(report_id) -> HotlineOrder | None:
    return db.session.get(HotlineOrder, report_id)


def orders_of(report_ids) -> dict:
    """Report id -> its hotline order, for the reports among these that came from the hotline (one query)."""
    ids = [i for i in report_ids if i is not None]
    if not ids:
        return {}
    return {o.report_id: o for o in db.session.scalars(select(HotlineOrder).where(HotlineOrder.report_id.in_(ids)))}


def summary(report_id) -> dict | None:
    """A hotline order as the staff's detail page shows it, or None for a report that is no order."""
    order = order_of(report_id)
    if order is None:
        return None
    now = clock.now()
    return {"order_no": order.order_no, "hotline": order.body.name, "received_at": order.received_at,
            "sign_due_at": order.sign_due_at, "reply_due_at": order.reply_due_at, "signed_at": order.signed_at,
            "returned": order.sign_outcome == "returned", "replied_at": order.replied_at,
            "sign_late": order.signed_at is None and now > order.sign_due_at,
            "returnable": order.signed_at is None and now <= order.return_due_at,
            "return_due_at": order.return_due_at}
