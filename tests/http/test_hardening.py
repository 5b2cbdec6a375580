"""Edges found in review: redirects, scoped duplicate hints, malformed JSON bodies, orphan committees."""
import json
import re

import pytest
import requests

from service.notify.models import Notification
from tests.support.live import PASSWORD
from tests.support.reports_api import post
from tests.support.workflow_api import move


@pytest.mark.parametrize("target", ["/\t/evil.example", "//evil.example", "https://evil.example/", "/\\evil", "/ok\n"])
def test_login_never_redirects_off_site(live_server, accounts, target):
    s = requests.Session()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', s.get(live_server + "/login").text).group(1)
    r = s.post(live_server + "/login", params={"next": target}, allow_redirects=False,
               data={"csrf_token": token, "phone": accounts["vol"]["phone"], "password": PASSWORD})
    assert r.status_code == 302 and r.headers["Location"] == "/me/reports"


def test_login_returns_to_a_local_page(live_server, accounts):
    s = requests.Session()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', s.get(live_server + "/login").text).group(1)
    r = s.post(live_server + "/login", params={"next": "/map"}, allow_redirects=False,
               data={"csrf_token": token, "phone": accounts["sup_a"]["phone"], "password": PASSWORD})
    assert r.headers["Location"] == "/map"


def test_duplicate_hints_stay_inside_the_callers_scope(anon_http, as_user, spot):
    first = post(as_user("sup_a"), lon=spot["lon"], lat=spot["lat"]).json()
    resident = post(anon_http, photo=None, lon=spot["lon"], lat=spot["lat"]).json()
    assert resident["possible_duplicates"] == []  # residents learn nothing about other reports
    seen_by_admin = as_user("admin").get(f"/api/v1/reports/{resident['id']}").json()["possible_duplicates"]
    assert [d["id"] for d in seen_by_admin] == [first["id"]]
    vol = post(as_user("vol"), lon=spot["lon"], lat=spot["lat"]).json()
    assert vol["possible_duplicates"] == [] and vol["duplicate_photo_of"] is None  # nothing of theirs is near


@pytest.mark.parametrize("body", [[1], "text", {"to": 5}, {"to": "duplicate", "duplicate_of": 5},
                                  {"to": "dispatched", "assignee_id": [1]}, {"to": "accepted", "note": ["x"]}])
def test_malformed_transition_bodies_are_400(as_user, anon_http, spot, body):
    rid = post(anon_http, lon=spot["lon"], lat=spot["lat"]).json()["id"]
    r = as_user("sup_a").post(f"/api/v1/reports/{rid}/transitions", data=json.dumps(body),
                              headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_body"


def test_nul_in_json_is_422_and_reassign_rules(as_user, anon_http, spot, accounts):
    rid = post(anon_http, lon=spot["lon"], lat=spot["lat"]).json()["id"]
    sup = as_user("sup_a")
    r = sup.post(f"/api/v1/reports/{rid}/reassign", json={"committee": accounts["sibling_code"], "note": "a\x00b"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "bad_text"
    assert sup.post(f"/api/v1/reports/{rid}/reassign", json=[1]).status_code == 400
    same = sup.post(f"/api/v1/reports/{rid}/reassign", json={"committee": spot["code"]})
    assert same.status_code == 422 and same.json()["error"]["code"] == "same_committee"
    assert move(sup, rid, "rejected").status_code == 200
    closed = sup.post(f"/api/v1/reports/{rid}/reassign", json={"committee": accounts["sibling_code"]})
    assert closed.status_code == 409


def test_committees_with_unknown_towns_are_never_imported(app, tmp_path):
    square = {"type": "Polygon", "coordinates": [[[121.4, 31.1], [121.41, 31.1], [121.41, 31.11], [121.4, 31.1]]]}
    path = tmp_path / "orphans.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "geometry": square,
        "properties": {"code": "310112999001", "name": "无主居委", "level": "committee"}}]}), encoding="utf-8")
    for extra in (["--towns-in-file"], ["--towns-in-file", "--repair"], ["--town", "310112999"]):
        result = app.test_cli_runner().invoke(args=["boundaries", "import", str(path), "--level", "committee", *extra])
        assert result.exit_code == 1, result.output
        assert "310112999" in result.output  # the unknown town is named
    # and a file that does not say it is partial is refused before that
    result = app.test_cli_runner().invoke(args=["boundaries", "import", str(path), "--level", "committee"])
    assert result.exit_code == 1 and "--towns-in-file" in result.output


def test_a_receiver_raising_anything_does_not_stall_the_queue(app, anon_http, spot, monkeypatch):
    from service.core.db import db
    from service.core.models import Area
    from service.notify import outbox
    from service.notify.models import AreaContact

    with app.app_context():
        town = db.session.query(Area).filter_by(code=spot["town"], level="town").first()
        db.session.add(AreaContact(area_id=town.id, channel="webhook", target="http://127.0.0.1:9/x"))
        db.session.commit()
    post(anon_http, lon=spot["lon"], lat=spot["lat"])

    def broken(url, payload):
        raise KeyError("a receiver library bug")

    monkeypatch.setitem(outbox.SENDERS, "webhook", broken)
    with app.app_context():
        assert outbox.deliver_due() == (0, 1)
        n = db.session.query(Notification).one()
        assert n.status == "pending" and "KeyError" in n.last_error
