"""The admin's boundary import over real HTTP: preview (nothing written), confirm with the same file, batched
notifications, refusals in Chinese, and file text that stays inert on the folium page."""
import hashlib
import json
import re

from sqlalchemy import func, select, text

from service.areas import boundaries
from service.core.db import db
from service.core.models import Area, ReportEvent
from service.notify.models import AreaContact, Notification
from tests.support.reports_api import post


def state(app) -> tuple:
    with app.app_context():
        return (boundaries.current_generation("committee"),
                db.session.scalar(select(func.count()).select_from(Area)),
                db.session.scalar(select(func.count()).select_from(ReportEvent)),
                db.session.scalar(select(func.count()).select_from(Notification)))


def csrf(http) -> str:
    page = http.get("/report").text
    return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


def upload(http, url: str, data: bytes, **fields):
    return http.post(url, data={"level": "committee", "csrf_token": csrf(http), **fields}, allow_redirects=False,
                     files={"file": ("committees.geojson", data, "application/geo+json")})


def test_preview_then_confirm(app, http, spot, accounts, files):
    data, renamed = files
    report = post(http, lon=spot["lon"], lat=spot["lat"]).json()
    assert report["assignment"]["generation"] == state(app)[0]
    with app.app_context():
        for code in (spot["code"], accounts["sibling_code"]):
            db.session.add(AreaContact(area_id=boundaries.latest(code).id, channel="email",
                                       target=f"{code}@example.org"))
        db.session.commit()
    before = state(app)

    page = upload(http, "/admin/boundaries/preview", data)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    html = page.text
    assert "边界导入预览" in html and "这是预览，尚未写入任何数据。" in html and "拓扑检查通过" in html
    assert f"<td>{spot['code']}</td>" in html and "边界调整" in html and "更名" in html
    assert '<span id="moved">1</span>' in html and f"{spot['code']} {spot['name']}" in html
    assert "{{ 7*7 }}&lt;script&gt;" in html and "<script>alert(1)" not in html  # inert, escaped text
    assert "boundaries_preview.js" in html and '"changes":' in html and "folium-map" in html
    digest = hashlib.sha256(data).hexdigest()
    assert f'name="sha256" value="{digest}"' in html
    assert state(app) == before  # the preview wrote nothing

    changed = upload(http, "/admin/boundaries/import", data + b" ", sha256=digest)
    assert changed.status_code == 409 and "文件与预览时不同" in changed.text
    assert state(app) == before

    done = upload(http, "/admin/boundaries/import", data, sha256=digest)
    assert done.status_code == 303 and done.headers["Location"].endswith("/admin/boundaries")
    after = state(app)
    assert after[0] == before[0] + 1 and after[2] == before[2] + 1  # one generation, one reassign event
    moved = http.get(f"/api/v1/reports/{report['id']}").json()
    assert moved["committee"]["code"] == accounts["sibling_code"] and moved["assignment"]["generation"] == after[0]
    with app.app_context():
        sent = db.session.execute(text("SELECT target, payload->>'text' FROM notification ORDER BY target")).all()
        assert db.session.scalar(text("SELECT name FROM area WHERE code = :c AND generation = :g"),
                                 {"c": renamed, "g": after[0]}).startswith("{{ 7*7 }}")
    # One message per committee, not per report: the one that lost the report and the one that gained it.
    assert [t for t, _ in sent] == sorted(f"{c}@example.org" for c in (spot["code"], accounts["sibling_code"]))
    assert all("边界调整" in body for _, body in sent)
    listing = http.get("/admin/boundaries")
    assert listing.status_code == 200 and "已导入为第" in listing.text and "最近的导入" in listing.text


def test_refusals(app, http, as_user, files):
    data, _renamed = files
    before = state(app)
    assert as_user("sup_a").get("/admin/boundaries").status_code == 403
    refused = upload(as_user("sup_a"), "/admin/boundaries/preview", data)
    assert refused.status_code == 403 and "只有区级管理员可以导入边界" in refused.text
    empty = http.post("/admin/boundaries/preview", data={"level": "committee", "csrf_token": csrf(http)})
    assert empty.status_code == 422 and "请选择一个 GeoJSON 边界文件" in empty.text
    broken = upload(http, "/admin/boundaries/preview", b"{not json")
    assert broken.status_code == 422 and "无法读取边界文件" in broken.text
    partial = json.loads(data)
    town = partial["features"][0]["properties"]["code"][:9]
    partial["features"] = [f for f in partial["features"] if f["properties"]["code"].startswith(town)]
    undeclared = upload(http, "/admin/boundaries/preview", json.dumps(partial).encode())
    assert undeclared.status_code == 422 and "--towns-in-file" in undeclared.text
    declared = upload(http, "/admin/boundaries/preview", json.dumps(partial).encode(), towns=town)
    assert declared.status_code == 200 and f"替换的街镇：{town}" in declared.text
    assert state(app) == before
