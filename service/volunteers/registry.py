"""The volunteer registry: profiles beside user accounts, looked up within scope, and the roster's bulk upsert."""
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select, text

from service.core import clock
from service.core.db import copy_rows, db
from service.core.errors import NotFound
from service.core.models import Area, User
from service.volunteers import queries
from service.volunteers.models import Volunteer

# The availability a roster may state, as stored (codes) and as read and written in the roster (labels).
AVAILABILITY = {"weekday_day": "工作日白天", "weekday_evening": "工作日晚间", "weekend": "周末"}


def get_volunteer(user_id: int | str, viewer: User) -> Volunteer:
    """Return a volunteer the viewer may see; an unknown or out-of-scope id is the same 404."""
    found, wanted = None, queries.as_id(user_id)
    if wanted is not None:
        found = db.session.scalar(select(Volunteer).where(Volunteer.user_id == queries.wide(wanted),
                                                          queries.visible(viewer)))
    if found is None:
        raise NotFound("volunteer_not_found", _("找不到该志愿者，请检查编号是否正确。"))
    return found


def own_profile(user: User) -> Volunteer:
    """Return the caller's own profile, or a 404 that says how to get one."""
    found = db.session.get(Volunteer, user.id)
    if found is None:
        raise NotFound("not_a_volunteer", _("您还不是登记在册的志愿者，请联系所在居村委登记。"))
    return found


def mask(name: str) -> str:
    """A name as the public sees it: the family name and one star per other character (张三丰 -> 张**)."""
    name = name.strip()
    return name[:1] + "*" * max(len(name) - 1, 1)


def to_json(v: Volunteer, phone: str) -> dict:
    return {
        "id": v.user_id, "real_name": v.real_name, "phone": phone, "committee": v.committee_code,
        "team": v.team, "skills": list(v.skills), "tags": list(v.tags), "availability": list(v.availability),
        "active": v.active,
    }


def current_committees() -> dict[str, str]:
    """Codes and names of the committees of the current boundary generation."""
    newest = select(db.func.max(Area.generation)).where(Area.level == "committee").scalar_subquery()
    rows = db.session.execute(select(Area.code, Area.name).where(Area.level == "committee",
                                                                 Area.generation == newest))
    return dict(rows.all())


@dataclass
class UpsertResult:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    accounts_created: int = 0


ROSTER_COLUMNS = ("line", "real_name", "phone", "committee_code", "team", "skills", "tags", "availability",
                  "active")
ROSTER_TYPES = ("int4", "text", "text", "text", "text", "text[]", "text[]", "text[]", "bool")

STAGE = text("CREATE TEMP TABLE roster_in (line int, real_name text, phone text, committee_code text, team text,"
             " skills text[], tags text[], availability text[], active boolean) ON COMMIT DROP")

# Phones of accounts that are not volunteers (staff): the roster must not turn them into volunteers.
CONFLICTS = text("SELECT r.line FROM roster_in r JOIN \"user\" u ON u.phone = r.phone"
                 " WHERE u.role <> 'volunteer' ORDER BY r.line")

# New accounts get their committee of the current generation as area, as accounts made by hand have.
ACCOUNTS = text("""
INSERT INTO "user" (name, phone, role, active, area_id)
SELECT r.real_name, r.phone, 'volunteer', true, a.id FROM roster_in r
LEFT JOIN area a ON a.code = r.committee_code AND a.level = 'committee'
  AND a.generation = (SELECT max(generation) FROM area WHERE level = 'committee')
ON CONFLICT (phone) DO NOTHING
""")

PROFILES = text("""
WITH up AS (
  INSERT INTO volunteer (user_id, real_name, committee_code, team, skills, tags, availability, active)
  SELECT u.id, r.real_name, r.committee_code, r.team, r.skills, r.tags, r.availability, r.active
  FROM roster_in r JOIN "user" u ON u.phone = r.phone
  ON CONFLICT (user_id) DO UPDATE SET real_name = EXCLUDED.real_name, committee_code = EXCLUDED.committee_code,
    team = EXCLUDED.team, skills = EXCLUDED.skills, tags = EXCLUDED.tags, availability = EXCLUDED.availability,
    active = EXCLUDED.active, updated_at = :now
  WHERE (volunteer.real_name, volunteer.committee_code, volunteer.team, volunteer.skills, volunteer.tags,
         volunteer.availability, volunteer.active)
    IS DISTINCT FROM (EXCLUDED.real_name, EXCLUDED.committee_code, EXCLUDED.team, EXCLUDED.skills, EXCLUDED.tags,
                      EXCLUDED.availability, EXCLUDED.active)
  RETURNING (xmax = 0) AS inserted)
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up
""")


def stage_roster(rows, progress=None) -> list[int]:
    """COPY valid roster rows into a temporary table; return the lines whose phone belongs to a staff account."""
    db.session.execute(STAGE)
    copy_rows("roster_in", ROSTER_COLUMNS, rows, progress, ROSTER_TYPES)
    return list(db.session.scalars(CONFLICTS))


def upsert_staged(staged: int, skip_lines: list[int]) -> UpsertResult:
    """Insert or update profiles (and accounts) from the staged rows in set-based SQL; the caller commits."""
    if skip_lines:
        db.session.execute(text("DELETE FROM roster_in WHERE line = ANY(:lines)"), {"lines": skip_lines})
    accounts = db.session.execute(ACCOUNTS).rowcount
    inserted, updated = db.session.execute(PROFILES, {"now": clock.now()}).one()
    return UpsertResult(inserted, updated, staged - len(skip_lines) - inserted - updated, accounts)


EXPORT = (select(User.phone, Volunteer).join(User, User.id == Volunteer.user_id).order_by(Volunteer.user_id))
COUNT = select(db.func.count()).select_from(Volunteer)
