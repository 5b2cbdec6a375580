"""Tests for geo.assign: the covers / edge / nearest rule in memory."""

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import MultiPolygon, box

from geo.assign import Assigner, Assignment
from geo.boundaries import Boundary, read_boundaries
from geo.coords import metres_per_degree

LON0, LAT0 = 121.40, 31.10
MX, MY = metres_per_degree(LAT0)
WEST = box(LON0, LAT0, LON0 + 0.01, LAT0 + 0.01)  # about 950 m x 1100 m
EAST = box(LON0 + 0.01, LAT0, LON0 + 0.02, LAT0 + 0.01)


@pytest.fixture(scope="module")
def assigner() -> Assigner:
    # Deliberately given out of code order: the lower code must still win on the shared edge.
    return Assigner([("310112102002", WEST), ("310112102001", EAST)])


def test_point_inside_is_covered(assigner):
    assert assigner.assign(LON0 + 0.005, LAT0 + 0.005) == Assignment("310112102002", "covers", 0.0)
    assert assigner.assign(LON0 + 0.015, LAT0 + 0.005) == Assignment("310112102001", "covers", 0.0)


def test_point_on_shared_edge_gets_lowest_code(assigner):
    assert assigner.assign(LON0 + 0.01, LAT0 + 0.005) == Assignment("310112102001", "edge", 0.0)
    # A corner shared by both squares is an edge case too.
    assert assigner.assign(LON0 + 0.01, LAT0) == Assignment("310112102001", "edge", 0.0)


def test_point_on_outer_edge_is_covered(assigner):
    assert assigner.assign(LON0, LAT0 + 0.005) == Assignment("310112102002", "covers", 0.0)


def test_point_100_m_outside_is_nearest(assigner):
    west = assigner.assign(LON0 - 100 / MX, LAT0 + 0.005)
    assert (west.code, west.method) == ("310112102002", "nearest")
    assert west.distance_m == pytest.approx(100, abs=2)
    south = assigner.assign(LON0 + 0.015, LAT0 - 100 / MY)
    assert (south.code, south.method) == ("310112102001", "nearest")
    assert south.distance_m == pytest.approx(100, abs=2)


def test_point_300_m_outside_is_refused(assigner):
    assert assigner.assign(LON0 - 300 / MX, LAT0 + 0.005) is None
    assert assigner.assign(LON0 + 0.01, LAT0 - 300 / MY) is None
    # Diagonally off a corner: 150 m east and north is ~212 m away, beyond 200 m.
    assert assigner.assign(LON0 + 0.02 + 150 / MX, LAT0 + 0.01 + 150 / MY) is None


def test_max_distance_is_configurable():
    wide = Assigner([("310112102002", WEST)], max_distance_m=500)
    result = wide.assign(LON0 - 300 / MX, LAT0 + 0.005)
    assert result.method == "nearest" and result.distance_m == pytest.approx(300, abs=3)


def test_nearest_tie_goes_to_lowest_code(assigner):
    result = assigner.assign(LON0 + 0.01, LAT0 - 50 / MY)
    assert (result.code, result.method) == ("310112102001", "nearest")


def test_non_finite_points_are_refused(assigner):
    assert assigner.assign(math.nan, LAT0) is None
    assert assigner.assign(LON0, math.inf) is None
    assert assigner.assign_many([math.nan, LON0 + 0.005], [LAT0, LAT0 + 0.005])[0] is None


def test_accepts_boundaries_and_rejects_duplicates():
    boundary = Boundary("310112102001", "甲", "committee", "residential", "310112102", MultiPolygon([WEST]))
    assert Assigner([boundary]).assign(LON0 + 0.005, LAT0 + 0.005).code == "310112102001"
    with pytest.raises(ValueError, match="duplicate"):
        Assigner([("1", WEST), ("1", EAST)])
    with pytest.raises(ValueError):
        Assigner([("1", WEST)]).assign_many([1.0, 2.0], [3.0])


def test_empty_assigner_assigns_nothing():
    empty = Assigner([])
    assert empty.assign(LON0, LAT0) is None
    assert empty.assign_many([LON0], [LAT0]) == [None]


lon_near = st.floats(LON0 - 0.005, LON0 + 0.025)
lat_near = st.floats(LAT0 - 0.005, LAT0 + 0.015)
snapped = st.sampled_from([LON0, LON0 + 0.01, LON0 + 0.02])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.one_of(lon_near, snapped), lat_near), min_size=1, max_size=30))
def test_assign_many_equals_assign(assigner, points):
    lons, lats = zip(*points, strict=True)
    assert assigner.assign_many(lons, lats) == [assigner.assign(lon, lat) for lon, lat in points]


@pytest.mark.shared
def test_assign_many_equals_assign_on_shared_committees(shared_data):
    committees = read_boundaries(shared_data / "minhang_committees_wgs84.geojson")
    assigner = Assigner(committees)
    rng = random.Random(7)
    lons = [rng.uniform(121.30, 121.60) for _ in range(3000)]
    lats = [rng.uniform(30.95, 31.27) for _ in range(3000)]
    many = assigner.assign_many(lons, lats)
    assert many == [assigner.assign(lon, lat) for lon, lat in zip(lons, lats, strict=True)]
    methods = {result.method for result in many if result is not None}
    assert "covers" in methods and "nearest" in methods
