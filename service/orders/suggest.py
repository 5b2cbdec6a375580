"""Whom to offer an order to: active volunteers with the skill, free in its time window, nearest home committee first.

The nearest committees come from a KNN scan of idx_area_geom (distance from the order's point to the committee's
polygon, 0 inside it); each committee's volunteers come from ix_volunteer_committee_code_user_id, and the busy check
from ix_service_assignment_busy. The nested loop stops as soon as enough volunteers are found, so the cost follows
the answer's size, not the roster's (bench/suggest.py).
"""
from sqlalchemy import ColumnElement, Float, Select, Text, bindparam, exists, func, select, text, true
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import aliased

from service.accounts import scope
from service.core.db import db
from service.core.models import Area, User
from service.orders.models import ServiceAssignment, ServiceOrder
from service.orders.workflow import BUSY, sql_list
from service.volunteers.models import Volunteer

SUGGESTIONS = 20
NEAR_COMMITTEES = 32  # candidates from the KNN scan: enough for 20 volunteers almost everywhere
M_PER_DEGREE = 111_195.0  # metres per degree of latitude (mean Earth radius, as PostGIS's sphere)


def free_for() -> ColumnElement:
    """A volunteer holds no accepted order overlapping the window [:window_start, :window_end) and has no offer of
    order :order_id yet (bound at execution: order_params)."""
    held, busy = aliased(ServiceOrder, name="held"), aliased(ServiceAssignment, name="busy")
    overlap = func.tstzrange(held.window_start, held.window_end).op("&&")(
        func.tstzrange(bindparam("window_start"), bindparam("window_end")))
    # The state list as a literal, so the partial index ix_service_assignment_busy is used by any plan.
    taken = exists(select(1).select_from(busy).join(held, held.id == busy.order_id).where(
        busy.volunteer_id == Volunteer.user_id, text(f"busy.state IN ({sql_list(BUSY)})"), overlap))
    mine = aliased(ServiceAssignment, name="mine")
    offered = exists().where(mine.order_id == bindparam("order_id"), mine.volunteer_id == Volunteer.user_id)
    return ~taken & ~offered


def available(skill: bool) -> ColumnElement:
    """Active and free for the order (order_params), with the skill :skills when `skill`."""
    cond = Volunteer.active & User.active & free_for()
    return cond & Volunteer.skills.contains(bindparam("skills", type_=ARRAY(Text))) if skill else cond


def order_params(order: ServiceOrder, skill: str | None = None) -> dict:
    """The values available() and query() are executed with."""
    return {"order_id": order.id, "window_start": order.window_start, "window_end": order.window_end,
            "skills": [skill] if skill else []}


def query(user: User, skill: bool, limit: int = SUGGESTIONS, committees: int | None = NEAR_COMMITTEES) -> Select:
    """The suggestion statement (run with order_params): volunteers nearest first by home committee, in scope.

    Candidates come from a KNN scan of idx_area_geom (planar degrees, cheap); they are ranked by metres in a local
    equirectangular frame at the order's latitude (exact to well under 1 % across the district), far cheaper than
    a distance on the sphere to ~90-vertex polygons. `committees=None` ranks every committee.
    """
    point = select(ServiceOrder.location).where(ServiceOrder.id == bindparam("order_id")).scalar_subquery()
    squeeze = func.cos(func.radians(func.ST_Y(point)))  # a degree of longitude is this many of latitude here
    metres = func.ST_Distance(func.ST_Scale(Area.geom, squeeze, 1), func.ST_Scale(point, squeeze, 1)) * M_PER_DEGREE
    newest = select(func.max(Area.generation)).where(text("area.level = 'committee'")).scalar_subquery()
    candidates = (select(Area.code, Area.name, metres.label("distance_m"))
                  .where(text("area.level = 'committee'"), Area.generation == newest, scope.visible_committees(user))
                  .order_by(Area.geom.op("<->", return_type=Float)(point)).limit(committees).subquery("candidates"))
    # Ordered here, so the outer ORDER BY is presorted: the loop below stops after the first committees.
    near = select(candidates).order_by(candidates.c.distance_m).subquery("near")
    pick = (select(Volunteer.user_id, Volunteer.real_name, Volunteer.team, Volunteer.skills)
            .join(User, User.id == Volunteer.user_id)
            .where(Volunteer.committee_code == near.c.code, available(skill))
            .order_by(Volunteer.user_id).lateral("pick"))
    return (select(pick, near.c.code, near.c.name, near.c.distance_m).select_from(near.join(pick, true()))
            .order_by(near.c.distance_m, pick.c.user_id).limit(limit))


# Building the statement costs more than running it: one per scope and shape, reused (statements are immutable).
_STATEMENTS: dict[tuple, Select] = {}


def _statement(user: User, skill: bool, limit: int, committees: int | None) -> Select:
    key = (user.role, user.area.code if user.area else None, skill, limit, committees)
    if key not in _STATEMENTS:
        _STATEMENTS[key] = query(user, skill, limit, committees)
    return _STATEMENTS[key]


def suggest(order: ServiceOrder, user: User, skill: str | None, limit: int = SUGGESTIONS) -> list[dict]:
    """The volunteers to suggest for an order, nearest home committee first; all committees if the nearest few
    have too few free volunteers with the skill."""
    params = order_params(order, skill)
    rows = db.session.execute(_statement(user, bool(skill), limit, NEAR_COMMITTEES), params).all()
    if len(rows) < limit:
        rows = db.session.execute(_statement(user, bool(skill), limit, None), params).all()
    return [{"id": r.user_id, "name": r.real_name, "team": r.team, "skills": list(r.skills),
             "committee": r.code, "committee_name": r.name, "distance_m": round(r.distance_m)} for r in rows]
