"""Every role x every endpoint x own area / other area, each with its expected status.

The report lies in the committee of staff_a and the town of sup_a and was sent by vol. Scope is applied
inside the queries, so a report out of scope answers 404 exactly like one that does not exist.
"""
import mapbox_vector_tile
import pytest

from tests.support.accounts import enable_again
from tests.support.live import LiveSession
from tests.support.map_tiles import ids, tile_of
from tests.support.reports_api import post

ALLOWED, HIDDEN = "allowed", "hidden"
# who -> (GET report, in list, on map, accept, reassign within town A, detail page)
MATRIX = {
    "anon": (404, 401, 302, 401, 401, 302),
    "vol": (200, ALLOWED, ALLOWED, 403, 403, 200),
    "vol2": (404, HIDDEN, HIDDEN, 404, 404, 404),
    "staff_a": (200, ALLOWED, ALLOWED, 403, 403, 200),
    "staff_sibling": (404, HIDDEN, HIDDEN, 404, 404, 404),
    "staff_b": (404, HIDDEN, HIDDEN, 404, 404, 404),
    "sup_a": (200, ALLOWED, ALLOWED, 200, 200, 200),
    "sup_b": (404, HIDDEN, HIDDEN, 404, 404, 404),
    "admin": (200, ALLOWED, ALLOWED, 200, 200, 200),
}
ENDPOINTS = ("get", "list", "map", "accept", "reassign", "page")


@pytest.fixture
def report_of_vol(as_user, spot):
    r = post(as_user("vol"), lon=spot["lon"], lat=spot["lat"])
    assert r.status_code == 201
    return r.json()["id"]


def _session(who, as_user, live_server) -> LiveSession:
    return LiveSession(live_server) if who == "anon" else as_user(who)


def _call(session, endpoint, rid, accounts, spot):
    if endpoint == "get":
        return session.get(f"/api/v1/reports/{rid}")
    if endpoint == "list":
        return session.get("/api/v1/reports")
    if endpoint == "map":  # the vector tile under the report
        z, x, y = tile_of(spot["lon"], spot["lat"], 16)
        return session.get(f"/tiles/reports/{z}/{x}/{y}.pbf", allow_redirects=False)
    if endpoint == "accept":
        return session.post(f"/api/v1/reports/{rid}/transitions", json={"to": "accepted"})
    if endpoint == "reassign":
        return session.post(f"/api/v1/reports/{rid}/reassign", json={"committee": accounts["sibling_code"]})
    return session.get(f"/reports/{rid}", allow_redirects=False)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("who", list(MATRIX))
def test_access(who, endpoint, report_of_vol, as_user, live_server, accounts, spot):
    expected = MATRIX[who][ENDPOINTS.index(endpoint)]
    r = _call(_session(who, as_user, live_server), endpoint, report_of_vol, accounts, spot)
    if expected in (ALLOWED, HIDDEN):
        assert r.status_code == 200, r.text[:300]
        shown = report_of_vol in (ids(mapbox_vector_tile.decode(r.content)) if endpoint == "map" else r.text)
        assert shown == (expected == ALLOWED)
    else:
        assert r.status_code == expected, r.text[:300]
    if isinstance(expected, int) and expected >= 400 and endpoint != "page":
        assert any("\u4e00" <= ch <= "\u9fff" for ch in r.json()["error"]["message"])


def test_disabled_account_token_stops_working(app, as_user, accounts, report_of_vol):
    session = as_user("vol2")
    assert session.get("/api/v1/reports").status_code == 200
    result = app.test_cli_runner().invoke(args=["users", "disable", accounts["vol2"]["phone"]])
    assert result.exit_code == 0, result.output
    try:
        assert session.get("/api/v1/reports").status_code == 401
    finally:
        enable_again(app, accounts, "vol2")
