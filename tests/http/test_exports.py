"""Report exports (CSV, GeoJSON, XLSX, `hazard-snap export`) over real HTTP against PostGIS."""
import csv
import io
import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select, text, true

from service.core import sheets
from service.core.db import db
from service.core.models import Area
from service.reports import exports
from service.reports.filters import ReportFilter
from tests.support.exports import INJECTIONS
from tests.support.reports_api import post

HEADERS_ZH = ["编号", "上报时间", "状态", "隐患类别", "子类", "风险等级", "描述", "详细地址", "居村委代码", "居村委",
              "街镇代码", "街镇名称", "经度", "纬度", "整改期限", "整改完成时间", "上报人联系方式"]
DESCRIPTION = HEADERS_ZH.index("描述")


def point_in(app, code: str) -> dict:
    """An interior point of the committee with this code."""
    with app.app_context():
        pt = db.session.scalar(select(func.ST_AsText(func.ST_PointOnSurface(Area.geom))).where(Area.code == code))
        lon, lat = (float(v) for v in pt[6:-1].split())
        return {"lon": lon, "lat": lat}


def reported(http, where: dict, **fields) -> dict:
    r = post(http, lon=where["lon"], lat=where["lat"], **fields)
    assert r.status_code == 201, r.text
    return r.json()


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200, response.text
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def xlsx_rows(response) -> list[tuple]:
    assert response.status_code == 200, response.text
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    return [tuple(row) for row in book.worksheets[0].iter_rows(values_only=True)]


def geojson(response) -> dict:
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/geo+json")
    return json.loads(response.content)


def test_csv_opens_in_excel_bom_chinese_headers_local_times_labels(http, spot):
    report = reported(http, spot, risk_level="suspected_severe", address="莘庄镇某小区 3 号楼")
    r = http.get("/api/v1/reports.csv")
    assert r.content.startswith(b"\xef\xbb\xbf")
    assert r.headers["Content-Type"].startswith("text/csv")
    assert r.headers["Content-Disposition"].startswith("attachment; filename=hazard-reports-")
    header, row = csv_rows(r)
    assert header == HEADERS_ZH
    created = datetime.fromisoformat(report["created_at"]).astimezone(ZoneInfo("Asia/Shanghai"))
    assert row[:8] == [report["id"], created.strftime("%Y-%m-%d %H:%M"), "待受理",
                       "电动自行车楼道停放/室内充电/飞线充电", "", "疑似重大",
                       "楼道内电动车充电", "莘庄镇某小区 3 号楼"]
    assert row[8:12] == [spot["code"], spot["name"], spot["town"], report["town"]["name"]]
    assert [float(row[12]), float(row[13])] == pytest.approx([spot["lon"], spot["lat"]], abs=1e-6)


def test_headers_and_labels_follow_the_language(http, spot):
    reported(http, spot)
    header, row = csv_rows(http.get("/api/v1/reports.csv", params={"lang": "en"}))
    assert header[:4] == ["ID", "Reported at", "Status", "Hazard category"]
    assert row[2] != "待受理" and row[2].isascii()
    assert geojson(http.get("/api/v1/reports.geojson?lang=en"))["features"][0]["properties"]["status_label"] == row[2]


def test_town_supervisor_exports_only_their_town(http, as_user, spot, accounts, app):
    mine = reported(http, spot)
    reported(http, point_in(app, accounts["elsewhere_code"]))
    assert len(csv_rows(http.get("/api/v1/reports.csv"))) == 3  # the admin sees both
    sup = as_user("sup_a")
    assert [row[0] for row in csv_rows(sup.get("/api/v1/reports.csv"))[1:]] == [mine["id"]]
    assert [f["id"] for f in geojson(sup.get("/api/v1/reports.geojson"))["features"]] == [mine["id"]]
    assert [row[0] for row in xlsx_rows(sup.get("/api/v1/reports.xlsx"))[1:]] == [mine["id"]]
    assert len(csv_rows(as_user("sup_b").get("/api/v1/reports.csv", params={"town": spot["town"]}))) == 1


def test_filters_are_the_lists(http, spot, accounts, app):
    lane = reported(http, spot, category="fire_lane_blocked")
    wiring = reported(http, point_in(app, accounts["sibling_code"]), category="illegal_wiring")
    cases = [({"category": "fire_lane_blocked"}, [lane]), ({"committee": accounts["sibling_code"]}, [wiring]),
             ({"status": "closed"}, []), ({"risk": "major"}, [lane]), ({"overdue": "1"}, [])]
    for args, expected in cases:
        ids = [row[0] for row in csv_rows(http.get("/api/v1/reports.csv", params=args))[1:]]
        assert ids == [r["id"] for r in expected], args
        listed = http.get("/api/v1/reports", params=args).json()["reports"]
        assert [r["id"] for r in listed] == ids  # the same rows, in the same order, as the list
    ids = [f["id"] for f in geojson(http.get("/api/v1/reports.geojson", params={"risk": "general"}))["features"]]
    assert ids == [wiring["id"]]


@pytest.mark.parametrize("fmt", ["csv", "geojson", "xlsx"])
@pytest.mark.parametrize("args", [{"status": "bogus"}, {"since": "2026-13-01"}, {"bbox": "1,2"},
                                  {"category": "x"}, {"since": "2026-02-02", "until": "2026-01-01"}])
def test_a_bad_filter_is_422_in_chinese(http, fmt, args):
    r = http.get(f"/api/v1/reports.{fmt}", params=args)
    assert r.status_code == 422
    message = r.json()["error"]["message"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in message)


def test_routes_stay_apart_and_need_a_caller(http, anon_http):
    assert http.get("/api/v1/reports/abc.csv").json()["error"]["code"] == "report_not_found"
    assert http.get("/api/v1/reports.pdf").status_code == 404
    r = anon_http.get("/api/v1/reports.csv")
    assert r.status_code == 401 and r.json()["error"]["code"] == "login_required"


@pytest.mark.parametrize("payload", INJECTIONS, ids=["equals", "plus", "minus", "at", "tab", "cr"])
def test_formula_injection_is_neutralised_in_csv_and_xlsx(http, spot, owner_engine, payload):
    report = reported(http, spot)
    with owner_engine.begin() as conn:  # intake strips leading whitespace; the export must not count on it
        conn.execute(text("UPDATE report SET description = :d, address = :d WHERE id = :id"),
                     {"d": payload, "id": report["id"]})
    row = csv_rows(http.get("/api/v1/reports.csv"))[1]
    assert row[DESCRIPTION] == row[DESCRIPTION + 1] == "'" + payload
    book = load_workbook(io.BytesIO(http.get("/api/v1/reports.xlsx").content))
    cell = book.worksheets[0].cell(row=2, column=DESCRIPTION + 1)
    assert cell.data_type == "s"  # text, never a formula
    # XML reads a bare CR back as LF; what matters is the apostrophe in front
    assert cell.value in ("'" + payload, "'" + payload.replace("\r", "\n"))
    assert [c.value for c in book.worksheets[0][1]] == HEADERS_ZH


def test_neutralise_leaves_harmless_cells_alone():
    harmless = ["楼道 = 堵塞", -121.5, "", None]  # a number is no formula, whatever its sign
    assert sheets.neutralise(harmless) == harmless
    assert sheets.neutralise(INJECTIONS) == ["'" + p for p in INJECTIONS]


def test_geojson_is_an_rfc7946_feature_collection(http, spot):
    report = reported(http, spot, description="带 \"引号\" 和\n换行")
    body = geojson(http.get("/api/v1/reports.geojson"))
    assert body["type"] == "FeatureCollection" and "crs" not in body
    [feature] = body["features"]
    assert feature["type"] == "Feature" and feature["id"] == report["id"]
    assert feature["geometry"]["type"] == "Point"
    lon, lat = feature["geometry"]["coordinates"]
    assert (lon, lat) == pytest.approx((spot["lon"], spot["lat"]), abs=1e-6) and lon > 100 > lat  # lon first
    props = feature["properties"]
    assert props["description"] == "带 \"引号\" 和\n换行" and props["status_label"] == "待受理"
    assert props["committee_code"] == spot["code"] and props["town_code"] == spot["town"]
    empty = geojson(http.get("/api/v1/reports.geojson", params={"status": "closed"}))
    assert empty == {"type": "FeatureCollection", "features": []}


def copies(owner_engine, n: int) -> None:
    """Add n copies of the reports there are, a second older each, by SQL (more rows than one batch)."""
    with owner_engine.begin() as conn:
        conn.execute(text("INSERT INTO report (id, category, risk_level, description, location, submitted_lon,"
                          " submitted_lat, submitted_crs, location_source, committee_id, town_id, assignment_method,"
                          " assignment_distance_m, status, created_at) SELECT gen_random_uuid(), category,"
                          " risk_level, 'copy ' || i, location, submitted_lon, submitted_lat, submitted_crs,"
                          " location_source, committee_id, town_id, assignment_method, 0, status,"
                          " created_at - i * interval '1 second' FROM report, generate_series(1, :n) i"), {"n": n})


def test_many_rows_span_several_chunks(http, spot, owner_engine):
    reported(http, spot)
    copies(owner_engine, sheets.BATCH + 10)
    assert len(csv_rows(http.get("/api/v1/reports.csv"))) == sheets.BATCH + 12
    assert len(geojson(http.get("/api/v1/reports.geojson"))["features"]) == sheets.BATCH + 11


def test_the_export_streams_from_a_server_side_cursor(app, http, spot, accounts, owner_engine):
    reported(http, spot)
    copies(owner_engine, sheets.BATCH + 10)
    client = app.test_client()
    response = client.get("/api/v1/reports.csv", headers={"Authorization": f"Bearer {accounts['admin']['token']}"},
                          buffered=False)
    assert response.is_streamed and not isinstance(response.response, list)
    response.close()
    with app.app_context():
        found = exports.rows(true(), ReportFilter())
        next(found)
        with owner_engine.connect() as conn:  # one batch came by FETCH from a declared cursor; the rest waits
            fetching = conn.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                                        " AND query LIKE 'FETCH FORWARD%'"))
        found.close()
        db.session.rollback()
    assert fetching == 1


def test_cli_exports_everything_or_as_a_person(app, http, spot, accounts, tmp_path):
    mine = reported(http, spot)
    reported(http, point_in(app, accounts["elsewhere_code"]))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["export", str(tmp_path / "all.csv")])
    assert result.exit_code == 0, result.output
    assert "已导出 2 条上报" in result.output
    with open(tmp_path / "all.csv", encoding="utf-8-sig") as f:
        assert next(csv.reader(f)) == HEADERS_ZH
    result = runner.invoke(args=["export", str(tmp_path / "a.geojson"), "--as", accounts["sup_a"]["phone"],
                                 "--status", "open"])
    assert result.exit_code == 0, result.output
    features = json.loads((tmp_path / "a.geojson").read_text())["features"]
    assert [f["id"] for f in features] == [mine["id"]]
    result = runner.invoke(args=["export", str(tmp_path / "a.xlsx"), "--town", spot["town"], "--overdue"])
    assert result.exit_code == 0, result.output
    assert len(list(load_workbook(tmp_path / "a.xlsx").worksheets[0].values)) == 1  # the header only


@pytest.mark.parametrize("args, message", [(["r.csv", "--status", "bogus"], "状态取值无效"),
                                           (["r.txt"], "只支持"), (["r.csv", "--as", "10000000000"], "找不到手机号")])
def test_cli_refuses_in_chinese(app, tmp_path, args, message):
    result = app.test_cli_runner().invoke(args=["export", str(tmp_path / args[0]), *args[1:]])
    assert result.exit_code != 0 and message in result.output
    assert not (tmp_path / args[0]).exists()
