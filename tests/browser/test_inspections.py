"""Inspection rounds: planning in scope, check-in on the spot, the checklist, a hazard item becoming a report through
intake, coverage per site and month; the inspector's walk in Chromium."""
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from sqlalchemy import text

from tests.support import bad_coordinates
from tests.support.browser import located
from tests.support.images import jpeg
from tests.support.inspections import planned, two_sites
from tests.support.sites import METRE_LAT
from tests.support.workflow_browser import signed_in


def only_month() -> str:
    return (datetime.now(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=5)).strftime("%Y-%m")


def test_planning_shares_sites_among_inspectors_in_scope(rounds_env, as_user, accounts, spot, tmp_path):
    two_sites(rounds_env, tmp_path, spot)
    r = planned(as_user("sup_a"), accounts)
    assert r.status_code == 201, r.text
    by_site = {i["site"]["external_id"]: i["inspector_id"] for i in r.json()["inspections"]}
    assert sorted(by_site.values()) == sorted([accounts["vol"]["id"], accounts["vol2"]["id"]])
    assert planned(as_user("sup_b"), accounts).status_code == 422  # the sites are not in that town
    assert planned(as_user("vol"), accounts).status_code == 403
    r = planned(as_user("sup_a"), accounts, who=("admin",))
    assert r.status_code == 422 and "巡查人员须为" in r.json()["error"]["message"]
    r = planned(as_user("sup_a"), accounts, sites=())
    assert r.status_code == 422 and "场所编号" in r.json()["error"]["message"]


def test_check_in_far_from_the_site_is_refused(rounds_env, as_user, accounts, spot, tmp_path):
    two_sites(rounds_env, tmp_path, spot)
    mine = {i["site"]["external_id"]: i["id"] for i in planned(as_user("sup_a"), accounts, who=("vol",)).json()
            ["inspections"]}
    vol = as_user("vol")
    far = vol.post(f"/api/v1/inspections/{mine['S-1']}/check-in",
                   json={"lon": spot["lon"], "lat": spot["lat"] + 300 * METRE_LAT})
    assert far.status_code == 422 and "请到达现场后再签到" in far.json()["error"]["message"]
    assert vol.post(f"/api/v1/inspections/{mine['S-1']}/check-in", json={"lon": "x"}).status_code == 422
    near = vol.post(f"/api/v1/inspections/{mine['S-1']}/check-in",
                    json={"lon": spot["lon"], "lat": spot["lat"] + 20 * METRE_LAT})
    assert near.status_code == 200 and 15 < near.json()["checkin_distance_m"] < 25
    assert as_user("vol2").post(f"/api/v1/inspections/{mine['S-1']}/check-in",
                                json={"lon": spot["lon"], "lat": spot["lat"]}).status_code == 404
    assert [i["id"] for i in vol.get("/api/v1/inspections/mine").json()["inspections"]] == sorted(mine.values())


def test_check_in_refuses_non_finite_and_out_of_range_positions(rounds_env, as_user, accounts, spot, tmp_path,
                                                                 owner_engine):
    """NaN walked through the geofence (distance 0, POINT EMPTY stored, the round then finished on time); inf
    was a 500. Every bad position, as text or as a JSON number, is refused and stores nothing."""
    two_sites(rounds_env, tmp_path, spot)
    [only] = planned(as_user("sup_a"), accounts, sites=("S-1",), who=("vol",)).json()["inspections"]
    vol, url = as_user("vol"), f"/api/v1/inspections/{only['id']}"
    for label, lon, lat in bad_coordinates.positions(spot):
        for how in ("json", "data"):
            r = vol.post(f"{url}/check-in", **{how: {"lon": lon, "lat": lat}})
            assert r.status_code == 422, (label, how, r.status_code, r.text)
            assert r.json()["error"]["code"] in ("bad_lon", "bad_lat", "bad_location"), (label, how)
    for body in bad_coordinates.BAD_JSON:
        r = vol.post(f"{url}/check-in", data=body, headers={"Content-Type": "application/json"})
        assert r.status_code in (400, 422), (body, r.status_code, r.text)
    with owner_engine.connect() as conn:
        row = conn.execute(text("SELECT checked_in_at, checkin_location, checkin_distance_m FROM inspection"
                                " WHERE id = :i"), {"i": only["id"]}).one()
    assert tuple(row) == (None, None, None)
    answers = {f"item_{c['code']}": "ok" for c in only["checklist"]}
    assert vol.post(url, data=answers).status_code == 409  # never checked in: the round cannot be finished


def test_a_hazard_item_becomes_a_report_through_intake(rounds_env, http, as_user, accounts, spot, tmp_path):
    sites = two_sites(rounds_env, tmp_path, spot)
    [only] = planned(as_user("sup_a"), accounts, sites=("S-1",), who=("vol",)).json()["inspections"]
    vol, url = as_user("vol"), f"/api/v1/inspections/{only['id']}"
    items = [c["code"] for c in only["checklist"]]
    assert items == ["exits_clear", "fire_lane_clear", "extinguishers_ok", "wiring_ok", "gas_ok"]  # a hospital
    answers = {f"item_{c}": "ok" for c in items} | {"item_exits_clear": "hazard", "item_gas_ok": "na",
                                                     "note_exits_clear": "二楼安全出口上锁"}
    assert vol.post(url, data=answers).status_code == 409  # not checked in yet
    vol.post(f"{url}/check-in", json={"lon": spot["lon"], "lat": spot["lat"]})
    r = vol.post(url, data={k: v for k, v in answers.items() if k != "item_wiring_ok"})
    assert r.status_code == 422 and "无私拉乱接电线" in r.json()["error"]["message"]
    r = vol.post(url, data=answers)
    assert r.status_code == 422 and "请拍摄现场照片" in r.json()["error"]["message"]
    r = vol.post(url, data=answers, files={"photo_exits_clear": ("a.jpg", jpeg(), "image/jpeg")})
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert results["wiring_ok"] == {"result": "ok"} and results["gas_ok"] == {"result": "na"}
    report = http.get(f"/api/v1/reports/{results['exits_clear']['report_id']}").json()
    assert report["category"] == "exit_blocked" and report["committee"]["code"] == spot["code"]
    assert report["site_id"] == sites["S-1"].id and "二楼安全出口上锁" in report["description"]
    assert len(report["photos"]) == 1
    again = vol.post(url, data=answers, files={"photo_exits_clear": ("a.jpg", jpeg(), "image/jpeg")})
    assert again.status_code == 409
    site_page = as_user("sup_a").get(f"/sites/{sites['S-1'].id}").text
    assert re.search(r'id="last-inspection">最近一次巡查：[^<]*发现隐患 1 项', site_page)
    due = f"/api/v1/inspection-coverage?month={only_month()}"  # counted in the month the round ends
    coverage = as_user("sup_a").get(due).json()
    assert coverage["total"] == {"due": 1, "on_time": 1, "late": 0, "overdue": 0}
    assert coverage["by_site"][0]["id"] == sites["S-1"].id
    assert as_user("sup_b").get(due).json()["total"]["due"] == 0
    assert as_user("sup_a").get("/api/v1/inspection-coverage?month=11/2026").status_code == 422
    ends_on = (datetime.now(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=5)).isoformat()
    stats = http.get("/api/v1/stats", params={"until": ends_on}).json()["sections"]["inspections"]
    assert stats["total"] == {"due": 1, "on_time": 1, "late": 0, "overdue": 0}
    assert 'id="inspection-totals"' in as_user("sup_a").get("/dashboard").text
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    cid = http.post("/api/v1/campaigns", json={"title": "医院专项", "starts_on": today, "ends_on": today,
                                               "focus_site_kinds": ["hospital"]}).json()["id"]
    assert http.get(f"/api/v1/campaigns/{cid}/results").json()["sites_inspected"] == 1


def test_the_planning_page_names_inspectors_by_phone(rounds_env, as_user, accounts, spot, tmp_path):
    two_sites(rounds_env, tmp_path, spot)
    sup = as_user("sup_a")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', sup.get("/inspections/plan").text).group(1)
    form = {"csrf_token": token, "title": "巡查", "starts_on": "2026-11-01", "ends_on": "2026-11-30",
            "sites": "S-1\nS-2", "inspectors": "13999999999"}
    bad = sup.post("/inspections/plan", data=form)
    assert bad.status_code == 422 and "不在您的管辖范围内" in bad.text and "：13999999999。" in bad.text
    good = sup.post("/inspections/plan", data=form | {"inspectors": accounts["vol"]["phone"]})
    assert good.status_code == 200 and "已安排巡查：2 处场所" in good.text
    assert as_user("vol").get("/inspections/plan").status_code == 404


@pytest.mark.browser
def test_inspection_walk_in_chromium(rounds_env, http, as_user, accounts, spot, tmp_path, open_page):
    two_sites(rounds_env, tmp_path, spot)
    planner, _log = signed_in(open_page, accounts, "sup_a", "督办工作台")
    planner.goto(planner.url.rsplit("/", 1)[0] + "/sites")
    planner.click("#plan-link")
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    planner.fill("#plan-title", "十一月巡查")
    planner.fill("#plan-starts", today.isoformat())
    planner.fill("#plan-ends", (today + timedelta(days=5)).isoformat())
    planner.fill("#plan-sites", "S-2")
    planner.fill("#plan-inspectors", accounts["vol"]["phone"])
    planner.click("#plan-submit")
    expect(planner.locator(".flash.ok")).to_contain_text("已安排巡查：1 处场所")
    [task] = as_user("vol").get("/api/v1/inspections/mine").json()["inspections"]
    page, log = signed_in(open_page, accounts, "vol", "我的上报", **located(spot))
    page.goto(page.url.replace("/me/reports", "/inspections"))
    page.click(f'.inspection-item[data-id="{task["id"]}"] a')
    page.click("#check-in")
    expect(page.locator("#status")).to_contain_text("已签到")
    for item in task["checklist"]:
        page.check(f'input[name="item_{item["code"]}"][value="ok"]')
    page.check('input[name="item_no_ebike_indoor"][value="hazard"]')
    photo = tmp_path / "hazard.jpg"
    photo.write_bytes(jpeg())
    page.set_input_files('input[name="photo_no_ebike_indoor"]', str(photo))
    page.click("#finish")
    expect(page.locator("#status")).to_have_text("巡查已完成，发现的隐患已上报。")
    done = as_user("vol").get("/api/v1/inspections/mine").json()["inspections"]
    assert done == []
    reports = http.get("/api/v1/reports?category=ebike_charging").json()
    assert any(re.search("巡查发现", r["description"]) for r in reports["reports"])
    assert log.errors == [] and log.dialogs == []
