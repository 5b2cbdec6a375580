"""The map at any scale: vector tiles from PostGIS, decoded here to prove scope and filters; a page whose size
does not grow with the reports; keyset pages of the list that hold under concurrent inserts."""
import re
from datetime import date, timedelta

from sqlalchemy import func, select

from service.core.db import db
from service.core.models import Area
from tests.support.map_tiles import ids, layers
from tests.support.reports_api import post


def test_report_tiles_hold_only_what_the_caller_may_see(http, as_user, spot, elsewhere):
    mine = post(http, lon=spot["lon"], lat=spot["lat"]).json()["id"]
    theirs = post(http, lon=elsewhere["lon"], lat=elsewhere["lat"]).json()["id"]
    assert ids(layers(http, "reports", spot["lon"], spot["lat"], 16)) == {mine}  # the admin sees both
    assert ids(layers(http, "reports", elsewhere["lon"], elsewhere["lat"], 16)) == {theirs}
    sup = as_user("sup_a")
    assert ids(layers(sup, "reports", spot["lon"], spot["lat"], 16)) == {mine}
    assert ids(layers(sup, "reports", elsewhere["lon"], elsewhere["lat"], 16)) == set()  # not even an empty point
    volunteer = as_user("vol")
    assert ids(layers(volunteer, "reports", spot["lon"], spot["lat"], 16)) == set()


def test_low_zoom_tiles_count_per_cell_within_scope(http, as_user, spot, elsewhere):
    for _ in range(3):
        post(http, lon=spot["lon"], lat=spot["lat"])
    post(http, lon=elsewhere["lon"], lat=elsewhere["lat"])

    def counted(session, point):
        decoded = layers(session, "reports", point["lon"], point["lat"], 9)
        assert "reports" not in decoded  # no single points at low zoom
        return sum(f["properties"]["count"] for f in decoded.get("clusters", {}).get("features", []))

    assert counted(http, spot) == 4  # z9 covers the whole district in one tile
    assert counted(as_user("sup_a"), spot) == 3


def test_filters_apply_to_tiles(http, spot):
    report = post(http, lon=spot["lon"], lat=spot["lat"], category="ebike_charging").json()["id"]
    at = spot["lon"], spot["lat"], 16
    assert ids(layers(http, "reports", *at)) == {report}  # open by default
    assert ids(layers(http, "reports", *at, status="closed")) == set()
    assert ids(layers(http, "reports", *at, category="exit_blocked")) == set()
    assert ids(layers(http, "reports", *at, category="ebike_charging", status="all")) == {report}
    assert http.get("/tiles/reports/16/1/1.pbf", params={"status": "nonsense"}).status_code == 422
    assert http.get("/tiles/reports/3/99/1.pbf").status_code == 404


def test_committee_tiles_are_scoped_and_carry_counts(http, as_user, spot, accounts):
    post(http, lon=spot["lon"], lat=spot["lat"])
    admin = layers(http, "committees", spot["lon"], spot["lat"], 11)["committees"]["features"]
    town = layers(as_user("sup_a"), "committees", spot["lon"], spot["lat"], 11)["committees"]["features"]
    own = layers(as_user("staff_a"), "committees", spot["lon"], spot["lat"], 11)["committees"]["features"]
    assert len(admin) > len(town) > len(own) == 1
    assert {f["properties"]["code"][:9] for f in town} == {spot["town"]}
    (committee,) = [f for f in town if f["properties"]["code"] == spot["code"]]
    assert committee["properties"]["open"] == 1 and committee["properties"]["name"] == spot["name"]


def test_the_map_page_does_not_grow_with_reports(http, spot):
    before = http.get("/map")
    assert before.status_code == 200
    for i in range(5):
        post(http, lon=spot["lon"], lat=spot["lat"], description=f"第{i}条 独特描述")
    after = http.get("/map")
    assert abs(len(after.content) - len(before.content)) < 64  # only the map's random id may differ
    assert "独特描述" not in after.text
    assert "/tiles/reports/{z}/{x}/{y}.pbf?status=open" in after.text


def test_a_town_supervisor_map_opens_on_their_town(as_user, accounts, app, spot):
    page = as_user("sup_a").get("/map").text
    with app.app_context():
        box = db.session.scalar(select(func.ST_Extent(Area.geom)).where(
            Area.level == "town", Area.code == spot["town"]))
    west, south, east, north = (float(v) for v in box[4:-1].replace(" ", ",").split(","))
    assert "fitBounds" in page
    corners = [float(v) for v in re.findall(r"-?\d+\.\d+", page.split(".fitBounds(")[1])[:4]]
    assert south - 1e-6 <= corners[0] and corners[2] <= north + 1e-6
    assert west - 1e-6 <= corners[1] and corners[3] <= east + 1e-6


def test_filters_in_the_url_are_data_not_template_source(http):
    page = http.get("/map", params={"committee": "{{7*7}}", "town": "{% raw %}"})
    assert page.status_code == 200
    assert "{{7*7}}" in page.text and "{% raw %}" in page.text


def test_cursor_pages_are_complete_and_stable_under_inserts(http, spot):
    made = [post(http, lon=spot["lon"], lat=spot["lat"]).json()["id"] for _ in range(5)]
    first = http.get("/api/v1/reports", params={"limit": 2}).json()
    assert first["total"] == 5 and first["count"] == 2 and first["next"]
    newer = post(http, lon=spot["lon"], lat=spot["lat"]).json()["id"]  # arrives while someone pages
    seen = [r["id"] for r in first["reports"]]
    cursor = first["next"]
    while cursor:
        page = http.get("/api/v1/reports", params={"limit": 2, "cursor": cursor}).json()
        seen += [r["id"] for r in page["reports"]]
        cursor = page["next"]
    assert seen == made[::-1] and newer not in seen  # newest first, each exactly once
    assert http.get("/api/v1/reports", params={"cursor": "garbage"}).status_code == 422


def test_list_filters_and_totals_cover_the_whole_table(http, spot):
    for category in ("ebike_charging", "ebike_charging", "exit_blocked"):
        post(http, lon=spot["lon"], lat=spot["lat"], category=category)
    body = http.get("/api/v1/reports", params={"limit": 1, "category": "ebike_charging"}).json()
    assert body["count"] == 1 and body["total"] == 2  # from the rollup
    since = {"since": (date.today() - timedelta(days=2)).isoformat()}
    assert http.get("/api/v1/reports", params={"limit": 1, **since}).json()["total"] == 3  # counted rows
    assert http.get("/api/v1/reports", params={"risk": "nonsense"}).status_code == 422
    assert http.get("/api/v1/reports", params={"since": "2026-13-01"}).status_code == 422


def rollup_matches_rows(app) -> tuple[list, list]:
    from sqlalchemy import text

    key = "committee_id, town_id, status, category, risk_level"
    with app.app_context():
        kept = db.session.execute(text(f"SELECT {key}, n FROM report_rollup WHERE n > 0 ORDER BY {key}")).all()
        live = db.session.execute(text(f"SELECT {key}, count(*) FROM report GROUP BY {key} ORDER BY {key}")).all()
    return kept, live


def test_the_rollup_follows_inserts_moves_and_reassignments(app, http, as_user, spot, accounts):
    ids_ = [post(http, lon=spot["lon"], lat=spot["lat"], category=c).json()["id"]
            for c in ("ebike_charging", "ebike_charging", "exit_blocked")]
    sup = as_user("sup_a")
    assert sup.post(f"/api/v1/reports/{ids_[0]}/transitions", json={"to": "accepted"}).status_code == 200
    moved = sup.post(f"/api/v1/reports/{ids_[1]}/reassign", json={"committee": accounts["sibling_code"]})
    assert moved.status_code == 200, moved.text
    kept, live = rollup_matches_rows(app)
    assert kept == live and sum(row[-1] for row in live) == 3


def test_low_zoom_counts_agree_between_rollup_and_rows(http, spot):
    for _ in range(2):
        post(http, lon=spot["lon"], lat=spot["lat"])

    def total(**params):
        decoded = layers(http, "reports", spot["lon"], spot["lat"], 9, **params)
        return sum(f["properties"]["count"] for f in decoded.get("clusters", {}).get("features", []))

    assert total() == 2  # from the rollup, one point per committee
    since = (date.today() - timedelta(days=2)).isoformat()
    assert total(since=since) == 2  # a date filter counts the rows themselves
    assert total(status="closed") == 0
