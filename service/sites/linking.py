"""What intake asks of this area for a new report: the key site it was seen at, the site's risk rule, and
whether it repeats a hazard verified here lately."""
from flask import current_app
from sqlalchemy import select, text

from service.core import clock, events
from service.core.db import db
from service.core.models import Report, ReportEvent, User
from service.reports import deadlines
from service.rules.categories import RISK_LEVELS
from service.sites import recurrence
from service.sites.models import Site, visible_sites

RISK_ORDER = list(RISK_LEVELS)  # general < major < suspected_severe


# One statement, one round trip, written as SQL text because intake runs it every time: building and
# caching a Core select of this size cost more than running it. Both parts use a partial or expression GiST
# index (the status literal and the bare ::geography match ix_report_verified_geog and ix_site_geog); the site
# part takes a polygon covering the point first, else the nearest site point within the link distance.
LINKS = text("""
SELECT (SELECT r.id FROM report r
         WHERE r.status = 'verified' AND r.category = :category
           AND r.updated_at > CAST(:now AS timestamptz) - :days * interval '1 day'
           AND ST_DWithin(r.location::geography, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography, :radius)
         ORDER BY r.location::geography <-> ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography, r.id
         LIMIT 1) AS earlier,
       s.id, s.external_id, s.name, s.risk_class
  FROM (SELECT 1) one
  LEFT JOIN LATERAL (
    SELECT id, external_id, name, risk_class FROM site
     WHERE ST_DWithin(geom::geography, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography, :site_m)
       AND (GeometryType(geom) = 'POINT' OR ST_Covers(geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)))
     ORDER BY GeometryType(geom) = 'POINT', geom::geography <-> ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography,
              id
     LIMIT 1) s ON true
""")


def links_params(lon: float, lat: float, category: str) -> dict:
    cfg = current_app.config
    return {"lon": lon, "lat": lat, "category": category, "days": cfg["RECURRENCE_WINDOW_DAYS"], "now": clock.now(),
            "radius": cfg["RECURRENCE_RADIUS_M"], "site_m": cfg["SITE_LINK_DISTANCE_M"]}


def apply_rule(report: Report, site) -> ReportEvent | None:
    """Raise the report's risk and shorten its deadline as the site's risk class says; the event records it."""
    cfg = current_app.config
    floor = cfg["SITE_RISK_FLOOR"].get(site.risk_class)
    factor = cfg["SITE_DEADLINE_FACTOR"].get(site.risk_class, 1.0)
    risk = report.risk_level
    if floor in RISK_ORDER and RISK_ORDER.index(floor) > RISK_ORDER.index(risk):
        risk = floor
    if risk == report.risk_level and factor >= 1.0:
        return None
    start = report.due_at - deadlines.deadline(report.risk_level)
    due = start + deadlines.deadline(risk) * min(factor, 1.0)
    data = {"site": site.external_id, "site_name": site.name, "risk_class": site.risk_class,
            "risk_from": report.risk_level, "risk_to": risk, "due_from": report.due_at.isoformat(),
            "due_to": due.isoformat()}
    report.risk_level, report.due_at = risk, due
    return ReportEvent(kind="site_rule", from_status=report.status, to_status=report.status,
                       actor_label="system", note="", data=data)


def report_prepared(e: events.ReportPrepared) -> list[ReportEvent]:
    return at_intake(e.report, e.lon, e.lat)


def at_intake(report: Report, lon: float, lat: float) -> list[ReportEvent]:
    """Link a new, not yet stored report to its site and to the report it repeats; return events to record
    after its first one."""
    found = db.session.execute(LINKS, links_params(lon, lat, report.category)).one()
    if found.earlier is not None:
        recurrence.mark(report, found.earlier)
    if found.id is None:
        return []
    report.site_id = found.id
    rule = apply_rule(report, found)
    return [rule] if rule else []


def for_detail(report: Report, user: User) -> dict:
    """What the detail page shows of the links: the site (if the user may see it) and the earlier report."""
    site = db.session.scalar(select(Site).where(Site.id == report.site_id, visible_sites(user))) \
        if report.site_id else None
    return {"site": site, "earlier": recurrence.earlier(report, user)}
