"""Boundaries as living data on the real towns and the shared committees: stable identities, partial and
district imports, dry runs, re-assignment proportional to the change, and lookups at a past date.

Every kind of import is followed by the same check: the database's assignment of 10,000 points equals the
shapely ground truth over the boundaries the import put in force.
"""
from datetime import UTC, datetime, timedelta

import pytest
import shapely
from sqlalchemy import text
from sqlalchemy.engine import make_url

from geo.assign import Assigner
from geo.boundaries import read_boundaries
from service import create_app
from service.core import migrate
from service.core.db import db
from service.reports import reassign
from tests.support import boundary_edits as edits
from tests.support.database import recreate_database

pytestmark = pytest.mark.shared
N_TRUTH = 10_000
N_REPORTS = 4_000


@pytest.fixture(scope="module")
def world(database_url, shared_data, tmp_path_factory):
    """A scratch database with the real towns, the shared committees and 4,000 reports (half open)."""
    url = make_url(database_url)
    scratch = url.set(database=url.database + "_bounds").render_as_string(hide_password=False)
    recreate_database(scratch)
    migrate.upgrade(scratch)
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": scratch,
                      "PHOTO_DIR": str(tmp_path_factory.mktemp("bounds-photos"))})
    towns = read_boundaries(shared_data / "minhang_towns_wgs84.geojson", level="town")
    committees = read_boundaries(shared_data / "minhang_committees_wgs84.geojson", level="committee")
    ok(app, "boundaries", "import", str(shared_data / "minhang_towns_wgs84.geojson"), "--level", "town")
    ok(app, "boundaries", "import", str(shared_data / "minhang_committees_wgs84.geojson"), "--level", "committee")
    lons, lats = edits.random_points(committees, N_REPORTS, seed=7, margin=0.0)
    with app.app_context():
        db.session.execute(text(edits.SEED_SQL), {"lons": lons.tolist(), "lats": lats.tolist()})
        db.session.commit()
    return {"app": app, "towns": towns, "committees": committees, "dir": tmp_path_factory.mktemp("bounds-files")}


def cli(app, *args):
    result = app.test_cli_runner().invoke(args=list(args), catch_exceptions=False)
    return result.exit_code, result.output


def ok(app, *args) -> str:
    code, out = cli(app, *args)
    assert code == 0, out
    return out


def scalar(app, sql: str, **params):
    with app.app_context():
        return db.session.scalar(text(sql), params)


def counts(app) -> dict:
    """Row counts of everything an import or a re-assignment may write."""
    tables = ("area", "boundary_generation", "boundary_change", "report_event", "notification")
    with app.app_context():
        found = {t: db.session.scalar(text(f"SELECT count(*) FROM {t}")) for t in tables}
        found["report"] = db.session.scalar(text(
            "SELECT md5(string_agg(id::text || committee_id || assignment_method || assignment_distance_m, ','"
            " ORDER BY id)) FROM report"))
    return found


def assert_matches_truth(app, committees, seed: int) -> None:
    """10,000 points: assign_point in the database equals the shapely Assigner over `committees`."""
    truth = Assigner(committees, max_distance_m=200)
    lons, lats = edits.random_points(committees, N_TRUTH, seed=seed)
    with app.app_context():
        rows = db.session.execute(text(
            "SELECT c.code, a.method FROM unnest(CAST(:lons AS float8[]), CAST(:lats AS float8[]))"
            " WITH ORDINALITY AS p(lon, lat, i)"
            " LEFT JOIN LATERAL assign_point(ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326), 200) a ON true"
            " LEFT JOIN area c ON c.id = a.committee_id ORDER BY p.i"),
            {"lons": lons.tolist(), "lats": lats.tolist()}).all()
    expected = truth.assign_many(lons, lats)
    wrong = [(lon, lat) for lon, lat, row, want in zip(lons, lats, rows, expected, strict=True)
             if (tuple(row) if row[0] else None) != ((want.code, want.method) if want else None)]
    assert not wrong, wrong[:5]


def expected_moves(app, committees) -> int:
    """How many open, not manually placed reports the shapely rule puts under another committee code."""
    rows = scalar_rows(app, "SELECT ST_X(r.location), ST_Y(r.location), a.code FROM report r"
                            " JOIN area a ON a.id = r.committee_id"
                            " WHERE r.status = 'accepted' AND r.assignment_method <> 'manual'")
    truth = Assigner(committees, max_distance_m=200).assign_many([r[0] for r in rows], [r[1] for r in rows])
    return sum(1 for row, want in zip(rows, truth, strict=True) if want is not None and want.code != row[2])


def test_unchanged_reimport_changes_nothing(world, shared_data):
    app = world["app"]
    before = counts(app)
    out = ok(app, "boundaries", "import", str(shared_data / "minhang_committees_wgs84.geojson"), "--level", "committee")
    assert "585 unchanged" in out and "re-assigned 0 open reports" in out
    assert "nothing changed: committee generation 1 stays in force" in out
    # The GCJ-02 towns land within millimetres of the WGS-84 ones: the same geometry, within the tolerance.
    out = ok(app, "boundaries", "import", str(shared_data / "minhang_towns_gcj02.geojson"), "--level", "town",
             "--crs", "gcj02")
    assert "14 unchanged" in out and "nothing changed" in out
    assert counts(app) == before
    assert_matches_truth(app, world["committees"], seed=1)


def test_an_undeclared_partial_file_is_refused(world):
    app = world["app"]
    town = world["committees"][0].parent_code
    path = edits.write(world["dir"] / "one_town.geojson", [b for b in world["committees"] if b.parent_code == town])
    before = counts(app)
    code, out = cli(app, "boundaries", "import", path, "--level", "committee")
    assert code == 1
    assert "该文件只含 1 个街镇的边界，缺少" in out and "--town" in out and "--towns-in-file" in out
    code, out = cli(app, "boundaries", "import", path, "--level", "committee", "--town", "310112999")
    assert code == 1 and f"文件中含有未用 --town 声明的街镇：{town}" in out
    assert counts(app) == before


def test_a_dry_run_writes_nothing(world):
    app = world["app"]
    committees, new = edits.split(world["committees"], world["committees"][10].code)
    town = new.parent_code
    path = edits.write(world["dir"] / "split_dry.geojson", [b for b in committees if b.parent_code == town])
    before = counts(app)
    out = ok(app, "boundaries", "import", path, "--level", "committee", "--town", town, "--dry-run")
    assert f"added {new.code}" in out and "changed " in out and "dry run: nothing written" in out
    assert f"re-assigned {expected_moves(app, committees)} open reports" in out
    assert counts(app) == before


def test_split_moves_only_the_reports_in_the_new_committee(world, monkeypatch):
    monkeypatch.setattr(reassign, "PIECE_COST_IN_REPORTS", 0)  # only the changed ground is looked at
    app = world["app"]
    old_code = max(world["committees"], key=lambda b: b.geom.area).code
    committees, new = edits.split(world["committees"], old_code)
    town = new.parent_code
    path = edits.write(world["dir"] / "split.geojson", [b for b in committees if b.parent_code == town])
    with app.app_context():
        manual = db.session.scalar(text(
            "UPDATE report SET assignment_method = 'manual' WHERE id = (SELECT id FROM report"
            " WHERE status = 'accepted' AND ST_Covers(ST_GeomFromText(:g, 4326), location) LIMIT 1)"
            " RETURNING id"), {"g": new.geom.wkt})
        db.session.commit()
    expected = expected_moves(app, committees)
    assert expected > 0 and manual is not None
    ids_before = dict(scalar_rows(app, "SELECT code, id FROM area WHERE level = 'committee' AND code <> :c",
                                  c=old_code))
    out = ok(app, "boundaries", "import", path, "--level", "committee", "--town", town)
    assert "topology ok" in out and f"re-assigned {expected} open reports" in out
    assert scalar(app, "SELECT count(*) FROM report_event WHERE kind = 'reassign'") == expected
    assert scalar(app, "SELECT count(*) FROM report r JOIN area a ON a.id = r.committee_id WHERE a.code = :c"
                       " AND r.status = 'accepted'", c=new.code) == expected
    # The manual assignment stayed; every other committee kept its row id and every report its committee.
    assert scalar(app, "SELECT a.code FROM report r JOIN area a ON a.id = r.committee_id WHERE r.id = :id",
                  id=manual) == old_code
    ids_after = dict(scalar_rows(app, "SELECT code, id FROM area WHERE level = 'committee'"
                                      " AND generation = (SELECT max(generation) FROM area WHERE level = 'committee')"
                                      " AND code NOT IN (:c, :n)", c=old_code, n=new.code))
    assert ids_after == ids_before
    events = scalar(app, "SELECT data::text FROM report_event WHERE kind = 'reassign' LIMIT 1")
    assert '"generation": 2' in events and '"reason": "boundaries"' in events
    world["committees"] = committees
    world["split"] = {"at": scalar(app, "SELECT created_at FROM boundary_generation WHERE level = 'committee'"
                                   " AND number = 2"), "old": old_code, "new": new}
    assert_matches_truth(app, committees, seed=2)


def scalar_rows(app, sql: str, **params) -> list:
    with app.app_context():
        return db.session.execute(text(sql), params).all()


def test_lookup_answers_for_a_past_date(world):
    app, split = world["app"], world["split"]
    point = split["new"].geom.representative_point()
    client = app.test_client()
    now = client.get(f"/api/v1/areas/lookup?lon={point.x}&lat={point.y}").get_json()
    assert now["committee"]["code"] == split["new"].code and now["assignment"]["generation"] == 2
    before = (split["at"] - timedelta(microseconds=1)).isoformat()
    then = client.get("/api/v1/areas/lookup", query_string={"lon": point.x, "lat": point.y, "at": before}).get_json()
    assert then["committee"]["code"] == split["old"] and then["assignment"]["generation"] == 1
    long_ago = client.get(f"/api/v1/areas/lookup?lon={point.x}&lat={point.y}&at=2000-01-01")
    assert long_ago.status_code == 404 and "还没有导入居村委边界" in long_ago.get_json()["error"]["message"]
    bad = client.get(f"/api/v1/areas/lookup?lon={point.x}&lat={point.y}&at=yesterday")
    assert bad.status_code == 422 and "at 须为日期或时间" in bad.get_json()["error"]["message"]


def test_seam_edit_moves_the_reports_in_the_strip(world, monkeypatch):
    monkeypatch.setattr(reassign, "PIECE_COST_IN_REPORTS", 0)  # only the changed ground is looked at
    app = world["app"]
    towns, committees, new = edits.seam(world["towns"], world["committees"], share=0.01)
    pair = sorted({new.parent_code} | {t.code for t, o in zip(towns, world["towns"], strict=True)
                                       if not shapely.equals(t.geom, o.geom)})
    ok(app, "boundaries", "import", edits.write(world["dir"] / "seam_towns.geojson",
                                                [t for t in towns if t.code in pair]), "--level", "town",
       "--towns-in-file")
    expected = expected_moves(app, committees)
    events = scalar(app, "SELECT count(*) FROM report_event")
    out = ok(app, "boundaries", "import", edits.write(world["dir"] / "seam.geojson",
                                                      [c for c in committees if c.parent_code in pair]),
             "--level", "committee", "--towns-in-file")
    assert "topology ok" in out, out
    open_total = scalar(app, "SELECT count(*) FROM report WHERE status = 'accepted'")
    assert 0 < expected < 0.03 * open_total
    assert scalar(app, "SELECT count(*) FROM report_event") - events == expected
    world["towns"], world["committees"] = towns, committees
    assert_matches_truth(app, committees, seed=3)


def test_reports_under_a_town_old_and_new_row_are_counted_once(world):
    """A town import hangs the committees it keeps under the town's new row, so a committee's earlier reports
    point at the old town row and its later ones at the new. One statement moving both keeps the rollup exact."""
    app = world["app"]
    with app.app_context():
        committee, lon, lat = db.session.execute(text("""
            SELECT c.id, ST_X(ST_PointOnSurface(c.geom)), ST_Y(ST_PointOnSurface(c.geom))
              FROM area c JOIN report r ON r.committee_id = c.id
             WHERE c.level = 'committee' AND c.generation = (SELECT max(generation) FROM area
                                                              WHERE level = 'committee')
               AND r.status = 'accepted' AND r.town_id <> c.parent_id LIMIT 1""")).one()
        db.session.execute(text(edits.SEED_SQL.replace("p.i % 2 = 0", "true")), {"lons": [lon], "lats": [lat]})
        assert db.session.scalar(text("SELECT count(DISTINCT town_id) FROM report WHERE committee_id = :c"
                                      " AND status = 'accepted'"), {"c": committee}) == 2
        db.session.execute(text("UPDATE report SET risk_level = 'major' WHERE committee_id = :c"
                                " AND status = 'accepted'"), {"c": committee})
        db.session.commit()
        drift = db.session.scalar(text("""
            SELECT count(*) FROM (SELECT committee_id, town_id, status, category, risk_level, n FROM report_rollup
                                   WHERE n <> 0) r
              FULL JOIN (SELECT committee_id, town_id, status, category, risk_level, count(*) AS n FROM report
                          GROUP BY 1, 2, 3, 4, 5) p USING (committee_id, town_id, status, category, risk_level)
             WHERE r.n IS DISTINCT FROM p.n"""))
    assert drift == 0


def test_full_redraw(world, shared_data, monkeypatch):
    """Every committee of the original file redrawn: also undoes the split and the seam (codes removed)."""
    monkeypatch.setattr(reassign, "PIECE_COST_IN_REPORTS", 10**9)  # cheaper to judge every open report
    app = world["app"]
    towns, committees = edits.redraw(read_boundaries(shared_data / "minhang_towns_wgs84.geojson", level="town"),
                                     read_boundaries(shared_data / "minhang_committees_wgs84.geojson",
                                                     level="committee"))
    ok(app, "boundaries", "import", edits.write(world["dir"] / "redraw_towns.geojson", towns), "--level", "town")
    out = ok(app, "boundaries", "import", edits.write(world["dir"] / "redraw.geojson", committees),
             "--level", "committee")
    assert "0 unchanged" in out and "2 removed" in out
    assert_matches_truth(app, committees, seed=4)
    # Whatever moved, the stored assignment of every open report is now the rule's answer.
    stale = scalar(app, """
        SELECT count(*) FROM report r JOIN area o ON o.id = r.committee_id
         CROSS JOIN LATERAL assign_point(r.location, 200) a JOIN area n ON n.id = a.committee_id
         WHERE r.status = 'accepted' AND r.assignment_method <> 'manual' AND o.code <> n.code""")
    assert stale == 0


def test_every_area_row_has_the_cells_of_its_outline_and_lifespan(world):
    """The trigger keeps area_cell: after all the imports above, each committee row's cells are exactly those
    of its outline (migration 0019's area_cells) and carry its lifespan; other levels have none."""
    app = world["app"]
    with app.app_context():
        rows = db.session.execute(text("""
            SELECT a.level, a.id, (SELECT count(*) FROM area_cells(a.geom)),
                   count(c.id), count(c.id) FILTER (WHERE (c.generation_low, c.generation)
                                                    IS DISTINCT FROM (a.generation_low, a.generation))
              FROM area a LEFT JOIN area_cell c ON c.area_id = a.id GROUP BY a.id""")).all()
    committees = [r for r in rows if r[0] == "committee"]
    assert len({r[1] for r in committees}) > 585  # rows of several generations, retired ones included
    assert all(want == got and stale == 0 for _level, _id, want, got, stale in committees)
    assert all(got == 0 for level, _id, _want, got, _stale in rows if level != "committee")


def test_bulk_reassign_agrees_with_assign_point_on_lines_and_outside(world):
    """The bulk form of the rule (grid hash join) and assign_point give the same committee, method and distance,
    also for reports on shared vertices and edges (edge, lowest code) and outside every committee (nearest)."""
    app = world["app"]
    with app.app_context():
        vertices = db.session.execute(text("""
            SELECT ST_X(p.geom), ST_Y(p.geom) FROM (
                SELECT (ST_DumpPoints(geom)).geom FROM area
                 WHERE level = 'committee' AND generation = (SELECT max(generation) FROM area
                                                             WHERE level = 'committee')) p
             ORDER BY 1, 2 LIMIT 3000""")).all()
        outside = db.session.execute(text("""
            SELECT ST_X(p), ST_Y(p) FROM (
                SELECT ST_Translate(ST_PointOnSurface(geom), d, 0) AS p
                  FROM area, unnest(ARRAY[-0.001, 0.001, 0.002]) d
                 WHERE level = 'district') x""")).all()
        ring = db.session.execute(text("""
            SELECT ST_X(g), ST_Y(g) FROM (SELECT (ST_DumpPoints(ST_Buffer(geom::geography, 60)::geometry)).geom AS g
                                            FROM area WHERE level = 'district') x LIMIT 400""")).all()
        points = [*vertices, *outside, *ring]
        db.session.execute(text(edits.SEED_SQL.replace("p.i % 2 = 0", "true")),
                           {"lons": [p[0] for p in points], "lats": [p[1] for p in points]})
        # Spoil the open reports in every way the bulk pass must notice, also when judging every report
        # starts by keeping the suspects only: half the covered ones under a wrong committee, some others
        # said to be on a line ("edge"); those on a shared line said to be "covers" by the right committee
        # (only the other code's cell tells); those outside with the right committee at a wrong distance.
        wrong = db.session.execute(text("""
            UPDATE report SET committee_id = w.id, town_id = w.parent_id
              FROM (SELECT id, parent_id FROM area WHERE level = 'committee' ORDER BY id LIMIT 1) w
             WHERE status = 'accepted' AND assignment_method = 'covers' AND committee_id <> w.id
               AND report.id::text < '8'""")).rowcount
        db.session.execute(text("""
            UPDATE report SET assignment_method = CASE assignment_method WHEN 'edge' THEN 'covers' ELSE 'nearest' END,
                              assignment_distance_m = CASE assignment_method WHEN 'edge' THEN 0
                                                      ELSE assignment_distance_m + 1 END
             WHERE status = 'accepted' AND assignment_method IN ('edge', 'nearest')"""))
        db.session.execute(text("""
            UPDATE report SET assignment_method = 'edge'
             WHERE status = 'accepted' AND assignment_method = 'covers' AND report.id::text >= 'c'"""))
        moves = reassign.reassign_open_reports(every=True)
        db.session.commit()
        assert wrong > 100 and sum(m.n for m in moves) == wrong  # an event for each moved report, no more
        stored = db.session.execute(text("""
            SELECT r.assignment_method, count(*), count(*) FILTER (
                WHERE (o.code, r.assignment_method, r.assignment_distance_m)
                      IS DISTINCT FROM (n.code, a.method, a.distance_m))
              FROM report r JOIN area o ON o.id = r.committee_id
              CROSS JOIN LATERAL assign_point(r.location, 200) a JOIN area n ON n.id = a.committee_id
             WHERE r.status = 'accepted' AND r.assignment_method <> 'manual'
             GROUP BY 1""")).all()
    by_method = {method: (n, wrong) for method, n, wrong in stored}
    assert by_method.get("edge", (0, 0))[0] > 100 and by_method.get("nearest", (0, 0))[0] > 20, by_method
    assert all(wrong == 0 for _n, wrong in by_method.values()), by_method


def test_district_outline_from_the_towns_gets_escalations(world):
    app = world["app"]
    out = ok(app, "boundaries", "import", "--level", "district", "--derive", "闵行区")
    assert "added 310112 闵行区" in out
    ok(app, "contacts", "add", "--area", "310112", "--email", "district@example.org")
    with app.app_context():
        district = db.session.execute(text("SELECT ST_Area(geom::geography), (SELECT sum(ST_Area(geom::geography))"
                                           " FROM area WHERE level = 'town' AND generation = (SELECT max(generation)"
                                           " FROM area WHERE level = 'town')) FROM area WHERE code = '310112'")).one()
        assert district[0] == pytest.approx(district[1], rel=1e-3)
        towns_under = db.session.scalar(text(
            "SELECT count(*) FROM area t JOIN area d ON d.id = t.parent_id WHERE d.code = '310112'"
            " AND t.generation = (SELECT max(generation) FROM area WHERE level = 'town')"))
        assert towns_under == 14
        report_id = db.session.scalar(text(
            "UPDATE report SET status = 'dispatched', due_at = now() - interval '10 days', escalation_level = 1,"
            " escalated_at = now() - interval '9 days' WHERE id = (SELECT id FROM report WHERE status = 'accepted'"
            " LIMIT 1) RETURNING id"))
        db.session.commit()
        from service.reports import deadlines

        deadlines.escalate(datetime.now(UTC))
        sent = db.session.execute(text(
            "SELECT n.target FROM notification n JOIN report_event e ON e.id = n.event_id"
            " WHERE e.report_id = :id AND e.kind = 'escalate'"), {"id": report_id}).scalars().all()
    assert sent == ["district@example.org"]
    again = ok(app, "boundaries", "import", "--level", "district", "--derive", "闵行区")
    assert "nothing changed" in again

