"""Monthly themed campaigns: defined by admins (API and page), a banner and focus-first categories on /report,
overlap, ending changes no report, results in scope; the banner in Chromium."""
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from sqlalchemy import text

from tests.support.reports_api import post

TODAY = datetime.now(ZoneInfo("Asia/Shanghai")).date()


def day(offset: int) -> str:
    return (TODAY + timedelta(days=offset)).isoformat()


@pytest.fixture
def campaigns_env(app, owner_engine):
    yield app
    with owner_engine.begin() as conn:
        conn.execute(text("DELETE FROM campaign"))


def define(http, **fields):
    body = {"title": "电动自行车安全月", "starts_on": day(0), "ends_on": day(2), "focus_categories": ["window_bars"],
            "guidance": "重点查看楼道充电"} | fields
    return http.post("/api/v1/campaigns", json=body)


def offered(page_html: str) -> list[str]:
    select = re.search(r'<select name="category" id="category".*?</select>', page_html, re.S).group(0)
    return re.findall(r'<option value="([a-z_]+)">', select)


def test_the_report_page_shows_running_campaigns_and_their_categories_first(campaigns_env, http, anon_http):
    assert define(http).status_code == 201
    assert define(http, title="夏季用电", focus_categories=["illegal_wiring", "window_bars"],
                  focus_site_kinds=["old_estate"]).status_code == 201  # overlapping
    assert define(http, title="春节烟花", starts_on=day(5), ends_on=day(9)).status_code == 201  # not yet
    page = anon_http.get("/report").text
    assert "电动自行车安全月" in page and "夏季用电" in page and "春节烟花" not in page
    assert "重点查看楼道充电" in page and "防盗窗/铁栅栏封堵逃生出口" in page and "老旧小区" in page
    assert offered(page)[:2] == ["illegal_wiring", "window_bars"]  # the latest campaign's focus first
    assert len(offered(page)) == 11  # every category still offered
    current = anon_http.get("/api/v1/campaigns/current").json()["campaigns"]
    assert {c["title"] for c in current} == {"电动自行车安全月", "夏季用电"}


def test_ending_a_campaign_changes_no_report(campaigns_env, app, http, spot):
    cid = define(http).json()["id"]
    rid = post(http, lon=spot["lon"], lat=spot["lat"], category="window_bars").json()["id"]
    before = http.get(f"/api/v1/reports/{rid}").json()
    ended = http.post(f"/api/v1/campaigns/{cid}/end")
    assert ended.status_code == 200 and ended.json()["ended_at"]
    assert http.get(f"/api/v1/reports/{rid}").json() == before
    assert http.get("/api/v1/campaigns/current").json()["campaigns"] == []
    assert http.post(f"/api/v1/campaigns/{cid}/end").status_code == 409
    assert http.get(f"/api/v1/campaigns/{cid}/results").json()["reports"] == 1  # still counted


def test_results_against_the_days_before_in_scope(campaigns_env, owner_engine, http, as_user, spot):
    cid = define(http, focus_categories=["window_bars", "combustibles"]).json()["id"]
    for _ in range(2):
        post(http, lon=spot["lon"], lat=spot["lat"], category="window_bars")
    earlier = post(http, lon=spot["lon"], lat=spot["lat"], category="combustibles").json()["id"]
    post(http, lon=spot["lon"], lat=spot["lat"], category="exit_blocked")  # not in focus
    with owner_engine.begin() as conn:
        conn.execute(text("UPDATE report SET created_at = now() - interval '2 days' WHERE id = :id"), {"id": earlier})
    results = as_user("sup_a").get(f"/api/v1/campaigns/{cid}/results").json()
    assert (results["reports"], results["reports_before"], results["rectified_on_time"]) == (2, 1, 0)
    assert as_user("sup_b").get(f"/api/v1/campaigns/{cid}/results").json()["reports"] == 0
    assert as_user("vol").get(f"/api/v1/campaigns/{cid}/results").status_code == 403
    running = http.get("/api/v1/stats").json()["sections"]["campaigns"]["running"]
    assert [(r["campaign"]["id"], r["reports"], r["reports_before"]) for r in running] == [(cid, 2, 1)]
    assert 'id="campaign-results"' in as_user("sup_a").get("/dashboard").text


def test_bad_campaigns_are_refused_in_chinese(campaigns_env, http, as_user):
    cases = [({"ends_on": day(-1)}, "结束日期不能早于开始日期"), ({"starts_on": "11/01"}, "YYYY-MM-DD"),
             ({"focus_categories": ["nope"]}, "重点类别无效"), ({"focus_categories": []}, "至少选择一个"),
             ({"target_towns": ["999999999"]}, "目标街镇代码无效"), ({"title": " "}, "标题不能为空"),
             ({"focus_site_kinds": "school"}, "重点场所类型无效")]
    for fields, words in cases:
        r = define(http, **fields)
        assert r.status_code == 422 and words in r.json()["error"]["message"], (fields, r.text)
    assert http.post("/api/v1/campaigns", data="x").status_code == 400
    assert define(as_user("sup_a")).status_code == 403
    assert http.get("/api/v1/campaigns").json()["campaigns"] == []
    assert http.get("/api/v1/campaigns/abc/results").status_code == 404


def test_admins_define_campaigns_on_the_page(campaigns_env, http, as_user, accounts, spot):
    page = http.get("/campaigns").text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    r = http.post("/campaigns", data={"csrf_token": token, "title": "119消防宣传月", "starts_on": day(0),
                                      "ends_on": day(29), "focus_categories": ["exit_blocked", "fire_lane_blocked"],
                                      "target_towns": [spot["town"]]})
    assert r.status_code == 200 and "活动已创建" in r.text and "119消防宣传月" in r.text
    bad = http.post("/campaigns", data={"csrf_token": token, "title": "x", "starts_on": day(0), "ends_on": day(1)})
    assert "至少选择一个" in bad.text
    staff = as_user("staff_a").get("/campaigns").text
    assert "119消防宣传月" in staff and 'id="campaign-form"' not in staff
    assert as_user("vol").get("/campaigns").status_code == 404


@pytest.mark.browser
def test_campaign_banner_in_chromium(campaigns_env, http, open_page, accounts):
    r = define(http, title="燃气安全周", focus_categories=["gas_open_flame"], guidance="检查燃气软管")
    assert r.status_code == 201
    page, log = open_page("/report")
    banner = page.locator("aside.campaign")
    expect(banner).to_have_count(1)
    expect(banner.locator(".campaign-title")).to_contain_text("燃气安全周")
    expect(banner.locator(".campaign-guidance")).to_have_text("检查燃气软管")
    expect(page.locator("#category option").nth(1)).to_have_attribute("value", "gas_open_flame")
    page.select_option("#category", "gas_open_flame")
    expect(page.locator("#category")).to_have_value("gas_open_flame")
    assert log.errors == [] and log.dialogs == []
