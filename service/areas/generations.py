"""Import a level's boundaries as a new generation: whole, or only some towns; previewed or for real.

Codes are identities. A code whose geometry is unchanged (geo.generations.TOLERANCE_M) keeps its row,
whose lifespan only grows; a changed code gets a new row and its old one retires; the region between old
and new is recorded in boundary_change, and only open reports there are re-assigned, in the same
transaction. A dry run does all of this and then rolls back, so the preview is the import itself.
"""
from dataclasses import dataclass, field

import shapely
from flask_babel import gettext as _
from geoalchemy2.shape import from_shape, to_shape
from sqlalchemy import select, text
from sqlalchemy.orm import aliased

from geo import boundaries as geo_boundaries
from geo import generations as geo_generations
from geo.boundaries import Boundary
from service.areas import boundaries
from service.areas.models import BoundaryGeneration
from service.core import events
from service.core.db import db
from service.core.errors import Invalid
from service.core.models import Area

CHILD = {"district": "town", "town": "committee"}
# Changed ground is mostly long thin strips along moved lines; at 64 vertices a piece's bounding box holds
# many times its area and the report index over-fetches (37.7 s against 6.0 s at 8, for a full redraw at 10^6).
SUBDIVIDE_VERTICES = 8


@dataclass
class ImportResult:
    """What an import did (or, in a dry run, would do)."""

    level: str
    towns: list[str] | None
    topology: geo_boundaries.TopologyReport
    diff: geo_generations.Diff = field(default_factory=geo_generations.Diff)
    moves: list = field(default_factory=list)  # what the re-assignment moved (reports.reassign.Move)
    generation: int | None = None  # the new generation, None when nothing changed
    changed_regions: dict = field(default_factory=dict)  # GeoJSON of the changed ground, for the preview map

    @property
    def moved(self) -> int:
        return sum(m.n for m in self.moves)


def refuse(code: str, message: str, **extra):
    raise Invalid(code, message, **extra)


def _unit(level: str):
    """What a partial import is counted in: a committee by its town, a town by itself."""
    return (lambda b: b.parent_code) if level == "committee" else (lambda b: b.code)


def in_force(level: str) -> list[Boundary]:
    """The areas of a level in force now, with their parents' codes."""
    parent = aliased(Area)
    rows = db.session.execute(
        select(Area, parent.code).outerjoin(parent, parent.id == Area.parent_id)
        .where(Area.level == level, Area.generation == boundaries.current_generation(level))
    ).all()
    return [Boundary(a.code, a.name, a.level, a.kind, p, to_shape(a.geom)) for a, p in rows]


def scope_of(items: list[Boundary], level: str, current: list[Boundary], towns: list[str] | None,
             towns_in_file: bool) -> set[str] | None:
    """The town codes an import replaces (None: the whole level), refusing a partial file not declared so."""
    if level == "district":
        return None
    unit = _unit(level)
    in_file = {unit(b) for b in items}
    if towns:
        stray = sorted(in_file - set(towns))
        if stray:
            refuse("towns_not_declared", _("文件中含有未用 --town 声明的街镇：%(codes)s。"
                                           "请声明这些街镇，或从文件中删去。", codes="、".join(stray[:10])))
        return set(towns)
    if towns_in_file:
        return in_file
    known = {unit(b) for b in current} | ({b.code for b in in_force("town")} if level == "committee" else set())
    missing = sorted(known - in_file)
    if missing:
        refuse("partial_file", _("该文件只含 %(n)s 个街镇的边界，缺少 %(missing)s 等 %(m)s 个街镇。"
                                 "如只替换文件中的街镇，请加 --town 街镇代码 或 --towns-in-file；"
                                 "如要替换全区，请提供完整的文件。",
                                 n=len(in_file), missing="、".join(missing[:5]), m=len(missing)))
    return None


def plan(items: list[Boundary], level: str, towns: list[str] | None = None, towns_in_file: bool = False,
         min_area_m2: float = 1.0) -> tuple[ImportResult, list[Boundary]]:
    """Check an import against what is in force: its scope, its topology, and code by code what changes."""
    current = in_force(level)
    scope = scope_of(items, level, current, towns, towns_in_file)
    unit = _unit(level)
    replaced = [b for b in current if scope is None or unit(b) in scope]
    neighbours = [b for b in current if scope is not None and unit(b) not in scope]
    parent_level = {"committee": "town", "town": "district"}.get(level)
    parents = [p for p in in_force(parent_level) if scope is None or level != "committee" or p.code in scope] \
        if parent_level else []
    changes = geo_generations.diff(replaced, items)
    # Nothing changed, nothing to write: the areas in force passed this check when they were imported.
    topology = geo_boundaries.check_topology(items, parents=parents or None, min_area_m2=min_area_m2,
                                             neighbours=neighbours or None, replaced=replaced) \
        if changes.changes else geo_boundaries.TopologyReport()
    return ImportResult(level, sorted(scope) if scope is not None else None, topology, changes), replaced


def run(items: list[Boundary], level: str, *, towns: list[str] | None = None, towns_in_file: bool = False,
        repair: bool = False, dry_run: bool = False, source: str | None = None,
        min_area_m2: float = 1.0) -> ImportResult:
    """Import (or preview) a level's boundaries; refuses with a 422 before writing anything."""
    db.session.execute(text("SELECT pg_advisory_xact_lock(hashtext('boundary import'))"))
    result, replaced = plan(items, level, towns, towns_in_file, min_area_m2)
    missing = boundaries.missing_parents(items, level)
    if missing:  # --repair mends geometry, never the hierarchy
        refuse("unknown_parent", _("上级区划代码不存在（请先导入上一级边界）：%(codes)s",
                                   codes="、".join(missing[:10])))
    if not result.topology.ok and not repair:
        refuse("topology", _("边界拓扑有问题（见检查报告），未导入。请修正文件，或加 --repair 修复后导入。"),
               lines=result.topology.lines())
    if result.diff.changes:
        result.generation = _write(items, level, result, replaced, source)
        boundaries.analyze()  # the new generation's rows, for the re-assignment's plans
        changed = events.BoundariesChanged(result.generation, level)
        result.moves = [m for found in events.publish(changed) for m in found or ()]  # re-assignment
        result.changed_regions = _changed_regions(level, result.generation)
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()  # with the statistics analyze() took of the new rows
    return result


def _write(items: list[Boundary], level: str, result: ImportResult, replaced: list[Boundary],
           source: str | None) -> int:
    """Write the generation: kept rows live on, changed and new codes get rows, the changed ground is recorded."""
    generation = boundaries.current_generation(level) + 1
    db.session.add(BoundaryGeneration(level=level, number=generation, towns=result.towns, source=source))
    retired = [c.code for c in result.diff.changes if c.kind in ("changed", "removed")]
    db.session.flush()
    db.session.execute(text("UPDATE area SET generation = :g WHERE level = :level AND generation = :g - 1"
                            " AND code <> ALL(:retired)"), {"g": generation, "level": level, "retired": retired})
    by_code = {b.code: b for b in items}
    for change in result.diff.of("renamed"):
        b = by_code[change.code]
        db.session.execute(text("UPDATE area SET name = :name, kind = :kind WHERE code = :code AND generation = :g"),
                           {"name": b.name, "kind": b.kind, "code": b.code, "g": generation})
    parents = _parent_ids(level)
    for change in result.diff.changes:
        if change.kind in ("added", "changed"):
            b = by_code[change.code]
            db.session.add(Area(code=b.code, name=b.name, level=level, kind=b.kind, generation=generation,
                                generation_low=generation, geom=from_shape(b.geom, srid=4326),
                                parent_id=parents.get(b.parent_code or b.code[:-3])))
    db.session.flush()
    _record_changes(level, generation)
    if level in CHILD:
        _adopt_children(level, generation)
    return generation


def _parent_ids(level: str) -> dict[str, int]:
    parent_level = {"committee": "town", "town": "district"}.get(level)
    if parent_level is None:
        return {}
    return dict(db.session.execute(select(Area.code, Area.id).where(
        Area.level == parent_level, Area.generation == boundaries.current_generation(parent_level))).all())


def _record_changes(level: str, generation: int) -> None:
    """Store the ground each code gained or lost, cut into small pieces, in one statement."""
    db.session.execute(text("""
        INSERT INTO boundary_change (level, generation, code, geom)
        SELECT :level, :g, code, (ST_Dump(ST_Subdivide(diff, :v))).geom
          FROM (SELECT coalesce(n.code, o.code) AS code,
                       ST_CollectionExtract(CASE WHEN o.id IS NULL THEN n.geom WHEN n.id IS NULL THEN o.geom
                                                 ELSE ST_SymDifference(o.geom, n.geom) END, 3) AS diff
                  FROM (SELECT * FROM area WHERE level = :level AND generation = :g - 1) o
                  FULL JOIN (SELECT * FROM area WHERE level = :level AND generation_low = :g) n ON n.code = o.code
                 WHERE o.id IS NULL OR n.id IS NULL OR n.generation_low = :g) d
         WHERE NOT ST_IsEmpty(diff)"""), {"level": level, "g": generation, "v": SUBDIVIDE_VERTICES})


def _adopt_children(level: str, generation: int) -> None:
    """Point the children in force at their parent's new row (parents are found by code prefix)."""
    child = CHILD[level]
    db.session.execute(text("""
        UPDATE area c SET parent_id = p.id
          FROM area p
         WHERE p.level = :level AND p.generation_low = :g AND c.level = :child
           AND c.generation = (SELECT max(generation) FROM area WHERE level = :child)
           AND left(c.code, length(p.code)) = p.code AND c.parent_id IS DISTINCT FROM p.id"""),
                       {"level": level, "g": generation, "child": child})


def _changed_regions(level: str, generation: int) -> dict:
    """The changed ground of a generation as a GeoJSON FeatureCollection, merged per code, for a map."""
    rows = db.session.execute(text("""
        SELECT code, ST_AsGeoJSON(ST_Union(geom), 6)::json FROM boundary_change
         WHERE level = :level AND generation = :g GROUP BY code ORDER BY code"""),
                              {"level": level, "g": generation}).all()
    return {"type": "FeatureCollection",
            "features": [{"type": "Feature", "properties": {"code": c}, "geometry": g} for c, g in rows]}


def derive_district(name: str) -> Boundary:
    """The district outline as the union of the towns in force, coded by their common six-digit prefix."""
    code, geom = db.session.execute(text(
        "SELECT left(min(code), 6), ST_AsBinary(ST_Multi(ST_Union(geom))) FROM area"
        " WHERE level = 'town' AND generation = (SELECT max(generation) FROM area WHERE level = 'town')")).one()
    if geom is None:
        refuse("no_towns", _("还没有导入街镇边界，无法由街镇合成区界。请先导入街镇。"))
    return Boundary(code, name, "district", None, None, geo_boundaries.as_multipolygon(shapely.from_wkb(bytes(geom))))
