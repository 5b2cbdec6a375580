"""Tests for geo.demo: the generated demo district is a clean, deterministic partition."""

import os
import re
import subprocess
import sys
from collections import Counter

import pytest
import shapely

from geo.assign import Assigner
from geo.boundaries import check_topology, read_boundaries, to_feature_collection
from geo.demo import DISTRICT_CODE, DISTRICT_NAME, TOWNS, demo_district
from tests.support.paths import ROOT


@pytest.fixture(scope="module")
def demo():
    return demo_district()


def split(boundaries):
    """Return (district, towns, committees) from a demo list."""
    by_level = {
        level: [b for b in boundaries if b.level == level] for level in ("district", "town", "committee")
    }
    (district,) = by_level["district"]
    return district, by_level["town"], by_level["committee"]


def test_counts_codes_and_names(demo):
    district, towns, committees = split(demo)
    assert (district.code, district.name, district.parent_code) == (DISTRICT_CODE, DISTRICT_NAME, None)
    assert [(t.code, t.name) for t in towns] == TOWNS
    assert all(t.parent_code == DISTRICT_CODE and t.kind is None for t in towns)
    assert Counter(c.kind for c in committees) == {"residential": 471, "village": 114}
    codes = [b.code for b in demo]
    assert len(codes) == len(set(codes)) == 1 + 14 + 585
    town_codes = {t.code for t in towns}
    for c in committees:
        assert re.fullmatch(r"\d{12}", c.code)
        assert c.parent_code == c.code[:9] and c.parent_code in town_codes
        suffix = int(c.code[9:])
        assert (1 <= suffix <= 199) if c.kind == "residential" else (200 <= suffix <= 399)
        assert c.name.endswith("村村民委员会" if c.kind == "village" else "居民委员会")
    for town in towns:
        names = [c.name for c in committees if c.parent_code == town.code]
        assert names and len(names) == len(set(names))


def test_street_offices_have_no_villages(demo):
    _, _, committees = split(demo)
    street_codes = {code for code, name in TOWNS if name.endswith("街道")}
    assert not [c for c in committees if c.parent_code in street_codes and c.kind == "village"]


def test_partition_is_clean(demo):
    district, towns, committees = split(demo)
    committee_report = check_topology(committees, parents=towns, min_area_m2=1)
    assert committee_report.ok, committee_report.lines()
    town_report = check_topology(towns, parents=[district], min_area_m2=1)
    assert town_report.ok, town_report.lines()


def test_every_geometry_is_valid_non_empty_multipolygon(demo):
    for b in demo:
        assert b.geom.geom_type == "MultiPolygon"
        assert b.geom.is_valid and not b.geom.is_empty and b.geom.area > 0


def test_district_lies_around_minhang(demo):
    district, _, _ = split(demo)
    min_lon, min_lat, max_lon, max_lat = district.geom.bounds
    assert 121.30 <= min_lon < max_lon <= 121.60
    assert 30.95 <= min_lat < max_lat <= 31.27


def test_same_seed_is_byte_identical_and_other_seed_differs(demo):
    again = demo_district(2026)
    assert [(b.code, b.name, b.kind, shapely.to_wkb(b.geom)) for b in again] == [
        (b.code, b.name, b.kind, shapely.to_wkb(b.geom)) for b in demo
    ]
    other = demo_district(7)
    assert [shapely.to_wkb(b.geom) for b in other] != [shapely.to_wkb(b.geom) for b in demo]
    assert check_topology(split(other)[2], parents=split(other)[1]).ok


DIGEST_SCRIPT = """
import hashlib, shapely
from geo.demo import demo_district
digest = hashlib.sha256()
for b in demo_district():
    digest.update(repr((b.code, b.name, b.level, b.kind, b.parent_code)).encode())
    digest.update(shapely.to_wkb(b.geom))
print(digest.hexdigest())
"""


def test_output_does_not_depend_on_hash_seed():
    digests = {
        subprocess.run(
            [sys.executable, "-c", DIGEST_SCRIPT],
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    }
    assert len(digests) == 1


def test_round_trips_through_geojson_and_assigns(demo):
    assert read_boundaries(to_feature_collection(demo)) == demo
    district, towns, committees = split(demo)
    assigner = Assigner(committees)
    # Every committee's representative point is covered by that committee alone.
    for c in committees[::25]:
        point = c.geom.representative_point()
        result = assigner.assign(point.x, point.y)
        assert (result.code, result.method) == (c.code, "covers")
