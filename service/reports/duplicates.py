"""Find what a new report may repeat: open reports nearby, and the same or a near-identical photo."""
import uuid
from datetime import timedelta

from flask import current_app
from geoalchemy2 import Geography
from sqlalchemy import Select, cast, func, select, text
from sqlalchemy.orm import aliased, joinedload

from service.accounts import scope
from service.db import db
from service.models import Report
from service.reports.categories import CATEGORIES
from service.reports.workflow import OPEN_SQL, STATUS_LABELS

MAX_SUGGESTIONS = 5
# A bare ::geography, as in the index expressions: a typmod (geography(Point,4326)) would not match them.
GEOGRAPHY = Geography(geometry_type=None, srid=-1)


# Literal statuses (not a bind parameter) so the planner can match the partial index ix_report_open_geog.
NEARBY_SQL = text(f"""
    SELECT o.id, ST_Distance(o.location::geography, r.geog) AS d
      FROM (SELECT location::geography AS geog FROM report WHERE id = :id) r, report o
     WHERE o.id <> :id AND o.category = :category
       AND o.status IN ({OPEN_SQL})
       AND o.created_at > now() - :window
       AND ST_DWithin(o.location::geography, r.geog, :radius)
     ORDER BY o.location::geography <-> r.geog, o.id
     LIMIT :n
""")


def nearby_params(report_id: uuid.UUID, category: str) -> dict:
    return {"id": report_id, "category": category, "n": MAX_SUGGESTIONS,
            "radius": current_app.config["DUPLICATE_RADIUS_M"],
            "window": timedelta(days=current_app.config["DUPLICATE_WINDOW_DAYS"])}


def nearby_open(report_id: uuid.UUID, category: str, user) -> list[dict]:
    """Return open reports of the same category near this one that the user may see, nearest first."""
    if user is None:
        return []  # residents must not learn where other reports are
    rows = db.session.execute(NEARBY_SQL, nearby_params(report_id, category)).all()
    visible = set(db.session.scalars(select(Report.id).where(Report.id.in_([r[0] for r in rows]),
                                                             scope.visible(user))))
    return [{"id": str(rid), "distance_m": round(d, 1)} for rid, d in rows if rid in visible]


def recent_verified_select(report_id: uuid.UUID, category: str, user) -> Select:
    """The select behind recent_verified: (id, metres), nearest first, only what the user may see."""
    here = aliased(Report)
    spot = select(cast(here.location, GEOGRAPHY)).where(here.id == report_id).scalar_subquery()
    geog = cast(Report.location, GEOGRAPHY)
    days = timedelta(days=current_app.config["RECENT_VERIFIED_DAYS"])
    # A verified report changes no more, so updated_at is when it was verified. The status is a literal so the
    # planner matches the partial index ix_report_verified_geog; the scope is inside, so LIMIT counts only
    # reports the user may see.
    return (select(Report.id, func.ST_Distance(geog, spot))
            .where(Report.id != report_id, Report.category == category, text("report.status = 'verified'"),
                   Report.updated_at > func.now() - days,
                   func.ST_DWithin(geog, spot, current_app.config["DUPLICATE_RADIUS_M"]), scope.visible(user))
            .order_by(geog.op("<->")(spot), Report.id).limit(MAX_SUGGESTIONS))


def recent_verified(report_id: uuid.UUID, category: str, user) -> list[dict]:
    """Return reports of the same category verified at this spot lately that the user may see, nearest first."""
    if user is None:
        return []
    rows = db.session.execute(recent_verified_select(report_id, category, user)).all()
    return [{"id": str(rid), "distance_m": round(d, 1)} for rid, d in rows]


def described(found: list[dict]) -> list[dict]:
    """Add what the detail page shows of each suggestion, loaded in one query, keeping the order (nearest first)."""
    ids = [uuid.UUID(f["id"]) for f in found]
    loaded = {r.id: r for r in db.session.scalars(
        select(Report).options(joinedload(Report.committee)).where(Report.id.in_(ids)))}
    return [{**f, "category_name": str(CATEGORIES[r.category].name), "status": r.status,
             "status_label": str(STATUS_LABELS[r.status]),
             "committee": r.committee.name, "created_at": r.created_at}
            for f in found if (r := loaded.get(uuid.UUID(f["id"]))) is not None]


def photo_duplicate_of(sha256s: list[str], phashes: list[int], exclude: uuid.UUID | None = None) -> uuid.UUID | None:
    """Return the newest other report holding the same photo, or one within a few bits of perceptual hash."""
    # A near-flat picture (a blank wall, a dark frame) hashes to almost all 0s or 1s and would match every
    # other flat picture, so only informative hashes take part in the perceptual comparison.
    phashes = [h for h in phashes if 8 <= (h & 0xFFFF_FFFF_FFFF_FFFF).bit_count() <= 56]
    return db.session.scalar(text(
        """
        SELECT p.report_id FROM photo p
         WHERE p.report_id IS DISTINCT FROM :exclude
           AND (p.sha256 = ANY(:shas)
                OR EXISTS (SELECT 1 FROM unnest(CAST(:hashes AS bigint[])) h
                            WHERE bit_count(CAST(p.phash # h AS bit(64))) <= :bits))
         ORDER BY p.created_at DESC, p.id DESC
         LIMIT 1
        """), {"shas": sha256s, "hashes": phashes, "bits": current_app.config["PHASH_MAX_BITS"], "exclude": exclude})
