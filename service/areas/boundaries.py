"""Named queries over boundaries: the generation in force, one at a past date, GeoJSON export."""
import json
from collections.abc import Sequence

from sqlalchemy import func, select, text
from sqlalchemy.orm import aliased

from geo.boundaries import Boundary
from service.core.db import db
from service.core.models import Area

LEVELS = ("district", "town", "committee")


def current_generation(level: str) -> int:
    """Return the newest boundary generation of a level (0 when none was imported); its rows are in force."""
    return db.session.scalar(select(func.coalesce(func.max(Area.generation), 0)).where(Area.level == level))


def generation_at(level: str, when) -> int | None:
    """The generation of a level that was in force at a moment, or None before the first import."""
    return db.session.scalar(text("SELECT max(number) FROM boundary_generation WHERE level = :level"
                                  " AND created_at <= :when"), {"level": level, "when": when})


def latest(code: str, level: str | None = None) -> Area | None:
    """The newest generation's row for an area code (codes are stable across generations, ids are not)."""
    query = select(Area).where(Area.code == code)
    if level is not None:
        query = query.where(Area.level == level)
    return db.session.scalar(query.order_by(Area.generation.desc()).limit(1))


def committee_choices(user) -> list[tuple[str, str]]:
    """(code, name) of the current committees a user may see, for filter forms."""
    from service.accounts.scope import visible_committees

    rows = db.session.execute(select(Area.code, Area.name).where(
        Area.level == "committee", Area.generation == current_generation("committee"), visible_committees(user))
        .order_by(Area.code))
    return [tuple(r) for r in rows]


def current_areas(level: str):
    """Select the areas of the current generation of a level."""
    return select(Area).where(Area.level == level, Area.generation == current_generation(level))


def feature_collection(level: str, precision: int = 6) -> dict:
    """Return the current areas of a level as a WGS-84 GeoJSON FeatureCollection.

    Six decimals (~0.1 m) is plenty to draw; a round trip through an import needs full precision,
    or the rounding opens slivers between neighbours.
    """
    parent = aliased(Area)
    rows = db.session.execute(
        select(Area.code, Area.name, Area.level, Area.kind, parent.code, func.ST_AsGeoJSON(Area.geom, precision))
        .outerjoin(parent, Area.parent_id == parent.id)
        .where(Area.level == level, Area.generation == current_generation(level))
        .order_by(Area.code)
    ).all()
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": c, "name": n, "level": lv, "kind": k, "parent_code": p},
                "geometry": json.loads(g),
            }
            for c, n, lv, k, p, g in rows
        ],
    }


def missing_parents(boundaries: Sequence[Boundary], level: str) -> list[str]:
    """Return parent codes that the current generation of the level above lacks."""
    parent_level = {"committee": "town", "town": "district"}.get(level)
    wanted = {b.parent_code for b in boundaries if b.parent_code}
    if not parent_level or not wanted:
        return []
    have = set(db.session.scalars(select(Area.code).where(
        Area.level == parent_level, Area.generation == current_generation(parent_level))))
    return sorted(wanted - have)


def analyze() -> None:
    """Refresh the planner statistics of the areas and their cells (as the owner: migration 0024), including
    rows this transaction wrote; without them assignment falls back to seq scans and serial plans."""
    db.session.execute(text("SELECT analyze_areas()"))


def has_areas() -> bool:
    return db.session.execute(text("SELECT EXISTS (SELECT 1 FROM area WHERE level = 'committee')")).scalar()


def recent_generations(limit: int = 20) -> list:
    """The latest imports of every level, newest first, with how many areas each brought in."""
    return db.session.execute(text("""
        SELECT g.level, g.number, g.towns, g.source, g.created_at, g.reassigned_at,
               (SELECT count(*) FROM area a WHERE a.level = g.level AND a.generation_low = g.number) AS new_areas
          FROM boundary_generation g ORDER BY g.created_at DESC, g.level LIMIT :limit"""), {"limit": limit}).all()
