"""Named selects of service orders: one within scope, the dispatcher's keyset queue, a volunteer's tasks."""
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import Select, String, case, cast, func, literal, select, tuple_
from sqlalchemy.orm import selectinload

from service.accounts.auth import token_digest
from service.core import clock
from service.core.db import db
from service.core.errors import NotFound
from service.core.models import User
from service.orders.models import (
    ServiceAssignment,
    ServiceOrder,
    ServiceOrderEvent,
    ServiceOrderPhoto,
    order_contact,
    visible_orders,
)
from service.orders.workflow import (
    CLOSED,
    COMING,
    EVENT_LABELS,
    KINDS,
    MOVES,
    OFFER_LABELS,
    STATUS_LABELS,
    VOLUNTEER,
)
from service.rules.roles import STAFF
from service.volunteers.models import Volunteer
from service.volunteers.queries import as_id
from service.volunteers.registry import mask

QUEUE_STATUSES = ("submitted", "dispatched", "accepted", "in_service")
TASK_STATES = ("offered", "accepted", "checked_in")


def get_order(order_id: int | str, user: User | None, for_update: bool = False) -> ServiceOrder:
    """Return an order the user may see; an unknown or out-of-scope id is the same 404."""
    wanted, found = as_id(order_id), None
    if wanted is not None:
        query = select(ServiceOrder).where(ServiceOrder.id == wanted, visible_orders(user))
        found = db.session.scalar(query.with_for_update(of=ServiceOrder) if for_update else query)
    if found is None:
        raise NotFound("order_not_found", _("找不到该服务单，请检查编号是否正确。"))
    return found


def by_token(token: str, for_update: bool = False) -> ServiceOrder:
    """Return the order of a tracking link; any other token is a 404."""
    query = select(ServiceOrder).where(ServiceOrder.tracking_hash == token_digest(token or ""))
    found = db.session.scalar(query.with_for_update() if for_update else query)
    if found is None:
        raise NotFound("order_not_found", _("找不到该服务单，请检查链接是否完整。"))
    return found


def queue(user: User, statuses: tuple[str, ...], after: tuple[datetime, int] | None, limit: int) -> Select:
    """One keyset page of the visible orders in these statuses, oldest first (created_at, id)."""
    query = (select(ServiceOrder).where(visible_orders(user), ServiceOrder.status.in_(statuses))
             .order_by(ServiceOrder.created_at, ServiceOrder.id).limit(limit))
    if after is not None:
        query = query.where(tuple_(ServiceOrder.created_at, ServiceOrder.id) > tuple_(*after))
    return query


def count(user: User, statuses: tuple[str, ...]) -> int:
    return db.session.scalar(select(func.count()).select_from(ServiceOrder).where(
        visible_orders(user), ServiceOrder.status.in_(statuses)))


def tasks_for(user_id: int, limit: int = 50, after: int = 0) -> list[tuple[ServiceOrder, ServiceAssignment]]:
    """A volunteer's open orders (offered, accepted, on site), soonest window first, with their own offer."""
    return db.session.execute(
        select(ServiceOrder, ServiceAssignment).join(ServiceAssignment, ServiceAssignment.order_id == ServiceOrder.id)
        .where(ServiceAssignment.volunteer_id == user_id, ServiceAssignment.state.in_(TASK_STATES),
               ServiceOrder.status.not_in(CLOSED), ServiceAssignment.id > after)
        .order_by(ServiceOrder.window_start, ServiceAssignment.id).limit(limit)).all()


def task_rows(user: User) -> Select:
    """This volunteer's orders as rows of the /me/tasks union (service/volunteers/tasks.py): kind, id, status,
    is_open, due_at (the window's start), updated_at; orders declined, expired or withdrawn are not theirs."""
    is_open = ServiceAssignment.state.in_(TASK_STATES) & ServiceOrder.status.not_in(CLOSED)
    return (select(literal("order").label("kind"), cast(ServiceOrder.id, String).label("id"), ServiceOrder.status,
                   is_open.label("is_open"), ServiceOrder.window_start.label("due_at"), ServiceOrder.updated_at)
            .join(ServiceAssignment, ServiceAssignment.order_id == ServiceOrder.id)
            .where(ServiceAssignment.volunteer_id == user.id,
                   ServiceAssignment.state.in_((*TASK_STATES, "checked_out"))))


def load_tasks(ids: list[str], user: User) -> dict[str, tuple[ServiceOrder, ServiceAssignment, str | None]]:
    """The orders of one /me/tasks page with the volunteer's own offer and the address when the scope rule lets
    them read it (order_contact), in one query."""
    wanted = [int(i) for i in ids]
    shown = order_contact(user, clock.now())
    rows = db.session.execute(select(ServiceOrder, ServiceAssignment, case((shown, ServiceOrder.address)))
                              .join(ServiceAssignment, ServiceAssignment.order_id == ServiceOrder.id)
                              .where(ServiceOrder.id.in_(wanted), ServiceAssignment.volunteer_id == user.id)
                              .options(selectinload(ServiceOrder.committee), selectinload(ServiceOrder.town)))
    return {str(o.id): (o, a, address) for o, a, address in rows}


def own_offer(order: ServiceOrder, user: User, for_update: bool = False) -> ServiceAssignment | None:
    query = select(ServiceAssignment).where(ServiceAssignment.order_id == order.id,
                                            ServiceAssignment.volunteer_id == user.id)
    return db.session.scalar(query.with_for_update() if for_update else query)


def offers(order: ServiceOrder) -> list[tuple[ServiceAssignment, str]]:
    """Every offer of an order with the volunteer's name on the roster (or account)."""
    return db.session.execute(
        select(ServiceAssignment, func.coalesce(Volunteer.real_name, User.name))
        .join(User, User.id == ServiceAssignment.volunteer_id)
        .outerjoin(Volunteer, Volunteer.user_id == ServiceAssignment.volunteer_id)
        .where(ServiceAssignment.order_id == order.id).order_by(ServiceAssignment.id)).all()


def coming(order: ServiceOrder) -> list[dict]:
    """Who is coming, masked, and when they arrived and left: all a resident learns about volunteers."""
    return [{"name": mask(name), "state": a.state, "state_label": str(OFFER_LABELS[a.state]),
             "checked_in_at": _iso(a.checked_in_at), "checked_out_at": _iso(a.checked_out_at)}
            for a, name in offers(order) if a.state in COMING]


def events(order: ServiceOrder) -> list[ServiceOrderEvent]:
    return db.session.scalars(select(ServiceOrderEvent).where(ServiceOrderEvent.order_id == order.id)
                              .order_by(ServiceOrderEvent.id)).all()


def photos(order: ServiceOrder) -> list[ServiceOrderPhoto]:
    """The order's outcome photos whose public copies exist (not those whose faces wait to be blurred)."""
    return db.session.scalars(select(ServiceOrderPhoto).where(
        ServiceOrderPhoto.order_id == order.id, ServiceOrderPhoto.redaction_pending.is_(False))
        .order_by(ServiceOrderPhoto.id)).all()


def photos_pending(order: ServiceOrder) -> int:
    """How many of the order's outcome photos wait for their faces to be blurred (待脱敏)."""
    return db.session.scalar(select(func.count()).where(
        ServiceOrderPhoto.order_id == order.id, ServiceOrderPhoto.redaction_pending))


def contact(order: ServiceOrder, user: User | None) -> dict:
    """The resident's contact and the order's exact point when the scope rule lets the user read them
    (order_contact), else the same keys with None and no outcome photos."""
    row = db.session.execute(
        select(ServiceOrder.contact_name, ServiceOrder.contact_phone, ServiceOrder.address,
               func.ST_X(ServiceOrder.location), func.ST_Y(ServiceOrder.location))
        .where(ServiceOrder.id == order.id, order_contact(user, clock.now()))).one_or_none()
    keys = ("contact_name", "contact_phone", "address", "lon", "lat")
    found = dict(zip(keys, row or (None,) * len(keys), strict=True)) | {"contact_visible": row is not None}
    return found if row else found | {"photos": []}  # outcome photos are taken in the resident's home


def tracking_json(order: ServiceOrder) -> dict:
    """What the tracking link shows: status, kind, window, who is coming, the outcome and the rating."""
    return {"status": order.status, "status_label": str(STATUS_LABELS[order.status]), "kind": order.kind,
            "kind_label": str(KINDS[order.kind][0]), "window_start": _iso(order.window_start),
            "window_end": _iso(order.window_end), "volunteers": coming(order), "outcome": order.outcome,
            "completed_at": _iso(order.completed_at), "rating": order.rating, "rated_at": _iso(order.rated_at),
            "photos": [p.id for p in photos(order)], "photos_pending": photos_pending(order)}


def to_json(order: ServiceOrder, user: User | None) -> dict:
    """An order as staff and its volunteers see it: the contact only where order_contact allows; every
    offer, and who made each move, for staff; a volunteer sees their own offer and never another's name."""
    staff = user is not None and user.role in STAFF
    return tracking_json(order) | contact(order, user) | {
        "id": order.id, "description": order.description,
        "committee": order.committee.code, "committee_name": order.committee.name, "town": order.town.code,
        "town_name": order.town.name, "volunteers_needed": order.volunteers_needed,
        "created_at": _iso(order.created_at), "rating_comment": order.rating_comment,
        "offers": [{"volunteer_id": a.volunteer_id, "name": name, "state": a.state,
                    "state_label": str(OFFER_LABELS[a.state]), "offered_at": _iso(a.offered_at),
                    "checked_in_at": _iso(a.checked_in_at), "checked_in_distance_m": a.checked_in_distance_m,
                    "checked_out_at": _iso(a.checked_out_at), "hour_entry_id": a.hour_entry_id}
                   for a, name in offers(order) if staff or (user is not None and a.volunteer_id == user.id)],
        "events": [{"action": e.action, "label": str(EVENT_LABELS.get(e.action, e.action)),
                    "from": e.from_status, "to": e.to_status, "note": e.note, "at": _iso(e.created_at),
                    "actor": e.actor_label if staff or _shown_actor(e, user) else None}
                   for e in events(order)],
    }


def _shown_actor(event: ServiceOrderEvent, user: User | None) -> bool:
    """Whether a volunteer sees who made a move: their own and staff's, never another volunteer's name nor the
    resident's (the placing event carries the contact name, which is private as the phone is)."""
    if user is not None and event.actor_id == user.id:
        return True
    move = MOVES.get(event.action)
    return event.actor_id is not None and not (move is not None and move.roles == VOLUNTEER)


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t else None
