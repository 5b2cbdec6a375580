"""Tests for geo.coords: WGS-84 / GCJ-02 / BD-09 conversion and metre helpers."""

import json

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import shape

from geo import coords
from geo.coords import (
    bd09_to_gcj02,
    bd09_to_wgs84,
    distance_m,
    from_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    metres_per_degree,
    out_of_china,
    to_wgs84,
    transform_geometry,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

# The GCJ-02 offset is a few hundred metres, so a point just inside the China rectangle can be pushed out of
# it (and vice versa), where the transform is the identity by definition. Round trips are only well defined
# away from the rectangle's edges.
MARGIN = 0.05
china_lon = st.floats(72.004 + MARGIN, 137.8347 - MARGIN)
china_lat = st.floats(0.8293 + MARGIN, 55.8271 - MARGIN)
minhang_lon = st.floats(121.30, 121.60)
minhang_lat = st.floats(30.95, 31.27)
outside_points = st.one_of(
    st.tuples(st.floats(-180, 72.0), st.floats(-90, 90)),
    st.tuples(st.floats(137.84, 180), st.floats(-90, 90)),
    st.tuples(st.floats(-180, 180), st.floats(-90, 0.829)),
    st.tuples(st.floats(-180, 180), st.floats(55.83, 90)),
)


def naive_gcj02_to_wgs84(lon, lat):
    """Return the common one-step inverse: subtract the offset computed at the GCJ-02 point itself."""
    fwd_lon, fwd_lat = wgs84_to_gcj02(lon, lat)
    return 2 * lon - fwd_lon, 2 * lat - fwd_lat


@settings(max_examples=500, deadline=None)
@given(china_lon, china_lat)
def test_wgs_gcj_round_trip_within_a_centimetre(lon, lat):
    back = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    assert distance_m(lon, lat, *back) <= 0.01


@settings(max_examples=500, deadline=None)
@given(china_lon, china_lat)
def test_gcj_wgs_round_trip_within_a_centimetre(lon, lat):
    back = wgs84_to_gcj02(*gcj02_to_wgs84(lon, lat))
    assert distance_m(lon, lat, *back) <= 0.01


@settings(max_examples=300, deadline=None)
@given(china_lon, china_lat)
def test_bd09_round_trips_within_a_centimetre(lon, lat):
    assert distance_m(lon, lat, *bd09_to_wgs84(*wgs84_to_bd09(lon, lat))) <= 0.01
    assert distance_m(lon, lat, *bd09_to_gcj02(*gcj02_to_bd09(lon, lat))) <= 0.01
    assert distance_m(lon, lat, *to_wgs84(*from_wgs84(lon, lat, "bd09"), "bd09")) <= 0.01


@given(outside_points)
def test_gcj_is_identity_outside_china(point):
    lon, lat = point
    assert out_of_china(lon, lat)
    assert wgs84_to_gcj02(lon, lat) == (lon, lat)
    assert gcj02_to_wgs84(lon, lat) == (lon, lat)


def test_out_of_china_rectangle():
    assert not out_of_china(121.4, 31.1)
    assert out_of_china(2.35, 48.85)  # Paris
    assert out_of_china(121.4, -31.1)
    assert list(out_of_china(np.array([121.4, 0.0]), np.array([31.1, 0.0]))) == [False, True]


def test_iterative_inverse_beats_naive_in_minhang():
    lons, lats = np.meshgrid(np.linspace(121.32, 121.58, 12), np.linspace(30.97, 31.25, 12))
    naive_errors, iterative_errors = [], []
    for wgs_lon, wgs_lat in zip(lons.ravel(), lats.ravel(), strict=True):
        gcj = wgs84_to_gcj02(wgs_lon, wgs_lat)
        naive_errors.append(distance_m(wgs_lon, wgs_lat, *naive_gcj02_to_wgs84(*gcj)))
        iterative_errors.append(distance_m(wgs_lon, wgs_lat, *gcj02_to_wgs84(*gcj)))
    # The naive inverse is off by metres here; the iterative one by far less than a millimetre.
    assert 0.5 < np.mean(naive_errors) < 3.0
    assert max(naive_errors) > 1.0
    assert max(iterative_errors) < 0.001


def test_reference_values():
    # Forward values published in the gcoord project's tests (hujiulong/gcoord), to 8 decimals.
    assert wgs84_to_gcj02(123, 45) == pytest.approx((123.00607541, 45.00197815), abs=1e-8)
    assert gcj02_to_bd09(123, 45) == pytest.approx((123.00636499, 45.00636899), abs=1e-8)
    assert wgs84_to_bd09(123, 45) == pytest.approx((123.0124491, 45.0083293), abs=1e-7)
    # gcoord's inverses are approximate (~0.1 m); they agree with ours to its 5-decimal test precision.
    assert gcj02_to_wgs84(123, 45) == pytest.approx((122.99395597, 44.99804071), abs=5e-6)
    assert bd09_to_gcj02(123, 45) == pytest.approx((122.99363304, 44.99365430), abs=5e-6)
    assert bd09_to_wgs84(123, 45) == pytest.approx((122.98762210, 44.99171540), abs=5e-6)


def test_minhang_offset_is_a_few_hundred_metres():
    lon, lat = 121.3817, 31.1130  # Xinzhuang
    gcj = wgs84_to_gcj02(lon, lat)
    assert 400 < distance_m(lon, lat, *gcj) < 700
    # Around Shanghai the published offset points east and slightly south.
    assert gcj[0] > lon and gcj[1] < lat


def test_crs_dispatch_and_unknown_crs():
    lon, lat = 121.4, 31.1
    assert to_wgs84(lon, lat, "wgs84") == (lon, lat)
    assert from_wgs84(lon, lat, "gcj02") == wgs84_to_gcj02(lon, lat)
    assert to_wgs84(*wgs84_to_gcj02(lon, lat), "gcj02") == pytest.approx((lon, lat), abs=1e-10)
    assert set(coords.CRS_NAMES) == {"wgs84", "gcj02", "bd09"}
    for func in (to_wgs84, from_wgs84):
        with pytest.raises(ValueError, match="unknown crs"):
            func(lon, lat, "epsg3857")
    with pytest.raises(ValueError, match="unknown crs"):
        transform_geometry(shapely.Point(lon, lat), "mercator")


def test_scalar_results_are_python_float_tuples():
    result = gcj02_to_wgs84(121.4, 31.1)
    assert isinstance(result, tuple) and all(type(v) is float for v in result)


def test_transform_geometry_matches_pointwise():
    polygon = shapely.Polygon([(121.40, 31.10), (121.42, 31.10), (121.42, 31.12), (121.40, 31.10)])
    gcj = transform_geometry(polygon, "gcj02", to_wgs=False)
    for (lon, lat), (glon, glat) in zip(polygon.exterior.coords, gcj.exterior.coords, strict=True):
        assert (glon, glat) == pytest.approx(wgs84_to_gcj02(lon, lat), abs=1e-12)
    back = transform_geometry(gcj, "gcj02")
    assert shapely.equals_exact(back, polygon, tolerance=1e-9)
    assert transform_geometry(polygon, "wgs84") is polygon


def test_distance_m():
    assert distance_m(121.4, 31.1, 121.4, 31.1) == 0.0
    assert distance_m(121.4, 31.0, 121.4, 32.0) == pytest.approx(111195, rel=1e-4)
    assert distance_m(0, 0, 1, 0) == pytest.approx(distance_m(1, 0, 0, 0))
    assert distance_m(0, 0, 180, 0) == pytest.approx(np.pi * 6371008.8)


def test_metres_per_degree_at_minhang():
    mx, my = metres_per_degree(31.1)
    assert mx == pytest.approx(95_400, rel=2e-3)
    assert my == pytest.approx(110_870, rel=1e-3)


@pytest.mark.shared
def test_shared_towns_gcj02_convert_to_shared_wgs84(shared_data):
    gcj = json.loads((shared_data / "minhang_towns_gcj02.geojson").read_text(encoding="utf-8"))
    wgs = json.loads((shared_data / "minhang_towns_wgs84.geojson").read_text(encoding="utf-8"))
    assert len(gcj["features"]) == len(wgs["features"]) == 14
    for gcj_feature, wgs_feature in zip(gcj["features"], wgs["features"], strict=True):
        assert gcj_feature["properties"]["code"] == wgs_feature["properties"]["code"]
        first_gcj = shapely.get_coordinates(shape(gcj_feature["geometry"]))[0]
        first_wgs = shapely.get_coordinates(shape(wgs_feature["geometry"]))[0]
        assert distance_m(*gcj02_to_wgs84(*first_gcj), *first_wgs) <= 0.01
        # The naive inverse misses the published conversion by a measurable distance.
        assert distance_m(*naive_gcj02_to_wgs84(*first_gcj), *first_wgs) > 0.1


@pytest.mark.shared
def test_transform_geometry_round_trips_585_committees(shared_data):
    # No wall-clock bound: it fails on a loaded CI machine and proves nothing on a fast one (speed is for bench/).
    data = json.loads((shared_data / "minhang_committees_wgs84.geojson").read_text(encoding="utf-8"))
    geoms = [shape(f["geometry"]) for f in data["features"]]
    assert len(geoms) == 585
    gcj = [transform_geometry(g, "gcj02", to_wgs=False) for g in geoms]
    back = [transform_geometry(g, "gcj02") for g in gcj]
    worst = max(
        float(np.max(np.abs(shapely.get_coordinates(a) - shapely.get_coordinates(b))))
        for a, b in zip(geoms, back, strict=True)
    )
    assert worst < 1e-9  # degrees, about 0.1 mm
