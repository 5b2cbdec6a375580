"""Whom a round may name: every inspector must be someone the planner directs (staff of the planner's area, or a
volunteer on the roster of one of its committees). Refusals store nothing, and the planning form answers an
unregistered phone exactly as it answers a registered one outside the planner's area."""
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from tests.support.inspections import planned, two_sites
from tests.support.sites import METRE_LAT

UNREGISTERED = "13999999999"


def stored(owner_engine) -> tuple[int, int]:
    with owner_engine.connect() as conn:
        return (conn.scalar(text("SELECT count(*) FROM inspection_round")),
                conn.scalar(text("SELECT count(*) FROM inspection")))


def roster_id(owner_engine, phone: str) -> int:
    with owner_engine.connect() as conn:
        return conn.scalar(text('SELECT id FROM "user" WHERE phone = :p'), {"p": phone})


def error(r) -> tuple[int, str, str]:
    return r.status_code, r.json()["error"]["code"], r.json()["error"]["message"]


@pytest.mark.usefixtures("rounds_env")
def test_a_supervisor_cannot_name_another_towns_committee_worker(app, as_user, accounts, spot, tmp_path,
                                                                 owner_engine):
    two_sites(app, tmp_path, spot)
    sup = as_user("sup_a")
    for who in (("staff_b",), ("vol", "staff_b"), ("staff_b", "vol2")):
        r = planned(sup, accounts, who=who)
        status, code, message = error(r)
        assert (status, code) == (422, "unknown_inspectors"), (who, r.text)
        assert str(accounts["staff_b"]["id"]) in message and "不在您的管辖范围内" in message
        assert str(accounts["vol"]["id"]) not in message  # only the person out of scope is named
        assert stored(owner_engine) == (0, 0), who  # no half-planned round
    far = roster_id(owner_engine, "17600000002")  # a volunteer on another town's committee's roster
    r = sup.post("/api/v1/inspection-rounds", json=planned_body(accounts, [far]))
    assert error(r)[:2] == (422, "unknown_inspectors") and str(far) in error(r)[2]
    assert stored(owner_engine) == (0, 0)
    # In scope: a committee worker of another committee of the same town, a volunteer of its roster.
    sibling = roster_id(owner_engine, "17600000001")
    r = sup.post("/api/v1/inspection-rounds", json=planned_body(accounts, [accounts["staff_sibling"]["id"], sibling]))
    assert r.status_code == 201, r.text
    assert sorted(i["inspector_id"] for i in r.json()["inspections"]) == sorted(
        [accounts["staff_sibling"]["id"], sibling])
    assert stored(owner_engine) == (1, 2)


def planned_body(accounts, ids: list) -> dict:
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    return {"title": "跨镇巡查", "starts_on": (today - timedelta(days=1)).isoformat(),
            "ends_on": (today + timedelta(days=5)).isoformat(), "sites": ["S-1", "S-2"], "inspectors": ids}


@pytest.mark.usefixtures("rounds_env")
def test_unknown_and_out_of_scope_people_get_the_same_answer(app, as_user, accounts, spot, tmp_path,
                                                             owner_engine):
    two_sites(app, tmp_path, spot)
    sup = as_user("sup_a")
    # The API, by user id: an id nobody has, another town's committee worker, a supervisor.
    answers = set()
    for uid in (987_654, accounts["staff_b"]["id"], accounts["sup_b"]["id"]):
        status, code, message = error(sup.post("/api/v1/inspection-rounds", json=planned_body(accounts, [uid])))
        answers.add((status, code, message.replace(str(uid), "<id>")))
    assert len(answers) == 1, answers
    # The form, by phone: an unregistered phone and another town's registered committee worker.
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', sup.get("/inspections/plan").text).group(1)
    form = {"csrf_token": token, "title": "巡查", "starts_on": "2026-11-01", "ends_on": "2026-11-30",
            "sites": "S-1\nS-2"}
    seen = set()
    for phone in (UNREGISTERED, accounts["staff_b"]["phone"], "17600000002"):
        page = sup.post("/inspections/plan", data=form | {"inspectors": f"{accounts['vol']['phone']}\n{phone}"})
        flashed = re.findall(r'<p class="flash (\w+)" role="alert">([^<]*)</p>', page.text)
        assert phone in flashed[0][1] and accounts["vol"]["phone"] not in flashed[0][1], flashed
        seen.add((page.status_code, tuple((c, m.replace(phone, "<phone>")) for c, m in flashed)))
    assert len(seen) == 1, seen
    [(status, [(category, message)])] = [(s, list(f)) for s, f in seen]
    assert status == 422 and category == "error" and "不在您的管辖范围内" in message
    assert stored(owner_engine) == (0, 0)


@pytest.mark.usefixtures("rounds_env")
def test_a_named_inspector_sees_only_the_sites_of_their_round(app, as_user, accounts, spot, tmp_path):
    sites = two_sites(app, tmp_path, spot)
    sup = as_user("sup_a")
    r = sup.post("/api/v1/inspection-rounds", json=planned_body(accounts, [accounts["staff_sibling"]["id"]])
                 | {"sites": ["S-1"]})
    assert r.status_code == 201, r.text
    [mine] = r.json()["inspections"]
    other = planned(sup, accounts, sites=("S-2",), who=("vol",)).json()["inspections"][0]
    inspector = as_user("staff_sibling")
    assert [i["id"] for i in inspector.get("/api/v1/inspections/mine").json()["inspections"]] == [mine["id"]]
    assert inspector.get(f"/inspections/{mine['id']}").status_code == 200
    assert inspector.get(f"/inspections/{other['id']}").status_code == 404
    assert inspector.post(f"/api/v1/inspections/{other['id']}/check-in",
                          json={"lon": spot["lon"], "lat": spot["lat"] + 60 * METRE_LAT}).status_code == 404
    # The site registry of another committee stays closed to them; only their round's page opens.
    for site in sites.values():
        assert inspector.get(f"/api/v1/sites/{site.id}").status_code == 404
    assert sites["S-2"].external_id not in inspector.get("/api/v1/inspections/mine").text
