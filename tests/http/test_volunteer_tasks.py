"""Hazards dispatched to a volunteer, over real HTTP: notification, the dispatch deadline, accept, decline,
rectify with an after-photo then verification, risk re-grades, and the /me and /me/tasks pages."""
import re
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import select

from service.core.db import db
from service.core.models import Report
from service.notify.models import Notification
from tests.support.live import PASSWORD
from tests.support.reports_api import post
from tests.support.volunteer_fixtures import clear_volunteers, make_profiles
from tests.support.volunteer_tasks import dispatch_new
from tests.support.workflow_api import move, rectify


@pytest.fixture
def roster(app, accounts, owner_engine):
    yield make_profiles(accounts, owner_engine)
    clear_volunteers(owner_engine)


@pytest.fixture
def dispatched(as_user, anon_http, spot, roster):
    """A report dispatched to the volunteer "vol"."""
    return dispatch_new(as_user, anon_http, spot, roster["vol"])


def chinese(r) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in r.json()["error"]["message"])


def test_dispatch_texts_the_volunteer_and_starts_a_fresh_deadline(as_user, anon_http, app, spot, roster, accounts,
                                                                   clock):
    rid = post(anon_http, lon=spot["lon"], lat=spot["lat"], risk_level="major").json()["id"]
    move(as_user("sup_a"), rid, "accepted")
    clock.shift(timedelta(hours=50))  # the town took 50 of the 72 hours to accept
    with app.app_context():
        db.session.get(Report, rid).escalation_level = 1
        db.session.commit()
    body = move(as_user("sup_a"), rid, "dispatched", assignee_id=roster["vol"]).json()
    # The rule: dispatch time + the risk's period, in full, for the assignee; escalation starts over.
    assert datetime.fromisoformat(body["due_at"]) == datetime.now(UTC) + timedelta(hours=72)
    assert body["escalation"] is None
    with app.app_context():
        texts = db.session.scalars(select(Notification).where(Notification.channel == "sms")).all()
        assert [n.target for n in texts] == [accounts["vol"]["phone"]]
        assert "接单" in texts[0].payload["text"] and rid in texts[0].payload["text"]


def test_the_text_waits_for_a_gateway_then_reaches_it(app, accounts, dispatched, robot, monkeypatch):  # noqa: F811
    """An HTTP SMS gateway (the robot receiver stands in): nothing is lost while none is configured."""
    from service.notify import outbox

    url, receiver = robot
    with app.app_context():
        monkeypatch.setitem(app.config, "SMS_GATEWAY_URL", "")
        outbox.deliver_due()
        text = db.session.scalar(select(Notification).where(Notification.channel == "sms"))
        assert text.status == "pending" and "SMS_GATEWAY_URL" in text.last_error
        monkeypatch.setitem(app.config, "SMS_GATEWAY_URL", url)
        outbox.deliver_due(datetime.now(UTC) + timedelta(days=1))
        db.session.refresh(text)
        assert text.status == "sent"
    sms = [m for m in receiver.received if "phone" in m]
    assert [m["phone"] for m in sms] == [accounts["vol"]["phone"]] and dispatched in sms[0]["text"]


def test_volunteer_accepts_rectifies_with_a_photo_and_the_town_verifies(as_user, dispatched):
    vol = as_user("vol")
    tasks = vol.get("/api/v1/volunteers/me/tasks").json()["tasks"]
    assert tasks == [{"kind": "hazard", "id": dispatched, "status": "dispatched"}]
    assert move(vol, dispatched, "rectifying", note="我来处理").json()["status"] == "rectifying"
    assert move(vol, dispatched, "rectifying").status_code == 409  # a second accept
    r = move(vol, dispatched, "rectified")
    assert r.status_code == 422 and "照片" in r.json()["error"]["message"]
    body = rectify(vol, dispatched, note="已清理飞线").json()
    assert body["status"] == "rectified" and len(body["after_photos"]) == 1
    assert body["events"][-1]["actor"] == "测试vol" and body["events"][-1]["photos"]
    assert move(vol, dispatched, "verified").status_code == 403  # the volunteer never verifies their own work
    assert move(as_user("staff_sibling"), dispatched, "verified").status_code == 404
    assert move(as_user("staff_a"), dispatched, "rectifying", note="复查不合格").json()["status"] == "rectifying"
    rectify(vol, dispatched, note="已全部清理")
    assert move(as_user("sup_a"), dispatched, "verified").json()["status"] == "verified"
    assert vol.get("/api/v1/volunteers/me/tasks").json()["tasks"][0]["status"] == "verified"


def test_committee_staff_check_their_volunteers_work_never_their_own(as_user, dispatched):
    staff = as_user("staff_a")
    move(as_user("vol"), dispatched, "rectifying")
    rectify(staff, dispatched, note="居委会自己整改的")  # staff did the work on a volunteer's task
    r = move(staff, dispatched, "verified")
    assert r.status_code == 403 and chinese(r)
    move(as_user("sup_a"), dispatched, "rectifying")
    rectify(as_user("vol"), dispatched)
    page = staff.get(f"/reports/{dispatched}").text
    assert 'id="act-verified"' in page  # the detail page offers what the table allows
    assert move(staff, dispatched, "verified").json()["status"] == "verified"


def test_decline_hands_the_report_back_to_the_dispatcher(as_user, app, dispatched, roster):
    vol = as_user("vol")
    r = move(vol, dispatched, "accepted", note="本周出差")
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    assert r.json()["events"][-1]["data"] == {"declined_by": roster["vol"]}
    assert vol.get(f"/api/v1/reports/{dispatched}").status_code == 404  # no longer theirs
    assert vol.get("/api/v1/volunteers/me/tasks").json()["tasks"] == []
    assert move(vol, dispatched, "rectifying").status_code == 404
    listed = as_user("sup_a").get("/api/v1/reports", params={"status": "accepted"}).json()["reports"]
    assert dispatched in {r["id"] for r in listed}  # back in the town's queue to dispatch
    assert move(as_user("sup_a"), dispatched, "dispatched", assignee_id=roster["vol2"]).status_code == 200
    assert as_user("vol2").get("/api/v1/volunteers/me/tasks").json()["tasks"][0]["id"] == dispatched


def test_decline_after_accept_is_409_and_others_may_not_act(as_user, anon_http, spot, dispatched, roster):
    assert move(as_user("vol2"), dispatched, "rectifying").status_code == 404  # not theirs: not even visible
    assert move(as_user("sup_a"), dispatched, "accepted").status_code == 403  # only the assignee declines
    r = move(as_user("vol"), dispatched, "rectifying")
    assert r.status_code == 200
    r = move(as_user("vol"), dispatched, "accepted")
    assert r.status_code == 409 and chinese(r)
    # The reporter of a report dispatched to someone else sees it, but may not move it.
    mine = post(as_user("vol"), lon=spot["lon"], lat=spot["lat"]).json()["id"]
    move(as_user("sup_a"), mine, "accepted")
    move(as_user("sup_a"), mine, "dispatched", assignee_id=roster["vol2"])
    r = move(as_user("vol"), mine, "rectifying")
    assert r.status_code == 403 and chinese(r)


def regrade(session, rid, level, note="现场核实"):
    return session.post(f"/api/v1/reports/{rid}/risk", json={"risk_level": level, "note": note})


def test_regrade_recomputes_the_deadline_from_the_period_start(as_user, spot, roster, clock):
    rid = post(as_user("vol"), lon=spot["lon"], lat=spot["lat"], risk_level="general").json()
    created = datetime.fromisoformat(rid["created_at"])
    body = regrade(as_user("sup_a"), rid["id"], "major").json()
    assert body["risk_level"] == "major"
    assert datetime.fromisoformat(body["due_at"]) == created + timedelta(hours=72)  # from intake
    assert body["events"][-1]["kind"] == "regrade" and body["events"][-1]["data"]["from"] == "general"
    move(as_user("sup_a"), rid["id"], "accepted")
    clock.shift(timedelta(hours=5))
    dispatched_at = datetime.now(UTC)
    move(as_user("sup_a"), rid["id"], "dispatched", assignee_id=roster["vol"])
    clock.shift(timedelta(hours=30))
    body = regrade(as_user("sup_a"), rid["id"], "suspected_severe").json()
    due = datetime.fromisoformat(body["due_at"])
    assert due == dispatched_at + timedelta(hours=24)  # from the dispatch, not from the re-grade
    assert body["overdue"], "raising the risk may make a report overdue at once"
    page = as_user("vol").get("/me/reports").text  # the reporter's timeline shows the re-grades
    assert "调整风险等级" in page and "较大 → 疑似重大" in page


@pytest.mark.parametrize(("who", "level", "status"), [
    ("staff_a", "major", 403), ("vol", "major", 404), ("sup_b", "major", 404), ("sup_a", "huge", 422),
    ("sup_a", ["major"], 422), ("sup_a", "general", 409),
])
def test_regrade_refusals(as_user, anon_http, spot, who, level, status):
    rid = post(anon_http, lon=spot["lon"], lat=spot["lat"], risk_level="general").json()["id"]
    r = regrade(as_user(who), rid, level)
    assert r.status_code == status and chinese(r)
    assert as_user("admin").get(f"/api/v1/reports/{rid}").json()["risk_level"] == "general"


def test_regrade_of_a_closed_report_is_409(as_user, anon_http, spot):
    rid = post(anon_http, lon=spot["lon"], lat=spot["lat"]).json()["id"]
    move(as_user("sup_a"), rid, "rejected")
    r = regrade(as_user("sup_a"), rid, "major")
    assert r.status_code == 409 and "办结" in r.json()["error"]["message"]
    assert as_user("sup_a").post(f"/api/v1/reports/{rid}/risk", data="x").status_code == 400


def test_tasks_are_paged_open_first_by_deadline(as_user, anon_http, spot, roster):
    slow = dispatch_new(as_user, anon_http, spot, roster["vol"], risk_level="general")
    urgent = dispatch_new(as_user, anon_http, spot, roster["vol"], risk_level="suspected_severe")
    done = dispatch_new(as_user, anon_http, spot, roster["vol"], risk_level="suspected_severe")
    vol = as_user("vol")
    move(vol, done, "rectifying")
    rectify(vol, done)
    move(as_user("sup_a"), done, "verified")
    seen, cursor = [], ""
    while True:
        r = vol.get("/api/v1/volunteers/me/tasks", params={"limit": 2, "cursor": cursor}).json()
        seen += [t["id"] for t in r["tasks"]]
        if not (cursor := r["next_cursor"]):
            break
    assert seen == [urgent, slow, done]
    assert as_user("vol2").get("/api/v1/volunteers/me/tasks").json()["tasks"] == []  # scope: one's own only
    assert vol.get("/api/v1/volunteers/me/tasks", params={"cursor": "bogus"}).status_code == 422
    assert vol.get("/api/v1/volunteers/me/tasks", params={"limit": "0"}).status_code == 422


def page_session(live_server, accounts, who) -> requests.Session:
    s = requests.Session()
    form = s.get(live_server + "/login").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
    r = s.post(live_server + "/login", data={"csrf_token": token, "phone": accounts[who]["phone"],
                                             "password": PASSWORD})
    assert r.status_code == 200
    return s


def csrf(html: str) -> str:
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)


def test_task_page_moves_and_refusals(live_server, accounts, dispatched, as_user):
    from tests.support.images import jpeg

    s = page_session(live_server, accounts, "vol")
    page = s.get(live_server + "/me/tasks").text
    assert f'id="task-{dispatched}"' in page and "接单" in page and "拒绝接单，退回派单人" in page
    url = f"{live_server}/me/tasks/hazard/{dispatched}"
    assert s.post(url, data={"to": "rectifying"}).status_code == 400  # no CSRF token
    r = s.post(url, data={"to": "rectifying", "csrf_token": csrf(page)})
    assert r.status_code == 200 and r.url.endswith("/me/tasks") and "操作成功" in r.text
    r = s.post(url, data={"to": "rectifying", "csrf_token": csrf(page)})
    assert r.status_code == 409 and "不能从" in r.text
    r = s.post(url, data={"to": "rectified", "csrf_token": csrf(page)})
    assert r.status_code == 422 and "照片" in r.text
    r = s.post(url, data={"to": "rectified", "csrf_token": csrf(page), "note": "修好了"},
               files=[("photo", ("after.jpg", jpeg(colour=(20, 150, 20)), "image/jpeg"))])
    assert r.status_code == 200 and "等待居村委或街镇核查" in r.text
    other = page_session(live_server, accounts, "vol2")
    assert other.post(url, data={"to": "verified", "csrf_token": csrf(other.get(live_server + "/me").text)}
                      ).status_code == 404


def test_me_shows_hours_stars_progress_reports_and_tasks(as_user, app, spot, dispatched, roster, monkeypatch):
    monkeypatch.setitem(app.config, "VOLUNTEER_STAR_HOURS", (10, 20))
    staff = as_user("staff_a")
    entry = staff.post(f"/api/v1/volunteers/{roster['vol']}/hours",
                       json={"hours": 12.5, "date": (datetime.now(UTC) - timedelta(days=1)).date().isoformat()})
    as_user("sup_a").post(f"/api/v1/volunteers/hours/{entry.json()['id']}/approve")
    mine = post(as_user("vol"), lon=spot["lon"], lat=spot["lat"]).json()["id"]
    page = as_user("vol").get("/me").text
    assert "12.50 小时" in page and "★☆" in page and 'value="0.25"' in page  # 2.5 of the 10 hours to ★★
    assert "距下一星级还差 7.50 小时" in page
    assert f'id="task-{dispatched}"' in page and f'id="report-{mine}"' in page
    assert "您还不是登记在册的志愿者" in as_user("staff_a").get("/me").text
    english = as_user("vol").get("/me", params={"lang": "en"}).text
    assert "Approved hours" in english and "7.50 hours to the next star" in english and "Accept task" in english
    assert as_user("vol").get("/me", params={"reports": "bogus"}).status_code == 404


def test_me_pages_cost_the_same_queries_whatever_the_number_of_tasks_and_reports(app, as_user, anon_http, spot,
                                                                                  roster):
    from tests.support.query_counts import cost

    def both() -> dict:
        return {path: cost(app, as_user, path, "vol") for path in ("/me", "/me/tasks", "/api/v1/volunteers/me/tasks")}

    for _ in range(2):
        dispatch_new(as_user, anon_http, spot, roster["vol"])
        post(as_user("vol"), lon=spot["lon"], lat=spot["lat"])
    few = both()
    for _ in range(10):
        dispatch_new(as_user, anon_http, spot, roster["vol"])
        post(as_user("vol"), lon=spot["lon"], lat=spot["lat"])
    assert both() == few  # a query per task or report would add ten
    page = as_user("vol").get("/me").text
    assert page.count('class="report-line"') == 10 and page.count('class="card task"') == 5
    following = re.search(r'href="(/me\?reports=[^"]+)" id="more-reports"', page).group(1)
    rest = as_user("vol").get(following.replace("&amp;", "&")).text
    assert rest.count('class="report-line"') == 2 and 'id="more-reports"' not in rest


def test_regrade_from_the_detail_page(live_server, accounts, anon_http, spot):
    rid = post(anon_http, lon=spot["lon"], lat=spot["lat"], risk_level="general").json()["id"]
    staff = page_session(live_server, accounts, "staff_a")
    page = staff.get(f"{live_server}/reports/{rid}").text
    assert 'id="regrade"' not in page  # only supervisors re-grade
    r = staff.post(f"{live_server}/reports/{rid}/risk", data={"risk_level": "major", "csrf_token": csrf(page)})
    assert r.status_code == 403 and "调整风险等级" in r.text
    sup = page_session(live_server, accounts, "sup_a")
    page = sup.get(f"{live_server}/reports/{rid}").text
    assert 'id="regrade"' in page
    r = sup.post(f"{live_server}/reports/{rid}/risk", data={"risk_level": "nope", "csrf_token": csrf(page)})
    assert r.status_code == 422 and "风险等级无效" in r.text
    r = sup.post(f"{live_server}/reports/{rid}/risk", data={"risk_level": "major", "note": "涉及多户",
                                                            "csrf_token": csrf(page)})
    assert r.status_code == 200 and "操作成功" in r.text and "一般 → 较大" in r.text and "涉及多户" in r.text


def escalate(app) -> str:
    result = app.test_cli_runner().invoke(args=["escalate"])
    assert result.exit_code == 0, result.output
    return result.output


def test_the_committee_and_its_volunteer_cannot_make_an_overdue_report_fresh(as_user, app, dispatched, clock):
    """rectified -> sent back by the committee's own staff, again and again: the deadline and the escalation stay,
    and the report climbs to the district on time; only the town's own send-back starts a new period."""
    vol, staff, sup = as_user("vol"), as_user("staff_a"), as_user("sup_a")
    due = move(vol, dispatched, "rectifying").json()["due_at"]
    clock.shift(datetime.fromisoformat(due) - datetime.now(UTC) + timedelta(hours=1))
    assert escalate(app).startswith("escalated to town: 1")
    for _ in range(3):  # any photo will do for the volunteer, and the committee sends it back at once
        assert rectify(vol, dispatched).json()["status"] == "rectified"
        body = move(staff, dispatched, "rectifying", note="不合格").json()
        assert body["due_at"] == due and body["overdue"] and body["escalation"] == "town"
        assert body["events"][-1]["data"]["new_period"] is False
    assert escalate(app) == "escalated to town: 0, to district: 0\n"  # the town heard of it once
    clock.shift(timedelta(hours=app.config["ESCALATE_TO_DISTRICT_AFTER_H"]))
    assert escalate(app) == "escalated to town: 0, to district: 1\n"
    rectify(vol, dispatched)
    body = move(sup, dispatched, "rectifying", note="街镇复查不合格").json()  # the town's own check
    period = timedelta(hours=app.config["DEADLINE_HOURS"][body["risk_level"]])
    assert datetime.fromisoformat(body["due_at"]) == datetime.now(UTC) + period
    assert body["escalation"] is None and body["events"][-1]["data"]["new_period"] is True
