"""What a caller may see: one WHERE clause per role, applied inside every query.

This module holds the mechanism (by_area: the role ladder of all, one town, one committee, else the area's own
rule for everyone else) and the rules on the tables every room shares (reports, areas, the counts). Each area
states the rule on its own tables next to them, marked @scope.rule: orders (service/orders/models.py), sites
(service/sites/models.py), the people a planner may direct (service/volunteers/queries.py). describe() lists
every rule with its first line, so the whole policy reads in one place (`hazard-snap scope`).
"""
from collections.abc import Callable

from flask import g, has_app_context
from sqlalchemy import false, or_, select, true
from sqlalchemy.sql.elements import ColumnElement

from service.core.db import db
from service.core.models import Area, Report, ReportRollup, User

RULES: dict[str, Callable] = {}


def rule(fn: Callable) -> Callable:
    """Mark a function as a visibility rule (a WHERE clause for a user), so describe() lists it."""
    RULES[f"{fn.__module__}.{fn.__name__}"] = fn
    return fn


def describe() -> list[tuple[str, str]]:
    """Every visibility rule of the service, (where it is, what it says), in the order of their modules."""
    return sorted((name, (fn.__doc__ or "").strip().splitlines()[0]) for name, fn in RULES.items())


def same_code(column, user: User) -> ColumnElement:
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


def by_area(user: User | None, town_column, committee_column, otherwise):
    """The role ladder every area's rule shares: all, one town, one committee, else `otherwise()`."""
    if user is None:
        return false()
    if user.role == "district_admin":
        return true()
    if user.role == "town_supervisor" and user.area is not None:
        return same_code(town_column, user)
    if user.role == "committee_staff" and user.area is not None:
        return same_code(committee_column, user)
    return otherwise()


@rule
def visible(user: User | None) -> ColumnElement:
    """Return the condition on Report rows the user may read."""
    return by_area(user, Report.town_id, Report.committee_id,
                    lambda: or_(Report.reporter_id == user.id, Report.assignee_id == user.id))


@rule
def report_contact(user: User | None) -> ColumnElement:
    """Return the condition on Report rows whose resident's contact the user may read: staff the reports of their
    area (as visible()); a volunteer (even as reporter or assignee), someone signed out or any other role never.
    Every page and export that shows Report.contact asks this rule (reports.queries.contact, the exports)."""
    return by_area(user, Report.town_id, Report.committee_id, false)


def may_manage_committee(user: User, committee: Area) -> bool:
    """Tell whether a supervisor may put a report under this committee."""
    if user.role == "district_admin":
        return True
    return user.role == "town_supervisor" and committee.parent is not None and committee.parent.code == user.area.code


@rule
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


@rule
def visible_towns(user: User) -> ColumnElement:
    """Return the condition on town Area rows a user's map may outline: all, their town, or their committee's."""
    if user.role == "district_admin":
        return true()
    if user.area is None or user.role not in ("town_supervisor", "committee_staff"):
        return false()
    town = user.area if user.role == "town_supervisor" else user.area.parent
    return false() if town is None else Area.code == town.code


@rule
def visible_rollup(user: User | None) -> ColumnElement | None:
    """The condition on ReportRollup rows for a user, or None when counts cannot come from the rollup
    (a volunteer sees reports by reporter or assignee, which the rollup does not keep)."""
    return visible_cube(user, ReportRollup)


@rule
def visible_cube(user: User | None, cube) -> ColumnElement | None:
    """The condition on the rows of a table of counts per town (and committee) for a user, or None when its rows
    cannot tell what the user may see (committee staff on a per-town table; volunteers, who see by reporter)."""
    committee = getattr(cube, "committee_id", None)
    if user is not None and user.role == "committee_staff" and committee is None:
        return None
    return by_area(user, cube.town_id, committee, lambda: None)
