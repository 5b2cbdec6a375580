"""Every entry point that reads a coordinate refuses non-finite, overflowing, out-of-range and malformed values with a
4xx naming the field, and stores nothing: reports, orders, the point lookup, bbox filters and Open311 (the
inspection check-in has its own test in test_inspections.py). One parser (geo.coords.parse_number) is behind all."""
import json

import pytest
from sqlalchemy import text

from geo import coords
from tests.support import bad_coordinates
from tests.support.images import jpeg
from tests.support.orders_fixtures import clear_orders, order_body

CODES = {"bad_lon", "bad_lat", "bad_location", "no_location"}


def counts(owner_engine) -> tuple[int, int]:
    with owner_engine.connect() as conn:
        return (conn.scalar(text("SELECT count(*) FROM report")),
                conn.scalar(text("SELECT count(*) FROM service_order")))


@pytest.mark.parametrize("raw", ["nan", "NaN", "inf", "-Infinity", "1e400", "0x10", "1_0", "１２", "", " ", "1e",
                                 "--1", "1" * 80, None, True, [1.0], float("nan"), float("inf"), 10**400])
def test_the_parser_refuses_what_is_no_finite_number(raw):
    with pytest.raises(coords.CoordinateError):
        coords.parse_number(raw, -180, 180, field="lon")


def test_the_parser_takes_plain_decimals_within_range():
    assert coords.parse_number(" 121.4 ", -180, 180) == 121.4
    assert coords.parse_number("-1.5e1", -180, 180) == -15.0
    assert coords.parse_number(31, -90, 90) == 31.0
    assert coords.parse_lonlat("121.4", "31.1") == (121.4, 31.1)
    with pytest.raises(coords.CoordinateError):
        coords.parse_number("180.0001", -180, 180)
    assert coords.parse_bbox("121,31,122,32") == (121.0, 31.0, 122.0, 32.0)
    for bad in ("121,31,121,32", "121,31,122", "nan,31,122,32", "121,31,122,inf", "121,31,122,32,1"):
        with pytest.raises(coords.CoordinateError):
            coords.parse_bbox(bad)


def test_reports_refuse_bad_positions_and_keep_nothing(http, spot, owner_engine, photo_dir):
    before = counts(owner_engine), sorted(p.name for p in photo_dir.rglob("*") if p.is_file())
    for label, lon, lat in bad_coordinates.positions(spot):
        r = http.post("/api/v1/reports", data={"category": "combustibles", "lon": lon, "lat": lat},
                      files=[("photo", ("h.jpg", jpeg(), "image/jpeg"))])  # no EXIF GPS to fall back on
        assert r.status_code == 422, (label, r.status_code, r.text)
        assert r.json()["error"]["code"] in CODES, label
        assert any("\u4e00" <= ch <= "\u9fff" for ch in r.json()["error"]["message"]), label  # says it in Chinese
    assert (counts(owner_engine), sorted(p.name for p in photo_dir.rglob("*") if p.is_file())) == before


def test_orders_refuse_bad_positions_as_text_and_as_json_numbers(anon_http, spot, owner_engine):
    clear_orders(owner_engine)
    try:
        for label, lon, lat in bad_coordinates.positions(spot):
            r = anon_http.post("/api/v1/orders", json=order_body(spot, lon=lon, lat=lat))
            assert r.status_code == 422, (label, r.status_code, r.text)
        for body in bad_coordinates.BAD_JSON:
            rest = json.dumps({k: v for k, v in order_body(spot).items() if k not in ("lon", "lat")})
            raw = body[:-1] + ", " + rest[1:]  # the bad position's tokens spliced into a good order
            r = anon_http.post("/api/v1/orders", data=raw.encode(), headers={"Content-Type": "application/json"})
            assert r.status_code in (400, 422), (body, r.status_code, r.text)
            assert r.json()["error"]["code"].startswith("bad_"), body  # a 4xx that names what is wrong
        assert counts(owner_engine)[1] == 0
        good = anon_http.post("/api/v1/orders", json=order_body(spot))
        assert good.status_code == 201, good.text  # the same body with a real position is taken
    finally:
        clear_orders(owner_engine)


def test_the_point_lookup_refuses_bad_positions(anon_http, spot):
    for label, lon, lat in bad_coordinates.positions(spot):
        r = anon_http.get("/api/v1/areas/lookup", params={"lon": lon, "lat": lat})
        assert r.status_code == 422, (label, r.status_code, r.text)
    assert anon_http.get("/api/v1/areas/lookup", params={"lon": spot["lon"], "lat": spot["lat"]}).status_code == 200


@pytest.mark.parametrize("path", ["/api/v1/reports", "/api/v1/reports.geojson", "/api/v1/reports.csv"])
def test_bbox_filters_refuse_non_finite_corners(http, path):
    for bbox in ("nan,31,122,32", "121,31,inf,32", "121,31,122,1e400", "121,-91,122,32", "0x79,31,122,32"):
        r = http.get(path, params={"bbox": bbox})
        assert r.status_code == 422 and r.json()["error"]["code"] == "bad_bbox", (path, bbox, r.text)
    assert http.get(path, params={"bbox": "121,30,122,32"}).status_code == 200


def test_open311_refuses_bad_positions(anon_http, spot, accounts, owner_engine):
    before = counts(owner_engine)
    for label, lon, lat in bad_coordinates.positions(spot):
        r = anon_http.post("/open311/v2/requests.json", data={
            "service_code": "ebike_charging", "lat": lat, "long": lon, "description": "楼道充电",
            "api_key": accounts["vol"]["token"]})
        assert 400 <= r.status_code < 500, (label, r.status_code, r.text)
        assert r.json()[0]["description"], label
    assert counts(owner_engine) == before
