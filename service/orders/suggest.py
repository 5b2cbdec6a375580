"""Whom to offer an order to: active volunteers with the skill, free in its time window, nearest home committee first.

Committees come nearest first from a KNN scan of ix_area_committee_geog (distance on the sphere from the order's
point to the committee's polygon, 0 inside it); each committee's volunteers come from
ix_volunteer_committee_code_user_id, and the busy check from ix_service_assignment_busy. The scan stops as soon as
enough volunteers are found, so the cost follows the answer's size, not the roster's.
"""
from geoalchemy2 import Geography
from sqlalchemy import ColumnElement, Float, cast, exists, func, select, text, true
from sqlalchemy.orm import aliased

from service.accounts import scope
from service.db import db
from service.models import Area, User
from service.orders.models import ServiceAssignment, ServiceOrder
from service.orders.queries import lonlat
from service.orders.workflow import BUSY, sql_list
from service.volunteers.models import Volunteer

SUGGESTIONS = 20


def free_for(order: ServiceOrder) -> ColumnElement:
    """A volunteer holds no accepted order overlapping this order's window, and has no offer of it yet."""
    held, busy = aliased(ServiceOrder, name="held"), aliased(ServiceAssignment, name="busy")
    overlap = func.tstzrange(held.window_start, held.window_end).op("&&")(
        func.tstzrange(order.window_start, order.window_end))
    # The state list as a literal, so the partial index ix_service_assignment_busy is used by any plan.
    taken = exists().where(busy.volunteer_id == Volunteer.user_id, text(f"busy.state IN ({sql_list(BUSY)})"),
                           held.id == busy.order_id, overlap)
    mine = aliased(ServiceAssignment, name="mine")
    offered = exists().where(mine.order_id == order.id, mine.volunteer_id == Volunteer.user_id)
    return ~taken & ~offered


def available(order: ServiceOrder, skill: str | None) -> ColumnElement:
    cond = Volunteer.active & User.active & free_for(order)
    return cond & Volunteer.skills.contains([skill]) if skill else cond


def suggest(order: ServiceOrder, user: User, skill: str | None, limit: int = SUGGESTIONS) -> list[dict]:
    """The volunteers to suggest for an order, nearest home committee first (the dispatcher's scope)."""
    lon, lat = lonlat(order)
    point = cast(func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326), Geography)
    distance = cast(Area.geom, Geography).op("<->", return_type=Float)(point)
    newest = select(func.max(Area.generation)).where(text("area.level = 'committee'")).scalar_subquery()
    near = (select(Area.code, Area.name, distance.label("distance_m"))
            .where(text("area.level = 'committee'"), Area.generation == newest, scope.visible_committees(user))
            .order_by(distance).subquery("near"))
    pick = (select(Volunteer.user_id, Volunteer.real_name, Volunteer.team, Volunteer.skills)
            .join(User, User.id == Volunteer.user_id)
            .where(Volunteer.committee_code == near.c.code, available(order, skill))
            .order_by(Volunteer.user_id).lateral("pick"))
    rows = db.session.execute(select(pick, near.c.code, near.c.name, near.c.distance_m)
                              .select_from(near.join(pick, true()))
                              .order_by(near.c.distance_m, pick.c.user_id).limit(limit))
    return [{"id": r.user_id, "name": r.real_name, "team": r.team, "skills": list(r.skills),
             "committee": r.code, "committee_name": r.name, "distance_m": round(r.distance_m)} for r in rows]
