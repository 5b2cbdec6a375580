"""What a caller may see: one WHERE clause per role, applied inside every report query."""
from sqlalchemy import false, or_, select, true
from sqlalchemy.sql.elements import ColumnElement

from service.models import Area, Report, ReportRollup, User


def _same_code(column, user: User) -> ColumnElement:
    # By code, not id: a new boundary generation gives the same town or committee a new row.
    return column.in_(select(Area.id).where(Area.code == user.area.code))


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


def visible_rollup(user: User | None) -> ColumnElement | None:
    """The condition on ReportRollup rows for a user, or None when counts cannot come from the rollup
    (a volunteer sees reports by reporter or assignee, which the rollup does not keep)."""
    return _by_area(user, ReportRollup.town_id, ReportRollup.committee_id, lambda: None)
