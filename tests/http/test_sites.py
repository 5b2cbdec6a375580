"""Key sites: the file import (row report, all-or-nothing, idempotent, CRS), linking at intake, the risk rule,
hand correction, and the scoped site pages."""
import csv
import json
import re
from datetime import datetime

from openpyxl import Workbook
from sqlalchemy import func, select, text

from geo.coords import from_wgs84
from service.core.db import db
from service.sites.models import Site
from tests.support.reports_api import post
from tests.support.sites import HEADER, METRE_LAT, imported, point_row, run, stored, write_csv

METRE_LON = 1 / 95_500  # at Minhang's latitude


def square(lon, lat, half_m) -> list:
    dx, dy = half_m * METRE_LON, half_m * METRE_LAT
    corners = [(-1, -1), (1, -1), (1, 1), (-1, 1), (-1, -1)]
    return [[lon + sx * dx, lat + sy * dy] for sx, sy in corners]


def test_csv_import_is_idempotent_by_external_id(sites_env, spot, tmp_path):
    body = [point_row(spot, n, dy=n * 200) for n in range(3)]
    first = run(sites_env, write_csv(tmp_path / "s.csv", body))
    assert first.exit_code == 0, first.output + first.stderr
    assert "新增 3 个，更新 0 个，未变 0 个" in first.output
    assert "新增 0 个，更新 0 个，未变 3 个" in run(sites_env, write_csv(tmp_path / "s.csv", body)).output
    body[1][2] = "新名称"
    assert "新增 0 个，更新 1 个，未变 2 个" in run(sites_env, write_csv(tmp_path / "t.csv", body)).output
    sites = stored(sites_env)
    assert sites["S-1"].name == "新名称" and sites["S-0"].kind == "hospital" and sites["S-0"].risk_class == "medium"
    with sites_env.app_context():
        site = db.session.get(Site, sites["S-0"].id)
        assert site.committee.code == spot["code"] and site.town.code == spot["town"]


def test_geojson_polygon_in_gcj02_is_stored_in_wgs84(sites_env, spot, tmp_path):
    ring = [list(from_wgs84(lon, lat, "gcj02")) for lon, lat in square(spot["lon"], spot["lat"], 50)]
    props = {"编号": "P-1", "类型": "大型综合体", "名称": "万达广场", "风险等级": "高"}
    features = [{"type": "Feature", "properties": props,
                 "geometry": {"type": "Polygon", "coordinates": [ring]}}]
    path = tmp_path / "s.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    result = run(sites_env, str(path), "--crs", "gcj02")
    assert result.exit_code == 0, result.output + result.stderr
    with sites_env.app_context():
        centre = db.session.execute(text("SELECT ST_X(c), ST_Y(c), GeometryType(geom) FROM site,"
                                         " ST_Centroid(geom) c WHERE external_id = 'P-1'")).one()
    assert abs(centre[0] - spot["lon"]) < 1e-6 and abs(centre[1] - spot["lat"]) < 1e-6 and centre[2] == "POLYGON"


def test_xlsx_import(sites_env, spot, tmp_path):
    book = Workbook()
    book.active.append(HEADER)
    book.active.append(point_row(spot, 7, kind="小餐饮"))
    book.save(tmp_path / "s.xlsx")
    result = run(sites_env, str(tmp_path / "s.xlsx"))
    assert result.exit_code == 0, result.output + result.stderr
    assert stored(sites_env)["S-7"].kind == "small_restaurant"


def test_bad_rows_are_reported_and_nothing_is_written(sites_env, spot, tmp_path):
    body = [point_row(spot, 1), point_row(spot, 1), ["S-3", "游乐场", "x", "", "121.4", "31.1", "", "", ""],
            ["S-4", "医院", "=cmd", "", "", "", "", "", ""], point_row(spot, 5, risk="极高"), point_row(spot, 6)]
    report = tmp_path / "problems.csv"
    result = run(sites_env, write_csv(tmp_path / "s.csv", body), "--report", str(report))
    assert result.exit_code == 1 and stored(sites_env) == {}
    assert "第 3 行，“编号”列：编号与第 2 行重复" in result.stderr
    assert "第 4 行，“类型”列：类型无效" in result.stderr and "第 5 行，“名称”列：内容不能以" in result.stderr
    assert "第 5 行，“经度”列：位置无效" in result.stderr and "第 6 行，“风险等级”列" in result.stderr
    assert "未导入任何数据" in result.stderr
    assert len(list(csv.reader(report.open(encoding="utf-8-sig")))) == 1 + 5
    skipped = run(sites_env, write_csv(tmp_path / "s.csv", body), "--skip-bad")
    assert skipped.exit_code == 0 and set(stored(sites_env)) == {"S-1", "S-6"}


def test_sites_outside_the_district_are_refused_per_row(sites_env, spot, tmp_path):
    body = [point_row(spot, 1), ["FAR", "学校", "远处学校", "", "120.0", "30.0", "", "", ""]]
    result = run(sites_env, write_csv(tmp_path / "s.csv", body))
    assert result.exit_code == 1 and "第 3 行，“几何”列：该场所不在本区范围内" in result.stderr
    assert stored(sites_env) == {}
    assert run(sites_env, write_csv(tmp_path / "s.csv", body), "--skip-bad").exit_code == 0
    assert set(stored(sites_env)) == {"S-1"}


def test_unreadable_files_get_a_chinese_message(sites_env, tmp_path):
    (tmp_path / "s.txt").write_text("x")
    assert "只支持" in run(sites_env, str(tmp_path / "s.txt")).output
    (tmp_path / "s.geojson").write_text("{not json")
    assert "无法读取该 GeoJSON 文件" in run(sites_env, str(tmp_path / "s.geojson")).output
    (tmp_path / "e.geojson").write_text('{"type": "FeatureCollection", "features": []}')
    assert "没有任何要素" in run(sites_env, str(tmp_path / "e.geojson")).output
    missing = run(sites_env, write_csv(tmp_path / "m.csv", [["a"]], header=["名称"]))
    assert missing.exit_code == 1 and "缺少必填列：编号、类型" in missing.output


def test_a_report_near_a_site_point_is_linked_and_the_risk_rule_applies(sites_env, http, spot, tmp_path):
    sites = imported(sites_env, tmp_path, point_row(spot, 1, risk="高"), point_row(spot, 2, dy=500))
    near = post(http, lon=spot["lon"], lat=spot["lat"] + 20 * METRE_LAT, category="combustibles").json()
    near = http.get(f"/api/v1/reports/{near['id']}").json()
    assert near["site_id"] == sites["S-1"].id
    assert near["risk_level"] == "major"  # combustibles default to general; a high-risk site raises it
    hours = (datetime.fromisoformat(near["due_at"]) - datetime.fromisoformat(near["created_at"])).total_seconds() / 3600
    assert 35.9 < hours < 36.1  # major's 72 h, halved by the rule
    rule = [e for e in near["events"] if e["kind"] == "site_rule"]
    assert [e["kind"] for e in near["events"]] == ["transition", "site_rule"]
    assert rule[0]["data"]["risk_from"] == "general" and rule[0]["data"]["risk_to"] == "major"
    far = post(http, lon=spot["lon"], lat=spot["lat"] + 250 * METRE_LAT).json()
    assert far["site_id"] is None
    medium = post(http, lon=spot["lon"], lat=spot["lat"] + 500 * METRE_LAT, category="combustibles").json()
    medium = http.get(f"/api/v1/reports/{medium['id']}").json()
    assert medium["site_id"] == sites["S-2"].id and medium["risk_level"] == "general"
    assert [e["kind"] for e in medium["events"]] == ["transition"]


def test_a_report_inside_a_polygon_is_linked(sites_env, http, spot, tmp_path):
    polygon = "POLYGON((" + ", ".join(f"{x} {y}" for x, y in square(spot["lon"], spot["lat"], 150)) + "))"
    sites = imported(sites_env, tmp_path, ["P", "老旧小区", "某小区", "", "", "", polygon, "", "低"])
    inside = post(http, lon=spot["lon"] + 120 * METRE_LON, lat=spot["lat"]).json()
    assert inside["site_id"] == sites["P"].id
    outside = post(http, lon=spot["lon"] + 170 * METRE_LON, lat=spot["lat"]).json()
    assert outside["site_id"] is None


def test_staff_correct_a_site_link_by_hand(sites_env, http, as_user, accounts, spot, tmp_path):
    sites = imported(sites_env, tmp_path, point_row(spot, 1), point_row(spot, 2, dy=60))
    rid = post(http, lon=spot["lon"], lat=spot["lat"]).json()["id"]
    staff = as_user("staff_a")
    r = staff.post(f"/api/v1/reports/{rid}/site", json={"site": "S-2", "note": "实为隔壁医院"})
    assert r.status_code == 200, r.text
    body = http.get(f"/api/v1/reports/{rid}").json()
    assert body["site_id"] == sites["S-2"].id
    event = body["events"][-1]
    assert event["kind"] == "site_link" and event["data"]["from"] == "S-1" and event["data"]["to"] == "S-2"
    assert staff.post(f"/api/v1/reports/{rid}/site", json={"site": None}).status_code == 200
    assert http.get(f"/api/v1/reports/{rid}").json()["site_id"] is None
    r = staff.post(f"/api/v1/reports/{rid}/site", json={"site": "NOPE"})
    assert r.status_code == 422 and "场所编号不存在" in r.json()["error"]["message"]
    assert staff.post(f"/api/v1/reports/{rid}/site", json=["S-1"]).status_code == 400
    assert as_user("vol").post(f"/api/v1/reports/{rid}/site", json={"site": "S-1"}).status_code == 403
    assert as_user("staff_b").post(f"/api/v1/reports/{rid}/site", json={"site": "S-1"}).status_code == 404


def test_site_pages_show_history_and_figures_in_scope(sites_env, http, as_user, spot, tmp_path):
    sites = imported(sites_env, tmp_path, point_row(spot, 1))
    rids = [post(http, lon=spot["lon"], lat=spot["lat"]).json()["id"] for _ in range(2)]
    sid = sites["S-1"].id
    page = as_user("sup_a").get(f"/sites/{sid}")
    assert page.status_code == 200 and "场所1" in page.text
    assert re.search(r'id="fig-reports">2<', page.text) and re.search(r'id="fig-open">2<', page.text)
    assert all(rid in page.text for rid in rids)
    assert as_user("sup_b").get(f"/sites/{sid}").status_code == 404
    assert as_user("sup_b").get(f"/api/v1/sites/{sid}").status_code == 404
    assert as_user("vol").get(f"/api/v1/sites/{sid}").status_code == 404
    body = as_user("staff_a").get(f"/api/v1/sites/{sid}").json()
    assert body["figures"] == {"reports": 2, "open": 2, "overdue": 0} and body["kind_name"] == "医院"
    assert [s["external_id"] for s in as_user("sup_a").get("/api/v1/sites").json()["sites"]] == ["S-1"]
    assert as_user("sup_b").get("/api/v1/sites").json()["sites"] == []
    assert "场所1" in as_user("sup_a").get("/sites").text
    detail = as_user("sup_a").get(f"/reports/{rids[0]}").text
    assert f'/sites/{sid}"' in detail and 'id="site-link"' in detail


def test_link_query_uses_both_indexes(sites_env, owner_engine, app, http, spot):
    """At intake, one statement finds the site (ix_site_geog) and the report it repeats (ix_report_verified_geog)."""
    from tests.support.recurrence import links_plan
    from tests.support.seeding import seed_like

    seed_like(app, owner_engine, post(http, lon=spot["lon"], lat=spot["lat"]).json()["id"], "verified")
    with owner_engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO site (external_id, kind, name, geom, committee_id, town_id)"
            " SELECT 'B-' || g, 'small_shop', 'shop', ST_SetSRID(ST_MakePoint(121.30 + random() * 0.3,"
            " 30.95 + random() * 0.3), 4326), a.id, a.parent_id FROM generate_series(1, 20000) g,"
            " (SELECT id, parent_id FROM area WHERE level = 'committee' LIMIT 1) a"))
        conn.execute(text("ANALYZE site"))
    plan = links_plan(app, spot["lon"], spot["lat"], "ebike_charging")
    assert re.search(r"Index Scan using ix_site_geog on site[^\n]*\n\s+Index Cond: "
                     r"\(\(geom\)::geography &&", plan), plan
    assert re.search(r"Index Scan using ix_report_verified_geog on report r[^\n]*\n\s+Index Cond: "
                     r"\(\(location\)::geography &&", plan), plan
    with sites_env.app_context():
        assert db.session.scalar(select(func.count()).select_from(Site)) == 20000
        db.session.rollback()


def test_recurrence_rate_per_site(sites_env, http, as_user, spot, tmp_path):
    from tests.support.workflow_api import walk

    sites = imported(sites_env, tmp_path, point_row(spot, 1))
    first = post(http, lon=spot["lon"], lat=spot["lat"]).json()["id"]
    walk(as_user, first, ["accepted", "dispatched", "rectifying", "rectified", "verified"])
    post(http, lon=spot["lon"], lat=spot["lat"])
    by_site = http.get("/api/v1/recurrence").json()["recurrence"]["by_site"]
    assert by_site == [{"id": sites["S-1"].id, "name": "场所1", "verified": 1, "recurred": 1, "on_time": 0,
                        "recurrence_rate": 1.0, "on_time_rate": 0.0}]


def test_the_site_list_is_paged_by_keyset(sites_env, http, spot, tmp_path):
    imported(sites_env, tmp_path, *[point_row(spot, n, dy=n * 5) for n in range(60)])
    first = http.get("/api/v1/sites").json()
    assert len(first["sites"]) == 50 and first["next_cursor"]
    second = http.get("/api/v1/sites", params={"cursor": first["next_cursor"]}).json()
    assert len(second["sites"]) == 10 and second["next_cursor"] is None
    names = [s["name"] for s in first["sites"] + second["sites"]]
    assert names == sorted(names) and len(set(names)) == 60
    r = http.get("/api/v1/sites", params={"cursor": "bm90LWEtY3Vyc29y"})
    assert r.status_code == 422 and "翻页参数无效" in r.json()["error"]["message"]
