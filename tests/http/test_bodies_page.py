"""The district admin's page of outside bodies (issue 24, /bodies/): the registry listed a page at a time with each
body's open transfers, added from a form checked as `bodies add` checks it, disabled by a button; no one else may
open it, and the Open311 key is in no answer."""
import io
import json
import logging
import re

import pytest
from shapely.geometry import box
from sqlalchemy import func, select

from service.bodies import registry
from service.bodies.models import Body
from service.core.db import db
from tests.support.accounts import csrf, signed_in
from tests.support.query_counts import cost
from tests.support.reports_api import post
from tests.support.workflow_api import move

KEY = "page-open311-key-2718"
HOOK_TOKEN = "hook-token-31415"  # a webhook URL's own secret, in its query: only the host is shown


def form(client, spot, **fields) -> dict:
    return {"csrf_token": csrf(client), "name": "锦江物业", "kind": "property", "channel": "email",
            "endpoint": "wy@example.com", "areas": spot["code"], "categories": ["combustibles", "exit_blocked"],
            "sign_hours": "8", "finish_hours": "72"} | fields


def stored(app) -> list[tuple]:
    with app.app_context():
        return db.session.execute(select(Body.name, Body.active, Body.credential).order_by(Body.id)).tuples().all()


def test_a_district_admin_sees_adds_and_disables_bodies(app, accounts, spot, anon_http, as_user, caplog):
    caplog.set_level(logging.DEBUG)
    with app.app_context():
        gas = registry.add(name="闵行燃气", kind="utility", channel="email", endpoint="gas@example.com",
                           categories=["gas_open_flame"], area_codes=[spot["town"]], sign_hours=4,
                           finish_hours=48).id
    rid = post(anon_http, lon=spot["lon"], lat=spot["lat"], category="gas_open_flame").json()["id"]
    assert move(as_user("sup_a"), rid, "transferred", note="燃气归燃气公司", body_id=gas).status_code == 200

    admin = signed_in(app, "admin", accounts)
    page = admin.get("/bodies/")
    assert page.status_code == 200 and "<h1>外部单位</h1>" in page.text
    assert 'href="/bodies/">外部单位</a>' in page.text  # in the admin's navigation
    row = re.search(rf'<tr class="body-row" data-id="{gas}">(.*?)</tr>', page.text, re.S)[1]
    assert "闵行燃气" in row and "公用事业单位" in row and "燃气/明火使用不当" in row and "电子邮件" in row
    assert f"<small>{spot['town']}</small>" in row and "签收 4 小时" in row and "办结 48 小时" in row
    assert '<td data-label="未办结转派" class="open-transfers">1</td>' in row
    assert "example.com" in row and "gas@example.com" not in row  # the endpoint's host only

    added = admin.post("/bodies/", data=form(admin, spot))
    assert added.status_code == 303 and added.headers["Location"].endswith("/bodies/")
    hook = admin.post("/bodies/", data=form(admin, spot, name="区城运中心", kind="department", channel="webhook",
                                             endpoint=f"https://8.8.8.8:8443/robot/send?key={HOOK_TOKEN}"))
    assert hook.status_code == 303
    o311 = admin.post("/bodies/", data=form(admin, spot, name="12345 热线", kind="hotline", channel="open311",
                                             endpoint="https://8.8.8.8/open311/v2/", jurisdiction_id="sh12345",
                                             credential=KEY, areas=spot["town"], service_codes="combustibles=C-9",
                                             sync_via="requests"))
    assert o311.status_code == 303
    listing = admin.get("/bodies/").text
    assert "已登记外部单位“12345 热线”。" in listing
    assert "锦江物业" in listing and "物业服务企业" in listing and "堆放可燃物" in listing and spot["name"] in listing
    assert "8.8.8.8:8443" in listing and HOOK_TOKEN not in listing and "/robot/send" not in listing
    assert "Open311 接口" in listing and "sh12345" in listing and "已保存 api_key" in listing
    assert "<span>公共区域堆放可燃物=C-9</span>" in listing and "回传：读取 requests.json" in listing
    assert KEY not in listing
    assert stored(app) == [("闵行燃气", True, None), ("锦江物业", True, None), ("区城运中心", True, None),
                           ("12345 热线", True, KEY)]  # kept for delivery, shown by nothing

    with app.app_context():
        o311_id = db.session.scalar(select(Body.id).where(Body.name == "12345 热线"))
    gone = admin.post(f"/bodies/{o311_id}/disable", data={"csrf_token": csrf(admin)})
    assert gone.status_code == 303
    after = admin.get("/bodies/").text
    assert "已停用外部单位“12345 热线”。" in after
    row = re.search(rf'<tr class="body-row disabled" data-id="{o311_id}">(.*?)</tr>', after, re.S)[1]
    assert "已停用" in row and "<button" not in row
    assert stored(app)[-1] == ("12345 热线", False, KEY)
    assert admin.post(f"/bodies/{o311_id}/disable", data={"csrf_token": csrf(admin)}).status_code == 303  # idempotent
    assert admin.get("/bodies/?lang=en").text.count("Disabled") >= 1
    assert KEY not in added.text + hook.text + o311.text + gone.text + after + caplog.text


@pytest.mark.parametrize("who", ["sup_a", "staff_a", "vol"])
def test_nobody_but_a_district_admin_may_open_or_post(app, accounts, spot, who):
    with app.app_context():
        body_id = registry.add(name="闵行燃气", kind="utility", channel="email", endpoint="gas@example.com",
                               categories=["gas_open_flame"], area_codes=[spot["town"]]).id
    client = signed_in(app, who, accounts)
    page = client.get("/bodies/")
    assert page.status_code == 403 and "只有区级管理员可以管理外部单位。" in page.text
    assert "闵行燃气" not in page.text
    assert 'href="/bodies/"' not in client.get("/report").text  # not in their navigation
    assert client.post("/bodies/", data=form(client, spot, credential=KEY)).status_code == 403
    assert client.post(f"/bodies/{body_id}/disable", data={"csrf_token": csrf(client)}).status_code == 403
    assert stored(app) == [("闵行燃气", True, None)]


def test_someone_signed_out_is_sent_to_sign_in(app, client, spot):
    for r in (client.get("/bodies/"), client.post("/bodies/", data=form(client, spot)),
              client.post("/bodies/1/disable", data={"csrf_token": csrf(client)})):
        assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert client.post("/bodies/", data={"name": "x"}).status_code == 400  # no token: refused before anything
    assert stored(app) == []


@pytest.mark.parametrize(("fields", "status", "message"), [
    ({"channel": "open311", "endpoint": "http://127.0.0.1", "jurisdiction_id": "x"}, 422, "接口地址不可用"),
    ({"channel": "webhook", "endpoint": "https://10.1.2.3/hook"}, 422, "接口地址不可用"),
    ({"channel": "open311", "endpoint": "https://8.8.8.8/open311/v2"}, 422,
     "须填写对方签发的 api_key 和 jurisdiction_id"),
    ({"areas": "999999999"}, 422, "找不到街镇或居村委代码 999999999"),
    ({"areas": ""}, 422, "请填写该单位负责的街镇或居村委代码"),
    ({"categories": ["not_a_category"]}, 422, "请从以下类别中选择受理类别"),
    ({"sign_hours": "48", "finish_hours": "24"}, 422, "办结时限不短于签收时限"),
    ({"sign_hours": "八"}, 422, "签收时限与办结时限应为 1 到"),
    ({"name": "  "}, 422, "请填写单位名称。"),
    ({"kind": "bank"}, 422, "单位类型应为"),
    ({"service_codes": "combustibles C-9"}, 422, "对方类别代码应写成"),
    ({"sync_via": "ftp"}, 422, "回传方式应为"),
])
def test_a_bad_field_is_refused_in_chinese_on_the_page_and_nothing_is_stored(app, accounts, spot, monkeypatch,
                                                                            fields, status, message):
    monkeypatch.setitem(app.config, "OUTBOUND_ALLOW_HOSTS", frozenset())  # the tests' default lets 127.0.0.1 in
    admin = signed_in(app, "admin", accounts)
    r = admin.post("/bodies/", data=form(admin, spot, credential=KEY) | fields)
    assert r.status_code == status and r.headers["Content-Type"].startswith("text/html")
    assert message in re.search(r'<p class="flash error" role="alert" id="body-error">(.*?)</p>', r.text, re.S)[1]
    assert KEY not in r.text  # the key is never echoed back, not even into the refused form
    assert 'name="credential" autocomplete="new-password">' in r.text
    assert 'id="body-form"' in r.text and "<h1>外部单位</h1>" in r.text  # the page, with the form to fix
    assert stored(app) == []


def test_an_outline_is_uploaded_instead_of_codes_and_a_bad_one_is_refused(app, accounts, spot):
    admin = signed_in(app, "admin", accounts)
    d = 0.0005
    outline = json.dumps(box(spot["lon"] - d, spot["lat"] - d, spot["lon"] + d, spot["lat"] + d).__geo_interface__)
    bad = admin.post("/bodies/", data=form(admin, spot, areas="", outline=(io.BytesIO(b"{not json"), "x.geojson")))
    assert bad.status_code == 422 and "范围轮廓应为有效的 GeoJSON 面" in bad.text
    assert stored(app) == []
    good = admin.post("/bodies/", data=form(admin, spot, areas="",
                                            outline=(io.BytesIO(outline.encode()), "complex.geojson")))
    assert good.status_code == 303
    assert "自有范围轮廓" in admin.get("/bodies/").text
    assert stored(app) == [("锦江物业", True, None)]


def test_a_taken_name_is_a_conflict_and_a_form_without_its_token_is_refused(app, accounts, spot):
    admin = signed_in(app, "admin", accounts)
    assert admin.post("/bodies/", data=form(admin, spot)).status_code == 303
    again = admin.post("/bodies/", data=form(admin, spot, name=" 锦江物业 "))
    assert again.status_code == 409 and "已有名为“锦江物业”的单位。" in again.text
    stale = admin.post("/bodies/", data=form(admin, spot, name="新物业", csrf_token="stale"))
    assert stale.status_code == 400 and "页面已过期" in stale.text
    assert admin.post("/bodies/1/disable", data={}).status_code == 400
    assert stored(app) == [("锦江物业", True, None)]


def test_the_list_is_paged_in_sql_and_costs_the_same_queries_for_any_number_of_bodies(app, accounts, spot,
                                                                                      as_user):
    def add(n: int, start: int) -> None:
        with app.app_context():
            for i in range(start, start + n):
                registry.add(name=f"物业{i:03d}", kind="property", channel="email", endpoint=f"wy{i}@example.com",
                             categories=["combustibles"], area_codes=[spot["code"], spot["town"]])

    add(3, 0)
    few = cost(app, as_user, "/bodies/", "admin")
    add(52, 3)
    many = cost(app, as_user, "/bodies/", "admin")
    assert many == few  # a query per body would add ~50
    admin = signed_in(app, "admin", accounts)
    first = admin.get("/bodies/").text
    assert first.count('class="body-row"') == 50 and "物业049" in first and "物业050" not in first
    cursor = re.search(r'href="/bodies/\?cursor=([^"]+)">下一页', first)[1]
    second = admin.get(f"/bodies/?cursor={cursor}").text
    assert second.count('class="body-row"') == 5 and "物业050" in second and "下一页" not in second
    bad = admin.get("/bodies/?cursor=bm90LWpzb24")
    assert bad.status_code == 422 and "翻页参数无效" in bad.text
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Body)) == 55
