"""The site registry: the file import's set-based upsert (committee and town by assign_point), scoped reads,
and staff's hand correction of a report's site."""
import re
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select, text, update

from service.areas.assignment import max_distance
from service.core import clock
from service.core.db import copy_rows, db
from service.core.errors import Forbidden, Invalid, NotFound
from service.core.models import Report, ReportEvent, User
from service.reports import queries
from service.rules.roles import STAFF
from service.sites.kinds import RISK_CLASSES, SITE_KINDS
from service.sites.models import Site, visible_sites

STAGE_COLUMNS = ("line", "external_id", "kind", "name", "address", "geom", "contact", "risk_class")
STAGE = text("CREATE TEMP TABLE site_in (line int, external_id text, kind text, name text, address text,"
             " geom text, contact text, risk_class text) ON COMMIT DROP")

# Each staged site's committee and town, from its point (or a point on its polygon's surface).
PLACE = text("""
CREATE TEMP TABLE site_placed ON COMMIT DROP AS
SELECT s.line, s.external_id, s.kind, s.name, s.address, g.geom, s.contact, s.risk_class, a.committee_id, a.town_id
  FROM site_in s CROSS JOIN LATERAL (SELECT ST_GeomFromEWKT(s.geom) AS geom) g
  LEFT JOIN LATERAL assign_point(ST_PointOnSurface(g.geom), :maxd) a ON true
""")
OUTSIDE = text("SELECT line FROM site_placed WHERE committee_id IS NULL OR town_id IS NULL ORDER BY line")

UPSERT = text("""
WITH up AS (
  INSERT INTO site (external_id, kind, name, address, geom, committee_id, town_id, contact, risk_class)
  SELECT external_id, kind, name, address, geom, committee_id, town_id, contact, risk_class
    FROM site_placed WHERE committee_id IS NOT NULL AND town_id IS NOT NULL
  ON CONFLICT (external_id) DO UPDATE SET kind = EXCLUDED.kind, name = EXCLUDED.name, address = EXCLUDED.address,
    geom = EXCLUDED.geom, committee_id = EXCLUDED.committee_id, town_id = EXCLUDED.town_id,
    contact = EXCLUDED.contact, risk_class = EXCLUDED.risk_class, updated_at = :now
  WHERE (site.kind, site.name, site.address, ST_AsEWKB(site.geom), site.committee_id, site.town_id, site.contact,
         site.risk_class)
    IS DISTINCT FROM (EXCLUDED.kind, EXCLUDED.name, EXCLUDED.address, ST_AsEWKB(EXCLUDED.geom),
                      EXCLUDED.committee_id, EXCLUDED.town_id, EXCLUDED.contact, EXCLUDED.risk_class)
  RETURNING (xmax = 0) AS inserted)
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up
""")


@dataclass
class UpsertResult:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0


def stage(rows, progress=None) -> list[int]:
    """COPY valid rows into a temporary table and place them; return the lines outside the district."""
    db.session.execute(STAGE)
    copy_rows("site_in", STAGE_COLUMNS, rows, progress)
    db.session.execute(PLACE, {"maxd": max_distance()})
    return list(db.session.scalars(OUTSIDE))


def upsert_staged(staged: int, outside: list[int]) -> UpsertResult:
    """Insert new sites and update changed ones by external id, in one statement; the caller commits."""
    inserted, updated = db.session.execute(UPSERT, {"now": clock.now()}).one()
    return UpsertResult(inserted, updated, staged - len(outside) - inserted - updated)


def get_site(site_id, user: User) -> Site:
    """Return a site the user may see; an unknown or out-of-scope id is the same 404."""
    wanted = int(site_id) if re.fullmatch("[0-9]{1,9}", str(site_id)) else None
    found = db.session.scalar(select(Site).where(Site.id == wanted, visible_sites(user))) if wanted else None
    if found is None:
        raise NotFound("site_not_found", _("找不到该场所，请检查编号是否正确。"))
    return found


def to_json(site: Site) -> dict:
    return {"id": site.id, "external_id": site.external_id, "kind": site.kind, "kind_name": str(SITE_KINDS[site.kind]),
            "name": site.name, "address": site.address, "contact": site.contact, "risk_class": site.risk_class,
            "risk_class_name": str(RISK_CLASSES[site.risk_class]),
            "committee": {"code": site.committee.code, "name": site.committee.name},
            "town": {"code": site.town.code, "name": site.town.name}}


def relink(report_id: str, external_id: str | None, user: User, note: str = "") -> Report:
    """Staff correct the site a report is linked to (None unlinks); the event records both sites."""
    if user.role not in STAFF:
        raise Forbidden("forbidden", _("只有居村委工作人员、街镇督导或区级管理员可以更正关联场所。"))
    report = queries.get_report(report_id, user, for_update=True)
    site = None
    if external_id:
        site = db.session.scalar(select(Site).where(Site.external_id == external_id, visible_sites(user)))
        if site is None:
            raise Invalid("unknown_site", _("场所编号不存在或不在您的管辖范围内，请核对后重试。"))
    before = db.session.get(Site, report.site_id) if report.site_id else None
    if (before and before.id) == (site and site.id):
        raise Invalid("same_site", _("该上报已关联这个场所。"))
    db.session.add(ReportEvent(
        report=report, kind="site_link", from_status=report.status, to_status=report.status, actor_id=user.id,
        actor_label=user.name, note=note, data={"from": before and before.external_id, "to": site and site.external_id,
                                                "from_name": before and before.name, "to_name": site and site.name}))
    # Keep updated_at: for a verified report it is its verification time (service/sites/recurrence.py).
    db.session.execute(update(Report).where(Report.id == report.id)
                       .values(site_id=site and site.id, updated_at=Report.updated_at))
    db.session.commit()
    return report
