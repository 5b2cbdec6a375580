"""Notifications of service orders through the outbox: the town's contacts hear of new and unanswered orders,
each offered volunteer gets a text message on their own phone."""
from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from service.core import localtime
from service.core.db import db
from service.core.models import User
from service.notify import outbox
from service.orders.models import ServiceOrder, ServiceOrderEvent
from service.orders.workflow import KINDS

SUBJECTS = {
    "new": _l("新的三单服务待派单"),
    "offer": _l("新的三单服务：请尽快接单"),
    "return": _l("三单服务无人接单，请重新派单"),
}


def _text(order: ServiceOrder, subject: str) -> str:
    link = f"{current_app.config['PUBLIC_BASE_URL']}/orders/{order.id}"
    return (f"【火患随手拍】{subject}\n{KINDS[order.kind][0]} · {order.committee.name} · {order.town.name}\n"
            f"时间：{localtime.show(order.window_start)} — {localtime.show(order.window_end)}\n{link}")


def _send(order: ServiceOrder, event: ServiceOrderEvent, contacts: list[tuple[str, str]], what: str) -> int:
    if not contacts:
        return 0
    with force_locale("zh_CN"):  # people read Chinese, whatever language the acting user chose
        subject = str(SUBJECTS[what])
        text = _text(order, subject)
    return outbox.enqueue_worded(contacts, subject, text, {"order_id": order.id}, order_event_id=event.id)


def to_town(order: ServiceOrder, event: ServiceOrderEvent, what: str) -> int:
    """Tell the order's town (its dispatchers) about a new or unanswered order."""
    return _send(order, event, outbox.area_contacts([order.town.code]), what)


def to_volunteers(order: ServiceOrder, event: ServiceOrderEvent, volunteer_ids: list[int]) -> int:
    """Text each offered volunteer on their own phone (the outbox's SMS channel)."""
    phones = db.session.scalars(select(User.phone).where(User.id.in_(volunteer_ids)).order_by(User.id)).all()
    return _send(order, event, [("sms", phone) for phone in phones], "offer")
