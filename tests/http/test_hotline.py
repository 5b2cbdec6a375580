"""The 12345 hotline both ways (issue 24): orders in by the hotline's own Open311 key or its batch file, once per
order number; signed for or returned within the window; answered through the outbox when closed, exactly once;
the caller's call-back (回访), whose 不满意 reopens the report once for a re-check and then goes to the district."""
from datetime import timedelta
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs

import pytest
from sqlalchemy import select, update

from service.bodies import registry
from service.core import clock
from service.core.db import db
from service.core.models import Report, ReportEvent
from service.hotline.models import Callback, HotlineOrder
from service.notify import outbox
from service.notify.models import Notification
from service.receipts import receipts
from tests.support.images import jpeg
from tests.support.local_http import reply, running
from tests.support.workflow_api import move, rectify

CALLER = "13912345678"


class Hotline(BaseHTTPRequestHandler):
    """The hotline's Open311 side: takes our answers at servicerequestupdates.json (FixMyStreet's extension)."""

    posts: list = []
    status = 200

    def do_POST(self):  # noqa: N802 - http.server's naming
        form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
        Hotline.posts.append((self.path, {k: v[0] for k, v in form.items()}, self.headers.get("Idempotency-Key")))
        reply(self, Hotline.status, b"[]")

    def log_message(self, *args):
        pass


@pytest.fixture
def hotline(app, spot, monkeypatch):
    """The city's 12345 hotline, answering on 127.0.0.1, with its own Open311 key here."""
    Hotline.posts, Hotline.status = [], 200
    monkeypatch.setitem(app.config, "OUTBOUND_ALLOW_HOSTS", frozenset({"127.0.0.1"}))
    with running(Hotline) as base, app.app_context():
        b = registry.add(name="12345 市民热线", kind="hotline", channel="open311", endpoint=f"{base}/open311/v2",
                         categories=["ebike_charging", "fire_lane_blocked"], area_codes=[spot["town"]],
                         jurisdiction_id="12345.sh", credential="our-key-at-the-hotline", sign_hours=2,
                         finish_hours=120)
        out = app.test_cli_runner().invoke(args=["hotline", "key", "--hotline", b.name])
        assert out.exit_code == 0, out.output
        key = out.output.split("api_key: ")[1].strip()
        yield {"id": b.id, "name": b.name, "key": key}


def post_order(anon_http, spot, key, order_no="SH2612070001", **extra):
    data = {"api_key": key, "service_code": "ebike_charging", "lat": spot["lat"], "long": spot["lon"],
            "description": "来电反映：3 号楼楼道内有电动车充电", "phone": CALLER,
            "address_string": "莘庄镇某小区 3 号楼", "attribute[order_no]": order_no} | extra
    return anon_http.post("/open311/v2/requests.json", data=data)


def said(r) -> str:
    return r.json()[0]["description"]


def order(app, report_id) -> HotlineOrder:
    with app.app_context():
        o = db.session.get(HotlineOrder, report_id)
        db.session.expunge_all()
        return o


def deliver(app):
    with app.app_context():
        return outbox.deliver_due()


def track(app, report_id) -> str:
    with app.app_context():
        return f"/track/{receipts.token_for(report_id)}"


def test_the_hotline_posts_its_orders_with_its_key_once_each(app, anon_http, hotline, spot):
    r = post_order(anon_http, spot, hotline["key"])
    assert r.status_code == 201, r.text
    rid = r.json()[0]["service_request_id"]
    again = post_order(anon_http, spot, hotline["key"])
    assert again.status_code == 200 and again.json()[0]["service_request_id"] == rid  # one report per order
    o = order(app, rid)
    assert o.order_no == "SH2612070001" and o.body_id == hotline["id"]
    assert (o.sign_due_at - o.received_at) == timedelta(hours=2)
    assert (o.reply_due_at - o.received_at) == timedelta(hours=120)
    assert (o.return_due_at - o.received_at) == timedelta(hours=48)
    with app.app_context():
        report = db.session.get(Report, rid)
        assert report.contact == CALLER and report.status == "submitted" and report.location_source == "map"
        assert report.photos == []  # a call has no photo

    # Its own deadlines when it states them; a deadline already past is refused in words.
    later = (clock.now() + timedelta(hours=30)).isoformat()
    r = post_order(anon_http, spot, hotline["key"], order_no="SH2612070002", **{"attribute[reply_by]": later})
    assert r.status_code == 201
    assert order(app, r.json()[0]["service_request_id"]).reply_due_at.isoformat()[:16] == later[:16]
    r = post_order(anon_http, spot, hotline["key"], order_no="SH2612070003",
                   **{"attribute[sign_by]": "2020-01-01T08:00:00+08:00"})
    assert r.status_code == 422 and "签收时限已过（2020-01-01 08:00）" in said(r)
    r = post_order(anon_http, spot, hotline["key"], order_no="")
    assert r.status_code == 422 and "工单编号" in said(r)


def test_a_hotline_key_reads_its_own_orders_in_full_and_nothing_else(app, anon_http, hotline, spot, http):
    mine = post_order(anon_http, spot, hotline["key"]).json()[0]["service_request_id"]
    other = http.post("/open311/v2/requests.json", data={
        "service_code": "ebike_charging", "lat": spot["lat"], "long": spot["lon"], "description": "别人的上报"},
        files=[("media", ("a.jpg", jpeg(), "image/jpeg"))])
    assert other.status_code == 201, other.text
    other = other.json()[0]["service_request_id"]
    found = anon_http.get("/open311/v2/requests.json", params={"api_key": hotline["key"]}).json()
    by_id = {r["service_request_id"]: r for r in found}
    assert by_id[mine]["description"].startswith("来电反映")  # in full
    assert by_id[other]["description"] == "" and by_id[other]["address"] == ""  # only the public form
    one = anon_http.get(f"/open311/v2/requests/{other}.json", params={"api_key": hotline["key"]}).json()[0]
    assert one["description"] == ""
    # Its key opens nothing but /open311/.
    assert anon_http.get("/api/v1/reports", headers={"Authorization": f"Bearer {hotline['key']}"}).status_code == 401
    # A disabled hotline's key creates nothing.
    with app.app_context():
        registry.disable(hotline["id"])
    r = post_order(anon_http, spot, hotline["key"], order_no="SH2612079999")
    assert r.status_code == 403 and "热线" in said(r)


def test_the_hotline_cycle_end_to_end(app, anon_http, as_user, hotline, spot):
    sup, staff = as_user("sup_a"), as_user("staff_a")
    rid = post_order(anon_http, spot, hotline["key"]).json()[0]["service_request_id"]
    detail = sup.get(f"/reports/{rid}").text
    assert "12345 工单 SH2612070001" in detail and "退回热线" in detail
    with app.app_context():
        body = registry.add(name="某物业", kind="property", channel="email", endpoint="pm@example.com",
                            categories=["ebike_charging"], area_codes=[spot["code"]], sign_hours=4, finish_hours=48)
        body_id = body.id
    row = sup.get("/queues?show=to_accept").text.split(f"/reports/{rid}")[1].split("</tr>")[0]
    assert "12345 工单" in row and "建议转派：某物业" in row  # the queue marks the order and suggests the body

    # Sign-for: the town accepts. A body takes it over and the town takes it back (转派, 收回).
    assert move(sup, rid, "accepted", note="签收").status_code == 200
    o = order(app, rid)
    assert o.sign_outcome == "accepted" and o.signed_at is not None and o.signed_at <= o.sign_due_at
    assert move(sup, rid, "transferred", note="小区内由物业处置", body_id=body_id).status_code == 200
    assert move(sup, rid, "accepted", note="物业无法处置，收回").status_code == 200
    assert move(sup, rid, "dispatched", note="派居委").status_code == 200
    assert move(staff, rid, "rectifying").status_code == 200
    assert rectify(staff, rid).status_code == 200
    assert move(sup, rid, "verified", note="现场已清理").status_code == 200
    assert order(app, rid).replies == 1 and order(app, rid).replied_at is not None

    # The answer goes back once, with the after-photo's signed link; the caller is texted the call-back link.
    Hotline.posts.clear()
    deliver(app)
    answers = [p for p in Hotline.posts if p[0].endswith("/servicerequestupdates.json")]
    (path, form, key), = answers
    assert form["service_request_id"] == "SH2612070001" and form["status"] == "fixed"
    assert form["api_key"] == "our-key-at-the-hotline" and form["jurisdiction_id"] == "12345.sh"
    assert "已办结" in form["description"] and "/photos/p/" in form["media_url"] and "sig=" in form["media_url"]
    photo = anon_http.get("/" + form["media_url"].split("/", 3)[3])
    assert photo.status_code == 200 and photo.headers["Content-Type"] == "image/jpeg"  # the link works unsigned-in
    assert key.startswith("hazard-snap-reply-")
    deliver(app)
    assert len([p for p in Hotline.posts if p[0].endswith("/servicerequestupdates.json")]) == 1  # exactly once
    with app.app_context():
        sms = db.session.scalars(select(Notification).where(Notification.channel == "sms",
                                                            Notification.target == CALLER)).all()
        assert len(sms) == 1 and "/track/" in sms[0].payload["text"] and "SH2612070001" in sms[0].payload["text"]

    # Call-back: 不满意 needs a reason; with one, the report is reopened for the town to check again (复核).
    page = anon_http.get(track(app, rid))
    assert "您对处理结果满意吗" in page.text and "SH2612070001" in page.text
    form_page = anon_http.get(track(app, rid))
    r = anon_http.post(track(app, rid) + "/callback", data={"answer": "unsatisfied", "reason": "",
                                                            **csrf(form_page.text)})
    assert r.status_code == 422 and "不满意的原因" in r.text
    r = anon_http.post(track(app, rid) + "/callback",
                       data={"answer": "unsatisfied", "reason": "电动车又推回楼道了", **csrf(form_page.text)})
    assert r.status_code == 200 and "重新核查" in r.text
    with app.app_context():
        report = db.session.get(Report, rid)
        assert report.status == "rectified"
        last = db.session.scalars(select(ReportEvent).where(ReportEvent.report_id == rid)
                                  .order_by(ReportEvent.id.desc())).first()
        assert (last.from_status, last.to_status, last.actor_label, last.note) == (
            "verified", "rectified", "来电人回访", "电动车又推回楼道了")
    # The town checks again and verifies: a second answer, and a second round of call-back.
    assert move(sup, rid, "verified", note="复核：已清理并加装充电桩").status_code == 200
    deliver(app)
    assert len([p for p in Hotline.posts if p[0].endswith("/servicerequestupdates.json")]) == 2
    page = anon_http.get(track(app, rid)).text
    assert "街镇已重新核查" in page
    r = anon_http.post(track(app, rid) + "/callback", data={"answer": "unsatisfied", "reason": "还是不满意",
                                                            **csrf(page)})
    assert r.status_code == 200
    with app.app_context():
        assert db.session.get(Report, rid).status == "verified"  # not reopened twice
        escalated = db.session.scalars(select(ReportEvent).where(ReportEvent.report_id == rid,
                                                                 ReportEvent.kind == "escalate")).all()
        assert [e.data["level"] for e in escalated] == ["district"] and escalated[0].data["missed"] == "callback"
        assert [c.answer for c in db.session.scalars(select(Callback).order_by(Callback.round))] == [
            "unsatisfied", "unsatisfied"]
    page = anon_http.get(track(app, rid)).text
    assert 'id="callback-form"' not in page  # no third round
    r = anon_http.post(track(app, rid) + "/callback", data={"answer": "satisfied", **csrf(page)})
    assert r.status_code == 409 and "已经评价过" in r.text


def csrf(page: str) -> dict:
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    return {"csrf_token": token}


def test_a_misrouted_order_is_returned_with_a_reason_within_its_window(app, anon_http, as_user, hotline, spot):
    sup = as_user("sup_a")
    rid = post_order(anon_http, spot, hotline["key"]).json()[0]["service_request_id"]
    r = move(sup, rid, "rejected")
    assert r.status_code == 422 and "退回理由" in r.json()["error"]["message"]
    assert order(app, rid).signed_at is None
    assert move(sup, rid, "rejected", note="地址在徐汇区，非本区").status_code == 200
    o = order(app, rid)
    assert o.sign_outcome == "returned" and o.replies == 1
    deliver(app)
    (path, form, _key), = Hotline.posts
    assert form["status"] == "not_councils_responsibility" and "退回" in form["description"]
    assert "徐汇区" in form["description"] and not form.get("media_url")

    # After the window a rejection is the town's answer (不予受理), and a late sign-for.
    rid = post_order(anon_http, spot, hotline["key"], order_no="SH2612070009").json()[0]["service_request_id"]
    with app.app_context():
        db.session.execute(update(HotlineOrder).where(HotlineOrder.report_id == rid).values(
            return_due_at=clock.now() - timedelta(minutes=1), sign_due_at=clock.now() - timedelta(minutes=1)))
        db.session.commit()
    assert "退回热线" not in sup.get(f"/reports/{rid}").text
    assert move(sup, rid, "rejected").status_code == 200  # no reason asked: it is no return
    o = order(app, rid)
    assert o.sign_outcome == "accepted" and o.signed_at > o.sign_due_at
    deliver(app)
    assert Hotline.posts[-1][1]["status"] == "no_further_action"


def test_an_order_nobody_signs_for_escalates_to_the_town_once(app, anon_http, hotline, spot):
    rid = post_order(anon_http, spot, hotline["key"]).json()[0]["service_request_id"]
    cli = app.test_cli_runner()
    assert "escalated 0 order(s)" in cli.invoke(args=["hotline", "escalate"]).output
    with app.app_context():
        db.session.execute(update(HotlineOrder).values(sign_due_at=clock.now() - timedelta(minutes=5)))
        db.session.commit()
    assert "escalated 1 order(s)" in cli.invoke(args=["hotline", "escalate"]).output
    assert "escalated 0 order(s)" in cli.invoke(args=["hotline", "escalate"]).output
    with app.app_context():
        (event,) = db.session.scalars(select(ReportEvent).where(ReportEvent.report_id == rid,
                                                               ReportEvent.kind == "escalate")).all()
        assert event.data["missed"] == "hotline_sign" and event.data["level"] == "town"


def write_csv(path, rows):
    header = "工单编号,类别,风险等级,描述,地址,经度,纬度,来电人电话,签收时限,答复时限\n"
    path.write_text(header + "".join(",".join(r) + "\n" for r in rows), encoding="utf-8")
    return str(path)


def test_the_batch_file_is_taken_once_per_order_and_bad_rows_are_named(app, hotline, spot, tmp_path):
    lon, lat = f"{spot['lon']:.6f}", f"{spot['lat']:.6f}"
    good = [["A-1", "电动自行车楼道停放/室内充电/飞线充电", "", "楼道充电", "3 号楼", lon, lat, CALLER, "", ""],
            ["A-2", "fire_lane_blocked", "较大", "消防通道被占", "东门", lon, lat, "", "", "2099-01-01 18:00"]]
    bad = good + [["A-3", "不存在的类别", "", "", "", lon, lat, "", "", ""],
                  ["A-1", "电动自行车楼道停放/室内充电/飞线充电", "", "", "", lon, lat, "", "", ""],
                  ["A-5", "电动自行车楼道停放/室内充电/飞线充电", "", "", "", "121.0", "45.0", "", "", ""],
                  ["A-6", "电动自行车楼道停放/室内充电/飞线充电", "", "", "", lon, lat, "", "明天", ""]]
    cli = app.test_cli_runner()
    out = cli.invoke(args=["hotline", "import", write_csv(tmp_path / "bad.csv", bad), "--hotline", hotline["name"],
                           "--crs", "wgs84"])
    assert out.exit_code == 1
    for line, column in ((4, "类别"), (5, "工单编号"), (6, "经度"), (7, "签收时限")):
        assert f"第 {line} 行，“{column}”列" in out.output, out.output
    with app.app_context():
        assert db.session.scalar(select(HotlineOrder.report_id)) is None  # nothing taken

    path = write_csv(tmp_path / "good.csv", good)
    out = cli.invoke(args=["hotline", "import", path, "--hotline", hotline["name"], "--crs", "wgs84"])
    assert out.exit_code == 0 and "新工单 2 条，已有工单 0 条" in out.output, out.output
    out = cli.invoke(args=["hotline", "import", path, "--hotline", hotline["name"], "--crs", "wgs84"])
    assert "新工单 0 条，已有工单 2 条" in out.output
    with app.app_context():
        orders = {o.order_no: o for o in db.session.scalars(select(HotlineOrder))}
        assert set(orders) == {"A-1", "A-2"}
        a2 = db.session.get(Report, orders["A-2"].report_id)
        assert a2.category == "fire_lane_blocked" and a2.risk_level == "major"
        assert orders["A-2"].reply_due_at.year == 2099
        # The hotline's key reads what its file brought too.
        assert a2.reporter_id is not None

    from openpyxl import Workbook
    book = Workbook()
    book.active.append(["工单编号", "类别", "经度", "纬度"])
    book.active.append(["X-1", "电动自行车楼道停放/室内充电/飞线充电", float(lon), float(lat)])
    book.save(tmp_path / "orders.xlsx")
    out = cli.invoke(args=["hotline", "import", str(tmp_path / "orders.xlsx"), "--hotline", hotline["name"],
                           "--crs", "wgs84"])
    assert out.exit_code == 0 and "新工单 1 条" in out.output, out.output
    out = cli.invoke(args=["hotline", "import", path, "--hotline", "没有这个热线"])
    assert out.exit_code != 0 and "找不到在用的热线单位" in out.output
