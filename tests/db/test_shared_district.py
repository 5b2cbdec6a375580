"""The real Minhang towns (GCJ-02) and the 585 shared committees: import via the CLI, then
10,000 random points assigned by PostGIS equal an independent shapely computation of the rule."""
import json
import random

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from geo.assign import Assigner
from geo.boundaries import read_boundaries
from service import create_app
from service.core import migrate
from service.core.db import db
from tests.support.database import recreate_database

pytestmark = pytest.mark.shared
N_RANDOM = 10_000


@pytest.fixture(scope="module")
def shared_app(database_url, shared_data, tmp_path_factory):
    url = make_url(database_url)
    scratch = url.set(database=url.database + "_shared").render_as_string(hide_password=False)
    recreate_database(scratch)
    migrate.upgrade(scratch)
    return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": scratch,
                       "PHOTO_DIR": str(tmp_path_factory.mktemp("shared-photos"))})


def run_cli(app, *args):
    result = app.test_cli_runner().invoke(args=list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_import_real_towns_in_gcj02_then_committees(shared_app, shared_data):
    code, out = run_cli(shared_app, "boundaries", "import", str(shared_data / "minhang_towns_gcj02.geojson"),
                        "--level", "town", "--crs", "gcj02")
    assert code == 0, out
    assert "topology ok" in out and "generation 1" in out
    code, out = run_cli(shared_app, "boundaries", "import", str(shared_data / "minhang_committees_wgs84.geojson"),
                        "--level", "committee")
    assert code == 0, out
    with shared_app.app_context():
        towns = dict(db.session.execute(text("SELECT code, name FROM area WHERE level = 'town'")).all())
        assert len(towns) == 14 and towns["310112102"] == "七宝镇"
        # The GCJ-02 file, converted on import, lands within a centimetre of the WGS-84 file.
        worst = db.session.scalar(text(
            "SELECT max(ST_HausdorffDistance(ST_Transform(a.geom, 32651), ST_Transform(ST_GeomFromGeoJSON(:g), 32651)))"
            " FROM area a WHERE a.code = :c"), {"g": _town_geometry(shared_data, "310112102"), "c": "310112102"})
        assert worst < 0.01
        orphans = db.session.scalar(text("SELECT count(*) FROM area WHERE level = 'committee' AND parent_id IS NULL"))
        assert orphans == 0


def _town_geometry(shared_data, code: str) -> str:
    data = json.loads((shared_data / "minhang_towns_wgs84.geojson").read_text(encoding="utf-8"))
    return json.dumps(next(f["geometry"] for f in data["features"] if f["properties"]["code"] == code))


def test_reimport_of_the_same_towns_keeps_their_generation(shared_app, shared_data):
    code, out = run_cli(shared_app, "boundaries", "import", str(shared_data / "minhang_towns_wgs84.geojson"),
                        "--level", "town")
    assert code == 0 and "nothing changed: town generation 1 stays in force" in out, out


def _points(committees) -> list[tuple[float, float]]:
    """Random points over the district and 300 m beyond it, plus shared vertices (edge cases)."""
    rng = random.Random(20261128)
    minx = min(b.geom.bounds[0] for b in committees) - 0.004
    miny = min(b.geom.bounds[1] for b in committees) - 0.004
    maxx = max(b.geom.bounds[2] for b in committees) + 0.004
    maxy = max(b.geom.bounds[3] for b in committees) + 0.004
    points = [(rng.uniform(minx, maxx), rng.uniform(miny, maxy)) for _ in range(N_RANDOM - 500)]
    for b in rng.sample(committees, 500):
        ring = b.geom.geoms[0].exterior.coords
        points.append(ring[rng.randrange(len(ring) - 1)])
    return points


def test_10000_points_db_equals_shapely(shared_app, shared_data):
    committees = read_boundaries(shared_data / "minhang_committees_wgs84.geojson", level="committee")
    truth = Assigner(committees, max_distance_m=200)
    points = _points(committees)
    with shared_app.app_context():
        rows = db.session.execute(text(
            "SELECT p.i, c.code, a.method, a.distance_m"
            " FROM unnest(CAST(:lons AS float8[]), CAST(:lats AS float8[])) WITH ORDINALITY AS p(lon, lat, i)"
            " LEFT JOIN LATERAL assign_point(ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326), 200) a ON true"
            " LEFT JOIN area c ON c.id = a.committee_id ORDER BY p.i"),
            {"lons": [p[0] for p in points], "lats": [p[1] for p in points]}).all()
    methods = {"covers": 0, "edge": 0, "nearest": 0, None: 0}
    for (lon, lat), (_i, code, method, dist) in zip(points, rows, strict=True):
        expected = truth.assign(lon, lat)
        got = (code, method) if code else None
        assert got == ((expected.code, expected.method) if expected else None), (lon, lat)
        if expected and method == "nearest":
            assert dist == pytest.approx(expected.distance_m, abs=0.5)
        methods[method] += 1
    # The sample exercises every branch of the rule.
    assert all(n > 0 for n in methods.values()), methods
