"""Find what a new report may repeat: open reports nearby, and the same or a near-identical photo."""
import uuid
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, text

from service.accounts import scope
from service.db import db
from service.models import Report
from service.reports.workflow import OPEN_SQL

MAX_SUGGESTIONS = 5


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
