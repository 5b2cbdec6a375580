"""Find what a new report may repeat: open reports nearby, and the same or a near-identical photo."""
import uuid
from datetime import timedelta

from flask import current_app
from geoalchemy2 import Geography
from sqlalchemy import Select, cast, func, select, text
from sqlalchemy.orm import aliased, joinedload

from service.accounts import scope
from service.core import clock
from service.core.db import db
from service.core.models import Report
from service.rules.categories import CATEGORIES
from service.rules.workflow import OPEN_SQL, STATUS_LABELS

MAX_SUGGESTIONS = 5
# A bare ::geography, as in the index expressions: a typmod (geography(Point,4326)) would not match them.
GEOGRAPHY = Geography(geometry_type=None, srid=-1)


def _near(report_id: uuid.UUID, category: str, user, statuses: str, since) -> Select:
    """(id, metres) of the user's reports of a category near this one, nearest first, at most MAX_SUGGESTIONS.

    Statuses are a literal so the planner matches the partial GiST index of those statuses; the scope is inside
    the query, so the LIMIT counts only reports the user may see.
    """
    here = aliased(Report)
    spot = select(cast(here.location, GEOGRAPHY)).where(here.id == report_id).scalar_subquery()
    geog = cast(Report.location, GEOGRAPHY)
    return (select(Report.id, func.ST_Distance(geog, spot))
            .where(Report.id != report_id, Report.category == category, text(f"report.status IN ({statuses})"),
                   since, func.ST_DWithin(geog, spot, current_app.config["DUPLICATE_RADIUS_M"]), scope.visible(user))
            .order_by(geog.op("<->")(spot), Report.id).limit(MAX_SUGGESTIONS))


def nearby_select(report_id: uuid.UUID, category: str, user) -> Select:
    """Open reports filed lately near this one (served by ix_report_open_geog)."""
    days = timedelta(days=current_app.config["DUPLICATE_WINDOW_DAYS"])
    return _near(report_id, category, user, OPEN_SQL, Report.created_at > clock.now() - days)


def nearby_open(report_id: uuid.UUID, category: str, user) -> list[dict]:
    """Return open reports of the same category near this one that the user may see, nearest first."""
    if user is None:
        return []  # residents must not learn where other reports are
    rows = db.session.execute(nearby_select(report_id, category, user)).all()
    return [{"id": str(rid), "distance_m": round(d, 1)} for rid, d in rows]


def recent_verified_select(report_id: uuid.UUID, category: str, user) -> Select:
    """Reports verified lately at this spot (served by ix_report_verified_geog). A verified report changes no
    more, so updated_at is when it was verified."""
    days = timedelta(days=current_app.config["RECENT_VERIFIED_DAYS"])
    return _near(report_id, category, user, "'verified'", Report.updated_at > clock.now() - days)


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


BANDS, BAND_BITS = 4, 16  # the phash's bands, one expression index each (migration 0018)


def band_expression(band: int) -> str:
    return f"((p.phash >> {BAND_BITS * (BANDS - 1 - band)}) & {(1 << BAND_BITS) - 1})"


def phash_probes(phashes: list[int], max_bits: int) -> list[list[int]]:
    """For each band, the values a hash within max_bits of one of these may hold there (in at least one band).

    Pigeonhole: a difference of at most max_bits bits leaves some band within max_bits // BANDS bits, so probing
    every band value within that radius finds every candidate; the full distance is then checked on those alone."""
    from itertools import combinations

    radius, probes = max_bits // BANDS, [set() for _ in range(BANDS)]
    for h in phashes:
        h &= (1 << 64) - 1
        for band in range(BANDS):
            value = (h >> (BAND_BITS * (BANDS - 1 - band))) & ((1 << BAND_BITS) - 1)
            for r in range(radius + 1):
                for flips in combinations(range(BAND_BITS), r):
                    near = value
                    for bit in flips:
                        near ^= 1 << bit
                    probes[band].add(near)
    return [sorted(p) for p in probes]


# The newest other report holding the same photo (sha256 b-trees) or a near one (a phash band matches, by its
# index, then the whole Hamming distance is checked on those candidates).
PHOTO_MATCH_SQL = f"""
    SELECT report_id FROM (
        SELECT p.report_id, p.created_at, p.id FROM photo p
         WHERE p.sha256 = ANY(:shas) OR p.phone_original_sha256 = ANY(:shas)
        UNION ALL
        SELECT p.report_id, p.created_at, p.id FROM photo p
         WHERE ({" OR ".join(f"{band_expression(b)} = ANY(CAST(:band{b} AS bigint[]))" for b in range(BANDS))})
           AND EXISTS (SELECT 1 FROM unnest(CAST(:hashes AS bigint[])) h
                        WHERE bit_count(CAST(p.phash # h AS bit(64))) <= :bits)
    ) found
     WHERE report_id IS DISTINCT FROM :exclude
     ORDER BY created_at DESC, id DESC
     LIMIT 1
"""


def photo_match_params(sha256s: list[str], phashes: list[int], exclude: uuid.UUID | None = None) -> dict:
    # A near-flat picture (a blank wall, a dark frame) hashes to almost all 0s or 1s and would match every
    # other flat picture, so only informative hashes take part in the perceptual comparison.
    phashes = [h for h in phashes if 8 <= (h & 0xFFFF_FFFF_FFFF_FFFF).bit_count() <= 56]
    bits = current_app.config["PHASH_MAX_BITS"]
    return {"shas": sha256s, "hashes": phashes, "bits": bits, "exclude": exclude,
            **{f"band{b}": values for b, values in enumerate(phash_probes(phashes, bits))}}


def photo_duplicate_of(sha256s: list[str], phashes: list[int], exclude: uuid.UUID | None = None) -> uuid.UUID | None:
    """Return the newest other report holding the same photo, or one within a few bits of perceptual hash;
    index-backed at any size (PHOTO_MATCH_SQL)."""
    return db.session.scalar(text(PHOTO_MATCH_SQL), photo_match_params(sha256s, phashes, exclude))
