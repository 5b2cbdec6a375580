"""What a caller may see: one WHERE clause per role, applied inside every report query."""
from datetime import datetime, timedelta

from flask import current_app, g, has_app_context
from sqlalchemy import and_, false, or_, select, true
from sqlalchemy.sql.elements import ColumnElement

from service.core.db import db
from service.core.models import Area, Report, ReportRollup, User
from service.orders.models import ServiceAssignment, ServiceOrder
from service.orders.workflow import CLOSED, COMING
from service.rules.roles import STAFF
from service.sites.models import Site
from service.volunteers.models import Volunteer
from service.volunteers.queries import town_committee_codes


def _same_code(column, user: User) -> ColumnElement:
    """By code, not id: a new boundary generation may give the same town or committee a new row.

    The ids are looked up first (once per request) and written into the condition as values: with one id the
    planner can walk an index on (town_id or committee_id, status, due_at) in order and stop at the page's LIMIT,
    which an `IN (subquery)` prevents."""
    ids = _area_ids(user.area.code)
    if not ids:
        return false()
    return column == ids[0] if len(ids) == 1 else column.in_(ids)


def _area_ids(code: str) -> list[int]:
    cache = g.setdefault("scope_area_ids", {}) if has_app_context() else {}
    if code not in cache:
        cache[code] = list(db.session.scalars(select(Area.id).where(Area.code == code).order_by(Area.id)))
    return cache[code]


def _by_area(user: User | None, town_column, committee_column, otherwise):
    """The role ladder shared by reports and their rollup: all, one town, one committee, else `otherwise()`."""
    if user is None:
        return false()
    if user.role == "district_admin":
        return true()
    if user.role == "town_supervisor" and user.area is not None:
        return _same_code(town_column, user)
    if user.role == "committee_staff" and user.area is not None:
        return _same_code(committee_column, user)
    return otherwise()


def visible(user: User | None) -> ColumnElement:
    """Return the condition on Report rows the user may read."""
    return _by_area(user, Report.town_id, Report.committee_id,
                    lambda: or_(Report.reporter_id == user.id, Report.assignee_id == user.id))


def visible_orders(user: User | None) -> ColumnElement:
    """Return the condition on ServiceOrder rows: staff by area as for reports, a volunteer the orders offered
    to them (in any state, so a late answer learns why it is refused); what the resident told is order_contact's."""
    return _by_area(user, ServiceOrder.town_id, ServiceOrder.committee_id, lambda: ServiceOrder.id.in_(
        select(ServiceAssignment.order_id).where(ServiceAssignment.volunteer_id == user.id)))


def order_contact(user: User | None, now: datetime) -> ColumnElement:
    """Return the condition on ServiceOrder rows whose private part (the resident's name, phone, address, exact
    point, outcome photos) the user may read: staff by area; a volunteer only while they hold the order (accepted,
    on site, checked out) and it is under way or completed less than ORDER_CONTACT_GRACE_H ago. An open offer
    shows the kind, the window and the committee, enough to answer; a declined, expired or withdrawn offer and a
    cancelled order show nothing private."""
    grace = timedelta(hours=current_app.config["ORDER_CONTACT_GRACE_H"])
    return _by_area(user, ServiceOrder.town_id, ServiceOrder.committee_id, lambda: and_(
        ServiceOrder.id.in_(select(ServiceAssignment.order_id).where(
            ServiceAssignment.volunteer_id == user.id, ServiceAssignment.state.in_(COMING))),
        or_(ServiceOrder.status.not_in(CLOSED),
            and_(ServiceOrder.status == "completed", ServiceOrder.completed_at > now - grace))))


def visible_sites(user: User | None) -> ColumnElement:
    """Return the condition on Site rows: staff by area as for reports; volunteers see no site registry."""
    return _by_area(user, Site.town_id, Site.committee_id, false)


def directed(user: User | None) -> ColumnElement:
    """Return the condition on User rows a user may name for work in their area (an inspection round's people):
    the district admin anyone; a town supervisor the staff of the town or of one of its committees and the
    volunteers on the roster of one of its committees; committee staff those of their own committee; anyone else
    nobody. Areas are compared by code, so a new boundary generation changes nothing."""
    if user is None:
        return false()
    if user.role == "district_admin":
        return true()
    if user.area is None or user.role not in ("town_supervisor", "committee_staff"):
        return false()
    code = user.area.code
    if user.role == "town_supervisor":
        committees = town_committee_codes(code)
        staff_area = or_(Area.code == code, Area.code.in_(committees))
    else:
        committees = [code]
        staff_area = Area.code == code
    return or_(and_(User.role.in_(STAFF), User.area_id.in_(select(Area.id).where(staff_area))),
               and_(User.role == "volunteer", User.id.in_(select(Volunteer.user_id).where(
                   Volunteer.active, Volunteer.committee_code.in_(committees)))))


def may_manage_committee(user: User, committee: Area) -> bool:
    """Tell whether a supervisor may put a report under this committee."""
    if user.role == "district_admin":
        return True
    return user.role == "town_supervisor" and committee.parent is not None and committee.parent.code == user.area.code


def visible_committees(user: User) -> ColumnElement:
    """Return the condition on committee Area rows a user's map may draw: their own area's, by code."""
    if user.role == "district_admin":
        return true()
    if user.area is None:
        return false()  # volunteers draw no boundaries
    if user.role == "town_supervisor":
        parent = select(Area.id).where(Area.code == user.area.code)
        return Area.parent_id.in_(parent)
    return Area.code == user.area.code


def visible_towns(user: User) -> ColumnElement:
    """Return the condition on town Area rows a user's map may outline: all, their town, or their committee's."""
    if user.role == "district_admin":
        return true()
    if user.area is None or user.role not in ("town_supervisor", "committee_staff"):
        return false()
    town = user.area if user.role == "town_supervisor" else user.area.parent
    return false() if town is None else Area.code == town.code


def visible_rollup(user: User | None) -> ColumnElement | None:
    """The condition on ReportRollup rows for a user, or None when counts cannot come from the rollup
    (a volunteer sees reports by reporter or assignee, which the rollup does not keep)."""
    return visible_cube(user, ReportRollup)


def visible_cube(user: User | None, cube) -> ColumnElement | None:
    """The condition on the rows of a table of counts per town (and committee) for a user, or None when its rows
    cannot tell what the user may see (committee staff on a per-town table; volunteers, who see by reporter)."""
    committee = getattr(cube, "committee_id", None)
    if user is not None and user.role == "committee_staff" and committee is None:
        return None
    return _by_area(user, cube.town_id, committee, lambda: None)
