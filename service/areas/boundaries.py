"""Named queries over boundaries: current generation, GeoJSON export and boundary import."""
import json
from collections.abc import Callable, Sequence

from geoalchemy2.shape import from_shape
from sqlalchemy import func, select, text
from sqlalchemy.orm import aliased

from geo.boundaries import Boundary
from service.db import db
from service.models import Area

LEVELS = ("district", "town", "committee")


def current_generation(level: str) -> int:
    """Return the newest boundary generation of a level (0 when none was imported)."""
    return db.session.scalar(select(func.coalesce(func.max(Area.generation), 0)).where(Area.level == level))


def latest(code: str, level: str | None = None) -> Area | None:
    """The newest generation's row for an area code (codes are stable across generations, ids are not)."""
    query = select(Area).where(Area.code == code)
    if level is not None:
        query = query.where(Area.level == level)
    return db.session.scalar(query.order_by(Area.generation.desc()).limit(1))


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


def import_boundaries(boundaries: Sequence[Boundary], level: str,
                      progress: Callable[[int], None] = lambda n: None) -> int:
    """Insert boundaries of one level as a new generation; return that generation.

    Parents are looked up by code in the current generation of the level above. The caller
    commits, so a failure leaves the previous generation in force.
    """
    generation = current_generation(level) + 1
    parent_level = {"committee": "town", "town": "district"}.get(level)
    parents = {}
    if parent_level:
        parents = dict(db.session.execute(
            select(Area.code, Area.id).where(Area.level == parent_level,
                                             Area.generation == current_generation(parent_level))
        ).all())
    for i, b in enumerate(boundaries, 1):
        db.session.add(Area(
            code=b.code, name=b.name, level=level, kind=b.kind, generation=generation,
            parent_id=parents.get(b.parent_code), geom=from_shape(b.geom, srid=4326),
        ))
        if i % 50 == 0:
            db.session.flush()
        progress(1)
    db.session.flush()
    return generation


def missing_parents(boundaries: Sequence[Boundary], level: str) -> list[str]:
    """Return parent codes that the current generation of the level above lacks."""
    parent_level = {"committee": "town", "town": "district"}.get(level)
    wanted = {b.parent_code for b in boundaries if b.parent_code}
    if not parent_level or not wanted:
        return []
    have = set(db.session.scalars(select(Area.code).where(
        Area.level == parent_level, Area.generation == current_generation(parent_level))))
    return sorted(wanted - have)


def commit_import() -> None:
    """Commit an import and refresh planner statistics, without which assignment falls back to seq scans."""
    db.session.commit()
    db.session.execute(text("ANALYZE area"))
    db.session.commit()


def has_areas() -> bool:
    return db.session.execute(text("SELECT EXISTS (SELECT 1 FROM area WHERE level = 'committee')")).scalar()
