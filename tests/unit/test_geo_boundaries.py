"""Tests for geo.boundaries: reading and validating GeoJSON, topology checks and repair."""

import io
import json

import numpy as np
import pytest
import shapely
from shapely.geometry import MultiPolygon, Polygon, box, mapping

from geo.boundaries import (
    Boundary,
    BoundaryError,
    TopologyReport,
    check_topology,
    read_boundaries,
    repair,
    to_feature_collection,
)
from geo.coords import distance_m, gcj02_to_wgs84, metres_per_degree

LON0, LAT0 = 121.40, 31.10  # hand-made shapes sit in Minhang so metre areas are realistic


def cell(dx0, dy0, dx1, dy1) -> Polygon:
    """Return a rectangle given in thousandths of a degree from the Minhang origin."""
    return box(LON0 + dx0 / 1000, LAT0 + dy0 / 1000, LON0 + dx1 / 1000, LAT0 + dy1 / 1000)


def area_m2(width_mdeg, height_mdeg) -> float:
    """Return the approximate area in m2 of a rectangle given in thousandths of a degree."""
    mx, my = metres_per_degree(LAT0)
    return width_mdeg / 1000 * mx * height_mdeg / 1000 * my


def committee(code, geom, parent="310112102") -> Boundary:
    """Return a committee Boundary with a MultiPolygon of geom."""
    geom = geom if isinstance(geom, MultiPolygon) else MultiPolygon([geom])
    return Boundary(code, f"c{code}", "committee", "residential", parent, geom)


def town(code, geom) -> Boundary:
    """Return a town Boundary with a MultiPolygon of geom."""
    return Boundary(code, f"t{code}", "town", None, None, MultiPolygon([geom]))


def feature(props, geom) -> dict:
    """Return a GeoJSON Feature dict."""
    return {"type": "Feature", "properties": props, "geometry": mapping(geom) if geom is not None else None}


def collection(*features) -> dict:
    """Return a GeoJSON FeatureCollection dict."""
    return {"type": "FeatureCollection", "features": list(features)}


# --- reading ---------------------------------------------------------------------------------------------


def test_read_committees_derives_kind_and_parent():
    data = collection(
        feature({"code": "310112102005", "name": "甲居民委员会"}, cell(0, 0, 1, 1)),
        feature({"code": "310112102201", "name": "乙村村民委员会"}, cell(1, 0, 2, 1)),
    )
    first, second = read_boundaries(data, level="committee")
    assert (first.kind, first.parent_code, first.level) == ("residential", "310112102", "committee")
    assert (second.kind, second.parent_code) == ("village", "310112102")
    assert isinstance(first.geom, MultiPolygon)
    assert first.geom.equals(MultiPolygon([cell(0, 0, 1, 1)]))


def test_read_keeps_given_attributes_and_level_argument_overrides():
    props = {"code": "310112102005", "name": " 甲 ", "level": "town", "kind": "village"}
    props["parent_code"] = "310112999"
    (b,) = read_boundaries(collection(feature(props, cell(0, 0, 1, 1))), level="committee")
    assert (b.name, b.level, b.kind, b.parent_code) == ("甲", "committee", "village", "310112999")
    numeric_code = {"code": 310112102, "name": "七宝镇", "level": "town"}
    (t,) = read_boundaries(collection(feature(numeric_code, cell(0, 0, 1, 1))))
    assert (t.code, t.level, t.kind, t.parent_code) == ("310112102", "town", None, None)


def test_read_drops_heights():
    ring = [(121.40, 31.10, 5.0), (121.41, 31.10, 5.0), (121.41, 31.11, 5.0), (121.40, 31.10, 5.0)]
    (b,) = read_boundaries(one(geom=Polygon(ring)))
    assert not b.geom.has_z
    (g,) = read_boundaries(one(geom=Polygon(ring)), crs="gcj02")
    assert not g.geom.has_z


def test_read_from_path_and_file_object(tmp_path):
    data = collection(feature({"code": "310112102", "name": "七宝镇", "level": "town"}, cell(0, 0, 1, 1)))
    path = tmp_path / "towns.geojson"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    from_path = read_boundaries(path)
    from_str = read_boundaries(str(path))
    from_file = read_boundaries(io.StringIO(json.dumps(data)))
    assert from_path == from_str == from_file == read_boundaries(data)


def test_read_converts_from_gcj02():
    ring = [(121.40, 31.10), (121.41, 31.10), (121.41, 31.11), (121.40, 31.10)]
    data = collection(feature({"code": "310112102", "name": "七宝镇", "level": "town"}, Polygon(ring)))
    (b,) = read_boundaries(data, crs="gcj02")
    for (lon, lat), (wlon, wlat) in zip(ring, b.geom.geoms[0].exterior.coords, strict=True):
        assert (wlon, wlat) == pytest.approx(gcj02_to_wgs84(lon, lat), abs=1e-12)


def test_feature_collection_round_trip():
    data = collection(
        feature({"code": "310112102", "name": "七宝镇", "level": "town"}, cell(0, 0, 2, 1)),
        feature({"code": "310112102005", "name": "甲", "level": "committee"}, cell(0, 0, 1, 1)),
    )
    boundaries = read_boundaries(data)
    assert read_boundaries(to_feature_collection(boundaries)) == boundaries
    assert to_feature_collection(boundaries)["features"][0]["properties"] == {
        "code": "310112102",
        "name": "七宝镇",
        "level": "town",
    }


def one(geom=None, **props) -> dict:
    """Return a one-feature collection of a town-like feature; None props are dropped."""
    merged = {"code": "310112102", "name": "x", "level": "town", **props}
    merged = {key: value for key, value in merged.items() if value is not None}
    return collection(feature(merged, cell(0, 0, 1, 1) if geom is None else geom))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"type": "Feature"}, "FeatureCollection"),
        ([], "unsupported boundary source"),
        ({"type": "FeatureCollection"}, "features"),
        (collection({"type": "Feature"}), "feature 0"),
        (one(code=None), "feature 0: code"),
        (one(code="31011210A"), "digits"),
        (one(code="３１０１１２１０２"), "digits"),
        (one(code="3101121020"), "9 digits"),
        (one(level="committee"), "12"),
        (one(name=" "), "name"),
        (one(level=None), "level"),
        (one(level="city"), "level"),
        (one(code="310112102500", level="committee"), "kind"),
        (one(code="310112102005", level="committee", kind="farm"), "kind"),
        (one(code="310112102005", level="committee", parent_code="abc"), "parent_code"),
        (collection(feature({"code": "310112102", "name": "x", "level": "town"}, None)), "geometry"),
        (one(geom=shapely.Point(121.4, 31.1)), "Point"),
        (one(geom=shapely.LineString([(121.4, 31.1), (121.5, 31.1)])), "LineString"),
        (one(geom=Polygon()), "empty"),
        (
            collection(one()["features"][0], one(name="y")["features"][0]),
            "feature 1: duplicate code 310112102",
        ),
    ],
)
def test_malformed_input_raises_boundary_error(data, message):
    with pytest.raises(BoundaryError, match=message):
        read_boundaries(data)


def test_malformed_coordinates_and_sources():
    broken = {"type": "Polygon", "coordinates": [[[121.4, 31.1], [121.5]]]}
    data = collection(
        {"type": "Feature", "properties": {"code": "310112102", "name": "x"}, "geometry": broken}
    )
    with pytest.raises(BoundaryError, match="feature 0 \\(code 310112102\\)"):
        read_boundaries(data, level="town")
    with pytest.raises(BoundaryError, match="unknown crs"):
        read_boundaries(collection(), crs="utm51")
    with pytest.raises(BoundaryError, match="cannot read"):
        read_boundaries(io.StringIO("{not json"))
    with pytest.raises(BoundaryError, match="cannot read"):
        read_boundaries("/nonexistent/boundaries.geojson")
    assert issubclass(BoundaryError, ValueError)


# --- topology --------------------------------------------------------------------------------------------


def test_clean_partition_is_ok():
    parent = town("310112102", cell(0, 0, 2, 2))
    children = [
        committee("310112102001", cell(0, 0, 1, 1)),
        committee("310112102002", cell(1, 0, 2, 1)),
        committee("310112102003", cell(0, 1, 2, 2)),
    ]
    report = check_topology(children, parents=[parent])
    assert report.ok
    assert report.lines() == [report.summary()]
    assert "ok" in report.summary()


def test_bow_tie_is_reported_invalid_and_repaired():
    bow_tie = Polygon([(121.40, 31.10), (121.41, 31.11), (121.41, 31.10), (121.40, 31.11), (121.40, 31.10)])
    broken = committee("310112102001", bow_tie)
    report = check_topology([broken])
    assert not report.ok
    assert [code for code, _ in report.invalid] == ["310112102001"]
    assert "Self-intersection" in report.invalid[0][1]
    (fixed,) = repair([broken])
    assert fixed.geom.is_valid and isinstance(fixed.geom, MultiPolygon)
    assert len(fixed.geom.geoms) == 2
    assert fixed.geom.area == pytest.approx(0.01 * 0.01 / 2)
    assert check_topology([fixed]).ok


def test_repair_keeps_valid_boundaries_and_rejects_collapsed_ones():
    good = committee("310112102001", cell(0, 0, 1, 1))
    assert repair([good])[0] is good
    flat = committee("310112102002", Polygon([(121.4, 31.1), (121.5, 31.1), (121.6, 31.1), (121.4, 31.1)]))
    with pytest.raises(BoundaryError, match="310112102002"):
        repair([flat])


def test_overlapping_siblings():
    a = committee("310112102002", cell(0, 0, 1.1, 1))
    b = committee("310112102001", cell(1, 0, 2, 1))
    other_town = committee("310112103001", cell(0.5, 0, 1.5, 1), parent="310112103")
    report = check_topology([a, b, other_town])
    assert len(report.overlaps) == 1  # committees of different towns are not siblings
    code_a, code_b, area = report.overlaps[0]
    assert (code_a, code_b) == ("310112102001", "310112102002")
    assert area == pytest.approx(area_m2(0.1, 1), rel=0.01)
    assert any(line.startswith("overlap 310112102001 / 310112102002") for line in report.lines())


def test_towns_without_parent_are_siblings():
    report = check_topology([town("310112101", cell(0, 0, 2, 2)), town("310112102", cell(1, 1, 3, 3))])
    assert [(a, b) for a, b, _ in report.overlaps] == [("310112101", "310112102")]


def test_gap_in_parent():
    parent = town("310112102", cell(0, 0, 3, 1))
    children = [committee("310112102001", cell(0, 0, 1, 1)), committee("310112102002", cell(2, 0, 3, 1))]
    report = check_topology(children, parents=[parent])
    assert [code for code, _ in report.gaps] == ["310112102"]
    assert report.gaps[0][1] == pytest.approx(area_m2(1, 1), rel=0.01)
    assert not report.overlaps and not report.outside
    assert check_topology(children).ok  # without parents there is nothing to compare with


def test_child_outside_parent():
    parent = town("310112102", cell(0, 0, 2, 1))
    children = [committee("310112102001", cell(0, 0, 1, 1)), committee("310112102002", cell(1, 0, 2.5, 1))]
    report = check_topology(children, parents=[parent])
    assert [(c, p) for c, p, _ in report.outside] == [("310112102002", "310112102")]
    assert report.outside[0][2] == pytest.approx(area_m2(0.5, 1), rel=0.01)
    assert not report.gaps


def test_noise_below_min_area_is_ignored():
    parent = town("310112102", cell(0, 0, 2, 1))
    # A 1e-9 degree (0.1 mm) overlap along a 110 m edge is ~0.01 m2 of floating-point noise.
    children = [
        committee("310112102001", cell(0, 0, 1.000001, 1)),
        committee("310112102002", cell(1, 0, 2, 1)),
    ]
    assert check_topology(children, parents=[parent]).ok
    assert not check_topology(children, parents=[parent], min_area_m2=0.0).ok


def test_report_lines_and_empty_input():
    report = TopologyReport(
        invalid=[("1", "Self-intersection")],
        overlaps=[("1", "2", 3.0)],
        gaps=[("9", 4.0)],
        outside=[("2", "9", 5)],
    )
    lines = report.lines()
    assert len(lines) == 5 and "NOT ok" in lines[-1]
    assert check_topology([]).ok


# --- shared data -----------------------------------------------------------------------------------------


@pytest.mark.shared
def test_shared_towns_gcj02_match_wgs84_file(shared_data):
    from_gcj = read_boundaries(shared_data / "minhang_towns_gcj02.geojson", crs="gcj02")
    from_wgs = read_boundaries(shared_data / "minhang_towns_wgs84.geojson")
    assert [b.code for b in from_gcj] == [b.code for b in from_wgs]
    assert len(from_gcj) == 14 and all(b.level == "town" for b in from_gcj)
    worst = 0.0
    for a, b in zip(from_gcj, from_wgs, strict=True):
        ca, cb = shapely.get_coordinates(a.geom), shapely.get_coordinates(b.geom)
        assert ca.shape == cb.shape
        worst = max(worst, max(distance_m(*p, *q) for p, q in zip(ca[::25], cb[::25], strict=True)))
        assert np.max(np.abs(ca - cb)) < 1e-9  # every vertex, in degrees (~0.1 mm)
    assert worst <= 0.01


@pytest.mark.shared
def test_shared_committees_against_towns(shared_data):
    towns = read_boundaries(shared_data / "minhang_towns_wgs84.geojson")
    committees = read_boundaries(shared_data / "minhang_committees_wgs84.geojson")
    assert len(committees) == 585
    assert sum(b.kind == "village" for b in committees) == 114
    report = check_topology(committees, parents=towns)
    print("\n".join(report.lines()))
    assert not report.invalid
    # Measured: the synthetic committees partition the towns exactly (no problem of 1 m2 or more).
    assert report.ok
    assert check_topology(towns).ok
