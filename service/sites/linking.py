"""What intake asks of this area for a new report: the key site it was seen at, the site's risk rule, and
whether it repeats a hazard verified here lately."""
from flask import current_app
from sqlalchemy import Select, cast, func, literal, select, true

from service.accounts import scope
from service.db import db
from service.models import Report, ReportEvent, User
from service.reports import deadlines
from service.reports.categories import RISK_LEVELS
from service.reports.duplicates import GEOGRAPHY
from service.sites import recurrence
from service.sites.models import Site

RISK_ORDER = list(RISK_LEVELS)  # general < major < suspected_severe


def site_select(lon: float, lat: float) -> Select:
    """The site a WGS-84 point belongs to: a polygon covering it first, else the nearest point within the
    link distance (both found through ix_site_geog)."""
    point = func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326)
    spot, geog = cast(point, GEOGRAPHY), cast(Site.geom, GEOGRAPHY)
    is_point = func.GeometryType(Site.geom) == literal("POINT")
    return (select(Site.id, Site.external_id, Site.name, Site.risk_class)
            .where(func.ST_DWithin(geog, spot, current_app.config["SITE_LINK_DISTANCE_M"]),
                   is_point | func.ST_Covers(Site.geom, point))
            .order_by(is_point, geog.op("<->")(spot), Site.id).limit(1))


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


def links_select(lon: float, lat: float, category: str) -> Select:
    """One row, in one round trip: the verified report a new one repeats (or NULL), and its site's columns."""
    site = site_select(lon, lat).subquery()
    one = select(literal(1).label("one")).subquery()
    return (select(recurrence.recurrence_select(lon, lat, category).scalar_subquery().label("earlier"), site)
            .select_from(one.outerjoin(site, true())))


def at_intake(report: Report, lon: float, lat: float) -> list[ReportEvent]:
    """Link a new, not yet stored report to its site and to the report it repeats; return events to record
    after its first one."""
    found = db.session.execute(links_select(lon, lat, report.category)).one()
    if found.earlier is not None:
        recurrence.mark(report, found.earlier)
    if found.id is None:
        return []
    report.site_id = found.id
    rule = apply_rule(report, found)
    return [rule] if rule else []


def for_detail(report: Report, user: User) -> dict:
    """What the detail page shows of the links: the site (if the user may see it) and the earlier report."""
    site = db.session.scalar(select(Site).where(Site.id == report.site_id, scope.visible_sites(user))) \
        if report.site_id else None
    return {"site": site, "earlier": recurrence.earlier(report, user)}
