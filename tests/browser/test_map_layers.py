"""The map's other layers: drawing on 高德 (GCJ-02) tiles within 1 m of geo.coords, town outlines and the heat
layer, each inside the caller's scope."""
import math
import random

import pytest
from sqlalchemy import func, select, text

from geo.coords import wgs84_to_gcj02
from service.core.db import db
from service.core.models import Area
from tests.support.map_tiles import layers, tile_of
from tests.support.reports_api import post

EARTH_M_PER_DEG = 111_320.0
JSON = {"Accept": "application/json"}  # as map.js asks


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    dx = (a[0] - b[0]) * EARTH_M_PER_DEG * math.cos(math.radians(a[1]))
    return math.hypot(dx, (a[1] - b[1]) * EARTH_M_PER_DEG)


def tile_point_lonlat(feature: dict, z: int, x: int, y: int, extent: int = 4096) -> tuple[float, float]:
    """A decoded MVT point back to lon/lat (mapbox_vector_tile flips y to the bottom-left origin)."""
    px, py = feature["geometry"]["coordinates"]
    n = 2**z
    lon = (x + px / extent) / n * 360 - 180
    merc_y = (y + (extent - py) / extent) / n
    lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * merc_y))))
    return lon, lat


def test_the_sql_shift_matches_geo_coords_within_a_metre(app):
    rng = random.Random(7)
    points = [(rng.uniform(121.2, 121.6), rng.uniform(30.95, 31.25)) for _ in range(500)]
    points += [(2.35, 48.85), (137.9, 35.0)]  # outside China: unchanged
    with app.app_context():
        for lon, lat in points:
            got = db.session.execute(text("SELECT ST_X(g), ST_Y(g) FROM gcj02_point(:x, :y) AS g"),
                                     {"x": lon, "y": lat}).one()
            assert metres(tuple(got), wgs84_to_gcj02(lon, lat)) <= 1.0
        assert tuple(db.session.execute(text("SELECT ST_X(g), ST_Y(g) FROM gcj02_point(2.35, 48.85) AS g")).one()) \
            == (2.35, 48.85)
        # a committee polygon: every vertex shifted as geo.coords shifts it, rings and parts kept
        area = db.session.scalar(select(Area).where(Area.level == "committee").limit(1))
        rows = db.session.execute(select(func.ST_AsGeoJSON(Area.geom), func.ST_AsGeoJSON(func.to_gcj02(Area.geom)))
                                  .where(Area.id == area.id)).one()
    import json
    before, after = (json.loads(r)["coordinates"] for r in rows)
    before = before if isinstance(before[0][0][0], list) else [before]
    assert len(before) == len(after)
    for part, shifted in zip(before, after, strict=True):
        for ring, ring_shifted in zip(part, shifted, strict=True):
            assert len(ring) == len(ring_shifted)
            for v, w in zip(ring, ring_shifted, strict=True):
                assert metres(tuple(w), wgs84_to_gcj02(*v)) <= 1.0


@pytest.mark.parametrize("crs", ["wgs84", "gcj02"])
def test_points_are_drawn_in_the_base_maps_system(http, spot, crs):
    report = post(http, lon=spot["lon"], lat=spot["lat"]).json()["id"]
    expected = (spot["lon"], spot["lat"]) if crs == "wgs84" else wgs84_to_gcj02(spot["lon"], spot["lat"])
    z, x, y = tile_of(*expected, 21)  # the tile it is drawn in; z21: kept inside its cell, it moves < 1 m
    response = http.get(f"/tiles/reports/{z}/{x}/{y}.pbf", params={"crs": crs})
    import mapbox_vector_tile
    features = mapbox_vector_tile.decode(response.content)["reports"]["features"]
    assert [f["properties"]["id"] for f in features] == [report]
    drawn = tile_point_lonlat(features[0], z, x, y)
    assert metres(drawn, expected) <= 1.0  # one tile unit at z21 is 0.005 m
    if crs == "gcj02":
        assert metres(drawn, (spot["lon"], spot["lat"])) > 100  # really shifted (≈ 500 m in Shanghai)


def test_committee_outlines_shift_on_gcj02_tiles(http, spot):
    plain = layers(http, "committees", spot["lon"], spot["lat"], 12)["committees"]["features"]
    shifted = layers(http, "committees", spot["lon"], spot["lat"], 12, crs="gcj02")
    codes = {f["properties"]["code"] for f in plain}
    assert spot["code"] in codes
    assert spot["code"] in {f["properties"]["code"] for f in shifted["committees"]["features"]}
    assert plain != shifted["committees"]["features"]  # same committees, other coordinates


def test_an_unknown_system_is_refused(http, spot):
    z, x, y = tile_of(spot["lon"], spot["lat"], 14)
    response = http.get(f"/tiles/reports/{z}/{x}/{y}.pbf", params={"crs": "bd09"}, headers=JSON)
    assert response.status_code == 400 and "gcj02" in response.json()["error"]["message"]


def town_codes(session, spot) -> set[str]:
    decoded = layers(session, "towns", spot["lon"], spot["lat"], 9)
    return {f["properties"]["code"] for f in decoded.get("towns", {}).get("features", [])}


def test_town_outlines_are_scoped(http, as_user, spot, app):
    with app.app_context():
        towns = set(db.session.scalars(select(Area.code).where(Area.level == "town")))
        own = db.session.scalar(select(Area).where(Area.code == spot["code"])).parent.code
    assert town_codes(http, spot) == towns and len(towns) > 1  # z9 holds the whole district
    assert town_codes(as_user("sup_a"), spot) == {own}
    assert town_codes(as_user("staff_a"), spot) == {own}
    assert town_codes(as_user("vol"), spot) == set()


def heat(session, spot, z, **params):
    pad = 0.02
    bbox = f"{spot['lon'] - pad},{spot['lat'] - pad},{spot['lon'] + pad},{spot['lat'] + pad}"
    response = session.get("/map/heat.json", params={"bbox": bbox, "z": z, **params}, headers=JSON)
    assert response.status_code == 200, response.text
    assert "private" in response.headers["Cache-Control"]
    return response.json()


@pytest.mark.parametrize("z,params", [(11, {}), (11, {"overdue": "1", "status": "all"}), (16, {})],
                         ids=["rollup", "rows", "detail"])
def test_heat_counts_what_the_caller_may_see(http, as_user, spot, accounts, app, z, params):
    for _ in range(3):
        post(http, lon=spot["lon"], lat=spot["lat"])
    with app.app_context():  # a committee of another town, right beside the spot: inside the same view
        near = db.session.execute(text(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(a.geom) AS p FROM area a"
            " JOIN area t ON t.id = a.parent_id WHERE a.level = 'committee' AND t.code <> :town"
            " ORDER BY a.geom <-> ST_SetSRID(ST_MakePoint(:x, :y), 4326) LIMIT 1) q"),
            {"town": accounts["sup_a"]["area"], "x": spot["lon"], "y": spot["lat"]}).one()
    post(http, lon=near[0], lat=near[1])
    if params.get("overdue"):
        with app.app_context():
            db.session.execute(text("UPDATE report SET due_at = now() - interval '1 hour'"))
            db.session.commit()
    admin, sup = heat(http, spot, z, **params), heat(as_user("sup_a"), spot, z, **params)
    if abs(near[0] - spot["lon"]) < 0.02 and abs(near[1] - spot["lat"]) < 0.02:
        assert sum(p[2] for p in admin["points"]) == 4
    assert sum(p[2] for p in sup["points"]) == 3  # nothing from the other town, not even a zero
    assert sup["max"] == max(p[2] for p in sup["points"])
    assert heat(as_user("vol"), spot, z, **params)["points"] == []


def test_heat_refuses_a_bad_or_huge_view(http, spot):
    assert http.get("/map/heat.json", params={"z": 12}, headers=JSON).status_code == 400
    bad = http.get("/map/heat.json", params={"z": 12, "bbox": "1,2,3"}, headers=JSON)
    assert bad.status_code == 422 and "bbox" in bad.json()["error"]["message"]
    huge = http.get("/map/heat.json", params={"z": 18, "bbox": "121,30,122,32"}, headers=JSON)
    assert huge.status_code == 422 and "放大" in huge.json()["error"]["message"]


@pytest.mark.browser
def test_chromium_draws_towns_heat_and_shifts_to_gcj02_on_amap(open_page, http, spot, accounts):
    from tests.support.browser import assert_clean
    from tests.support.pages_browser import MAP

    post(http, lon=spot["lon"], lat=spot["lat"])
    page, log = open_page("/map", extra_http_headers={"Authorization": f"Bearer {accounts['admin']['token']}"})
    data_urls = []
    page.on("request", lambda r: "127.0.0.1" in r.url and ("/tiles/" in r.url or "/heat" in r.url)
            and data_urls.append(r.url))
    page.wait_for_selector("path.hazard-town")
    legend = page.locator(".hazard-legend")
    expect_text = legend.inner_text()
    assert "居村委：逾期隐患数" in expect_text and "≥ 100" in expect_text and "已逾期" in expect_text

    page.evaluate(f"() => {MAP}.setView([{spot['lat']}, {spot['lon']}], 17, {{animate: false}})")
    page.locator("path.hazard-report").first.wait_for()

    def marker_offset(lon: float, lat: float) -> float:
        """Pixels between the drawn report and where (lon, lat) falls on the map."""
        box = page.locator("path.hazard-report").first.bounding_box()
        origin = page.locator(".folium-map").bounding_box()
        want = page.evaluate(f"() => {MAP}.latLngToContainerPoint([{lat}, {lon}])")
        return math.hypot(box["x"] + box["width"] / 2 - origin["x"] - want["x"],
                          box["y"] + box["height"] / 2 - origin["y"] - want["y"])

    # A symbol is kept inside its 64 px cell: it moves at most its radius and stroke (12 px) from where it is.
    assert marker_offset(spot["lon"], spot["lat"]) < 13  # OSM: drawn where it is in WGS-84
    data_urls.clear()
    page.get_by_text("高德地图", exact=True).click()  # the base-map switch in the layer control
    page.wait_for_function("() => document.querySelectorAll('path.hazard-report').length === 1")
    page.wait_for_timeout(300)
    assert data_urls and all("crs=gcj02" in u for u in data_urls)
    gcj = wgs84_to_gcj02(spot["lon"], spot["lat"])
    assert marker_offset(*gcj) < 13  # on 高德 tiles: at its GCJ-02 position, not ~500 px away (z17: 1 px ≈ 1 m)

    with page.expect_response(lambda r: "/map/heat.json" in r.url) as heat_response:
        page.get_by_text("热力图", exact=True).click()
    assert heat_response.value.status == 200 and "crs=gcj02" in heat_response.value.url
    assert heat_response.value.json()["points"]
    page.wait_for_selector("canvas.leaflet-heatmap-layer")
    assert_clean(log, expected_url=lambda url: "autonavi.com" in url or "openstreetmap.org" in url)


@pytest.mark.parametrize("params", [{}, {"status": "all"}, {"category": "ebike_charging"}, {"since": "2020-01-01"}],
                         ids=["open", "all", "category", "dates (rows)"])
def test_committee_overdue_counts_equal_a_plain_count(http, as_user, spot, owner_engine, params):
    """Overdue per committee = running (rollup) minus not yet due (rows); the same as counting overdue rows."""
    for category in ("ebike_charging", "ebike_charging", "exit_blocked", "ebike_charging"):
        post(http, lon=spot["lon"], lat=spot["lat"], category=category)
    with owner_engine.begin() as conn:  # past due: two running, one closed; one due later; one with no deadline
        conn.execute(text("""
            WITH n AS (SELECT id, row_number() OVER (ORDER BY created_at, id) AS i FROM report)
            UPDATE report r SET
              status = CASE WHEN i = 3 THEN 'verified' WHEN i = 2 THEN 'dispatched' ELSE status END,
              due_at = CASE WHEN i <= 3 THEN now() - interval '2 hours' WHEN i = 4 THEN NULL
                            ELSE now() + interval '1 day' END
            FROM n WHERE n.id = r.id"""))
    post(http, lon=spot["lon"], lat=spot["lat"])  # due in the future
    with owner_engine.begin() as conn:
        expected = conn.execute(text(
            "SELECT count(*) FROM report WHERE due_at < now() AND status IN ('submitted','accepted','dispatched',"
            "'rectifying') AND (CAST(:category AS text) IS NULL OR category = :category)"),
            {"category": params.get("category")}).scalar()
    for who in ("admin", "sup_a"):
        decoded = layers(as_user(who), "committees", spot["lon"], spot["lat"], 12, **params)
        (mine,) = [f for f in decoded["committees"]["features"] if f["properties"]["code"] == spot["code"]]
        assert mine["properties"]["overdue"] == expected > 0
