"""Health, categories, areas and point lookup."""
from geo import coords
from service.rules.categories import CATEGORIES


def test_healthz_reports_the_database(http):
    assert http.get("/healthz").json() == {"status": "ok", "db": "ok"}


def test_healthz_is_503_when_the_database_is_down(database_url, photo_dir):
    from service import create_app

    broken = database_url.rsplit(":", 1)[0] + ":1/nowhere"  # a port nothing listens on
    app = create_app({"SQLALCHEMY_DATABASE_URI": broken, "PHOTO_DIR": str(photo_dir), "SECRET_KEY": "k" * 32})
    r = app.test_client().get("/healthz")
    assert r.status_code == 503 and r.json["db"] == "down"


def test_categories_have_stable_codes_and_chinese_names(http):
    body = http.get("/api/v1/categories").json()
    codes = [c["code"] for c in body["categories"]]
    assert codes == list(CATEGORIES)
    assert {"fire_lane_blocked", "ebike_charging", "nine_small", "other"} <= set(codes)
    nine = next(c for c in body["categories"] if c["code"] == "nine_small")
    assert "小餐饮" in [s["name"] for s in nine["subtypes"]]
    assert [r["name"] for r in body["risk_levels"]] == ["一般", "较大", "疑似重大"]


def test_areas_are_geojson_with_hierarchy(http):
    towns = http.get("/api/v1/areas", params={"level": "town"}).json()
    assert len(towns["features"]) == 14
    assert {f["properties"]["name"] for f in towns["features"]} >= {"七宝镇", "莘庄工业区", "江川路街道"}
    committees = http.get("/api/v1/areas").json()["features"]
    assert len(committees) == 585
    kinds = [f["properties"]["kind"] for f in committees]
    assert (kinds.count("village"), kinds.count("residential")) == (114, 471)
    assert all(f["properties"]["parent_code"] == f["properties"]["code"][:9] for f in committees)
    assert committees[0]["geometry"]["type"] == "MultiPolygon"
    assert http.get("/api/v1/areas", params={"level": "planet"}).status_code == 422


def test_lookup_in_each_crs(http, spot):
    for crs in coords.CRS_NAMES:
        lon, lat = coords.from_wgs84(spot["lon"], spot["lat"], crs)
        body = http.get("/api/v1/areas/lookup", params={"lon": lon, "lat": lat, "crs": crs}).json()
        assert body["committee"]["code"] == spot["code"], crs
        assert body["town"]["code"] == spot["town"]
        assert body["assignment"]["method"] == "covers"


def test_lookup_outside_and_invalid(http):
    r = http.get("/api/v1/areas/lookup", params={"lon": 116.39, "lat": 39.9})
    assert r.status_code == 422 and r.json()["error"]["code"] == "outside_area"
    assert http.get("/api/v1/areas/lookup", params={"lon": "x", "lat": 1}).status_code == 422
    assert http.get("/api/v1/areas/lookup").status_code == 422
