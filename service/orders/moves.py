"""Move service orders through the workflow table: dispatch, accept, decline, cancel, rate; each one an event.

Every move locks the order's row first (SELECT ... FOR UPDATE), so moves of one order run one at a time: of two
volunteers racing to accept a one-volunteer order, the second sees it taken and gets a 409.
"""

from flask_babel import gettext as _
from sqlalchemy import func, select, update

from service.core import clock
from service.core.db import db
from service.core.errors import Conflict, Forbidden, Invalid
from service.core.models import User
from service.orders import notices, queries
from service.orders.models import ServiceAssignment, ServiceOrder, ServiceOrderEvent
from service.orders.suggest import available, order_params
from service.orders.workflow import BUSY, COMING, MOVES, OFFER_LABELS, STATUS_LABELS, legal, may
from service.volunteers import queries as volunteer_queries
from service.volunteers.models import Volunteer

TEAM_LIMIT = 50  # offers one dispatch may send to a team
SETTLED = frozenset({"submitted", "dispatched", "accepted"})  # statuses that follow from the offers


def check(order: ServiceOrder, move: str, role: str, offer: ServiceAssignment | None = None) -> None:
    """Refuse a move the table does not allow now (409) or to this role (403)."""
    action = MOVES[move].label
    if not legal(move, order.status):
        raise Conflict("illegal_move", _("服务单当前状态为“%(status)s”，不能执行“%(action)s”。",
                                              status=STATUS_LABELS[order.status], action=action))
    if not may(role, move):
        raise Forbidden("forbidden", _("您的角色无权对服务单执行“%(action)s”。", action=action))
    wanted = MOVES[move].offer_from
    if wanted is not None and (offer is None or offer.state not in wanted):
        state = OFFER_LABELS[offer.state] if offer else _("未派给您")
        raise Conflict("illegal_offer_move", _("您的派单状态为“%(state)s”，不能执行“%(action)s”。",
                                                    state=state, action=action))


def record(order: ServiceOrder, action: str, actor: User | None, from_status: str, note: str = "",
           data: dict | None = None, label: str | None = None) -> ServiceOrderEvent:
    event = ServiceOrderEvent(order_id=order.id, action=action, from_status=from_status, to_status=order.status,
                              actor_id=actor.id if actor else None, note=note, data=data or {},
                              actor_label=label or (actor.name if actor else None))
    db.session.add(event)
    db.session.flush()
    return event


def settle(order: ServiceOrder) -> None:
    """Set the status that follows from the offers; once enough accepted, withdraw the others' open offers."""
    if order.status not in SETTLED:
        return
    taken, waiting = db.session.execute(select(
        func.count().filter(ServiceAssignment.state.in_(COMING)),
        func.count().filter(ServiceAssignment.state == "offered"),
    ).where(ServiceAssignment.order_id == order.id)).one()
    if taken >= order.volunteers_needed:
        db.session.execute(update(ServiceAssignment).where(
            ServiceAssignment.order_id == order.id, ServiceAssignment.state == "offered").values(state="withdrawn"))
        order.status = "accepted"
    else:
        order.status = "dispatched" if waiting else "submitted"


def _chosen(order: ServiceOrder, user: User, ids: list, team: str | None) -> list[int]:
    """The volunteers of a dispatch, each visible to the dispatcher and available; else a 422 saying who is not."""
    query = (select(Volunteer.user_id).join(User, User.id == Volunteer.user_id)
             .where(volunteer_queries.visible(user), available(skill=False)).order_by(Volunteer.user_id))
    params = order_params(order)
    if team:
        found = db.session.scalars(query.where(Volunteer.team == team).limit(TEAM_LIMIT), params).all()
        if not found:
            raise Invalid("team_unavailable",
                           _("该服务队没有此时段可派的志愿者，请换一个服务队或直接选择志愿者。"))
        return list(found)
    wanted = {volunteer_queries.as_id(i) for i in ids}
    if not ids or None in wanted or len(ids) > TEAM_LIMIT:
        raise Invalid("volunteers_required", _("请选择 1 到 50 位志愿者，或填写一个服务队。"))
    found = set(db.session.scalars(query.where(Volunteer.user_id.in_(wanted)), params))
    if missing := sorted(wanted - found):
        raise Invalid("volunteer_unavailable", _("编号为 %(ids)s 的志愿者不可派：不在您的辖区、已停用、"
                                                       "已派过此单或该时段已有服务，请重新选择。",
                                                       ids="、".join(map(str, missing))))
    return sorted(found)


def dispatch(order_id, user: User, ids: list, team: str | None, note: str = "") -> ServiceOrder:
    """Offer an order to volunteers or a team (派单), and tell them."""
    order = queries.get_order(order_id, user, for_update=True)
    check(order, "dispatch", user.role)
    chosen = _chosen(order, user, ids, team)
    now, before = clock.now(), order.status
    db.session.add_all(ServiceAssignment(order_id=order.id, volunteer_id=v, state="offered", offered_by=user.id,
                                         offered_at=now) for v in chosen)
    db.session.flush()
    settle(order)
    event = record(order, "dispatch", user, before, note, {"volunteers": chosen, "team": team})
    notices.to_volunteers(order, event, chosen)
    db.session.commit()
    return order


def respond(order_id, user: User, move: str, note: str = "") -> ServiceOrder:
    """A volunteer accepts (接单) or declines an offer; a decline that leaves nobody returns it to the town."""
    order = queries.get_order(order_id, user, for_update=True)
    offer = queries.own_offer(order, user, for_update=True)
    check(order, move, user.role, offer)
    if move == "accept":
        _refuse_double_booking(order, user)
    before = order.status
    offer.state, offer.responded_at = MOVES[move].offer_to, clock.now()
    db.session.flush()
    settle(order)
    event = record(order, move, user, before, note)
    if order.status == "submitted":
        notices.to_town(order, event, "return")
    db.session.commit()
    return order


def _refuse_double_booking(order: ServiceOrder, user: User) -> None:
    """A volunteer holds one order at a time: accepting one whose window overlaps an accepted one is a 409.
    The profile row is locked (after the order's, as at check-out) so two accepts of theirs run one at a time."""
    db.session.execute(select(Volunteer.user_id).where(Volunteer.user_id == user.id).with_for_update())
    overlap = func.tstzrange(ServiceOrder.window_start, ServiceOrder.window_end).op("&&")(
        func.tstzrange(order.window_start, order.window_end))
    clash = db.session.scalar(
        select(ServiceOrder.id).join(ServiceAssignment, ServiceAssignment.order_id == ServiceOrder.id)
        .where(ServiceAssignment.volunteer_id == user.id, ServiceAssignment.state.in_(BUSY),
               ServiceOrder.id != order.id, overlap).limit(1))
    if clash is not None:
        raise Conflict("double_booked", _("您在该时段已接了第 %(id)d 号服务单，不能再接这一单；"
                                               "如需调整，请联系派单的街镇。", id=clash))


def cancel(order_id, user: User, note: str = "") -> ServiceOrder:
    """Cancel an order (the dispatcher); every open or accepted offer is withdrawn."""
    order = queries.get_order(order_id, user, for_update=True)
    check(order, "cancel", user.role)
    before, order.status = order.status, "cancelled"
    db.session.execute(update(ServiceAssignment).where(
        ServiceAssignment.order_id == order.id, ServiceAssignment.state.in_(("offered", "accepted")))
        .values(state="withdrawn"))
    record(order, "cancel", user, before, note)
    db.session.commit()
    return order


def rate(order: ServiceOrder, rating, comment: str) -> ServiceOrder:
    """The resident rates a completed visit once, from the tracking link (the order it opened)."""
    db.session.refresh(order, with_for_update=True)
    check(order, "rate", "resident")
    if order.rated_at is not None:
        raise Conflict("already_rated", _("您已评价过本次服务，感谢您的反馈。"))
    value = str(rating or "").strip()
    if value not in ("1", "2", "3", "4", "5"):
        raise Invalid("bad_rating", _("请选择 1 到 5 星的评分。"))
    if len(comment) > 500:
        raise Invalid("bad_comment", _("评价内容不能超过 500 字。"))
    order.rating, order.rating_comment, order.rated_at = int(value), comment or None, clock.now()
    record(order, "rate", None, order.status, comment, {"rating": int(value)}, label=_("居民"))
    db.session.commit()
    return order
