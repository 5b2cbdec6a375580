"""Named selects of the volunteer registry and ledger: who sees whom, the keyset page, hours that count."""
import re

from sqlalchemy import BigInteger, ColumnElement, Select, and_, exists, false, func, literal, not_, or_, select, true
from sqlalchemy.orm import aliased

from service.accounts import scope
from service.core.models import Area, User
from service.rules.roles import STAFF
from service.volunteers.models import ServiceHourDecision, ServiceHourEntry, Volunteer

Entry, Decision = ServiceHourEntry, ServiceHourDecision
# A correction of an entry and its decision, named once: a fresh alias per query re-adapted its columns each time
# (a third of the volunteers section's time on the dashboard).
Fix, FixDecision = aliased(Entry, name="fix"), aliased(Decision, name="fix_decision")
# Ids and cursors from URLs: ASCII digits only (str.isdigit also takes "²", which int() refuses), within bigint.
ID = re.compile(r"[0-9]{1,18}")


def as_id(raw: str | int) -> int | None:
    """An id from a URL or body, or None when it cannot name a row."""
    return int(raw) if ID.fullmatch(str(raw)) else None


def wide(value: int) -> ColumnElement:
    """An id from a URL as a bigint bind: user ids are integer columns, and a URL's id may be past their range
    (bound as integer, PostgreSQL would refuse it with an error instead of matching nothing)."""
    return literal(value, BigInteger)


def town_committee_codes(town_code: str) -> Select:
    """Codes of the committees under a town, in any generation (areas are compared by code)."""
    committee, town = aliased(Area), aliased(Area)
    return (select(committee.code).join(town, committee.parent_id == town.id)
            .where(town.code == town_code, committee.level == "committee"))


def visible(user: User | None) -> ColumnElement:
    """Return the condition on Volunteer rows the user may read (fail closed for a role without an area)."""
    if user is None:
        return false()
    if user.role == "district_admin":
        return true()
    if user.role == "town_supervisor" and user.area is not None:
        return Volunteer.committee_code.in_(town_committee_codes(user.area.code))
    if user.role == "committee_staff" and user.area is not None:
        return Volunteer.committee_code == user.area.code
    return Volunteer.user_id == user.id


def page(user: User, filters: dict, after: int, limit: int) -> Select:
    """One keyset page of the visible volunteers, by user id; filters: committee, team, skill, tag, active."""
    query = (select(Volunteer, User.phone).join(User, User.id == Volunteer.user_id)
             .where(visible(user), Volunteer.user_id > wide(after)).order_by(Volunteer.user_id).limit(limit))
    if filters.get("committee"):
        query = query.where(Volunteer.committee_code == filters["committee"])
    if filters.get("team"):
        query = query.where(Volunteer.team == filters["team"])
    if filters.get("skill"):
        query = query.where(Volunteer.skills.contains([filters["skill"]]))  # GIN: skills @> ARRAY[...]
    if filters.get("tag"):
        query = query.where(Volunteer.tags.contains([filters["tag"]]))
    if filters.get("active") is not None:
        query = query.where(Volunteer.active.is_(filters["active"]))
    return query


def _decided(entry, approved: bool | None = None) -> ColumnElement:
    cond = Decision.entry_id == entry.id
    return exists().where(cond if approved is None else and_(cond, Decision.approved.is_(approved)))


def _corrected(entry, by_approved_only: bool) -> ColumnElement:
    fix, fix_decision = Fix, FixDecision
    if by_approved_only:
        return exists().where(fix.corrects_id == entry.id, fix_decision.entry_id == fix.id,
                              fix_decision.approved.is_(True))
    refused = exists().where(fix_decision.entry_id == fix.id, fix_decision.approved.is_(False))
    return exists().where(fix.corrects_id == entry.id, not_(refused))


def counted(entry=Entry) -> ColumnElement:
    """An entry counts towards hours and stars: approved, and not replaced by an approved correction."""
    return and_(_decided(entry, True), not_(_corrected(entry, by_approved_only=True)))


def live(entry=Entry) -> ColumnElement:
    """An entry holds its time (for the daily cap and overlaps): not refused, not replaced by a live correction."""
    return and_(not_(_decided(entry, False)), not_(_corrected(entry, by_approved_only=False)))


def totals(volunteer_ids) -> Select:
    """Approved and pending hours per volunteer, summed over the whole ledger."""
    pending = not_(_decided(Entry))
    return (select(Entry.volunteer_id,
                   func.coalesce(func.sum(Entry.hours).filter(counted()), 0).label("approved"),
                   func.coalesce(func.sum(Entry.hours).filter(pending), 0).label("pending"))
            .where(Entry.volunteer_id.in_(volunteer_ids)).group_by(Entry.volunteer_id))


def day_hours(volunteer_id: int, service_date, excluding: int | None) -> Select:
    """Hours a volunteer already holds on one day, leaving out the entry being corrected."""
    query = select(func.coalesce(func.sum(Entry.hours), 0)).where(
        Entry.volunteer_id == volunteer_id, Entry.service_date == service_date, live())
    return query.where(Entry.id != excluding) if excluding else query


def overlapping(volunteer_id: int, started_at, ended_at, excluding: int | None) -> Select:
    """Live timed entries of a volunteer whose span overlaps [started_at, ended_at)."""
    span = func.tstzrange(Entry.started_at, Entry.ended_at)
    query = select(Entry.id).where(
        Entry.volunteer_id == volunteer_id, Entry.started_at.is_not(None),
        span.op("&&")(func.tstzrange(started_at, ended_at)), live())
    return query.where(Entry.id != excluding).limit(1) if excluding else query.limit(1)


def ledger(volunteer_id: int) -> Select:
    """A volunteer's ledger, newest first, with each entry's decision."""
    return (select(Entry, Decision).outerjoin(Decision, Decision.entry_id == Entry.id)
            .where(Entry.volunteer_id == volunteer_id).order_by(Entry.id.desc()))


def has_live_correction(entry_id: int) -> Select:
    """Tell whether an entry already has a correction that is not refused."""
    fix, fix_decision = Fix, FixDecision
    refused = exists().where(fix_decision.entry_id == fix.id, fix_decision.approved.is_(False))
    return select(exists().where(fix.corrects_id == entry_id, not_(refused)))


@scope.rule
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
