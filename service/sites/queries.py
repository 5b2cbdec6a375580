"""Named selects of the site pages: the scoped registry in pages, a site's reports and its figures."""

from sqlalchemy import case, func, select, text, tuple_
from sqlalchemy.orm import selectinload

from service.accounts import scope
from service.core import clock, cursors
from service.core.db import db
from service.core.models import Report, User
from service.reports import deadlines
from service.rules.workflow import OPEN_SQL
from service.sites.models import Inspection, Site, visible_sites

PAGE = 50


def split(rows: list, key) -> tuple[list, str | None]:
    """A page of PAGE rows (fetched PAGE + 1) and the cursor of the next page, or None on the last."""
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    return rows, (cursors.encode(*key(rows[-1])) if more else None)


def sites_page(user: User, cursor: str = "", kind: str = "") -> tuple[list[Site], str | None]:
    """One page of the sites the user may see, by name (keyset on name, id), and the next page's cursor."""
    query = select(Site).where(visible_sites(user)).options(selectinload(Site.committee))
    if kind:
        query = query.where(Site.kind == kind)
    if cursor:
        name, sid = cursors.decode(cursor, cursors.TEXT, cursors.INT)
        query = query.where(tuple_(Site.name, Site.id) > tuple_(name, sid))
    return split(db.session.scalars(query.order_by(Site.name, Site.id).limit(PAGE + 1)).all(),
                 lambda s: (s.name, s.id))


def reports_page(site: Site, user: User, cursor: str = "") -> tuple[list[Report], str | None]:
    """One page of the site's reports the user may see, newest first (ix_report_site_created), and the next
    page's cursor."""
    query = (select(Report).where(Report.site_id == site.id, scope.visible(user))
             .options(selectinload(Report.committee)))
    if cursor:
        at, rid = cursors.decode(cursor, cursors.DATETIME, cursors.UUID)
        query = query.where(tuple_(Report.created_at, Report.id) < tuple_(at, rid))
    rows = db.session.scalars(query.order_by(Report.created_at.desc(), Report.id.desc()).limit(PAGE + 1)).all()
    return split(rows, lambda r: (r.created_at.isoformat(), r.id))


def figures(site: Site, user: User) -> dict:
    """The site's reports in the user's scope: all, open, and overdue, counted in SQL over the whole history."""
    is_open = text(f"report.status IN ({OPEN_SQL})")
    row = db.session.execute(
        select(func.count(), func.count(case((is_open, 1))),
               func.count(case((deadlines.overdue(clock.now()), 1))))
        .where(Report.site_id == site.id, scope.visible(user))).one()
    return {"reports": row[0], "open": row[1], "overdue": row[2]}


def last_inspection(site: Site) -> Inspection | None:
    """The site's latest finished inspection (ix_inspection_site_id_finished_at)."""
    return db.session.scalar(select(Inspection).where(Inspection.site_id == site.id,
                                                      Inspection.finished_at.is_not(None))
                             .order_by(Inspection.finished_at.desc()).limit(1))
