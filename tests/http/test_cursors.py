"""Every cursor-taking endpoint reads its cursor through service.core.cursors: a crafted one is a 422 asking to
start again, never a 500 (`[0,"1e1000000","hazard","x"]` on /me/tasks overflowed numeric)."""
import base64
import json

import pytest

from service.core import cursors
from service.core.errors import ApiError


def b64(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


CRAFTED = [
    b64([0, "1e1000000", "hazard", "x"]), b64(["0", "1e1000000", "hazard", "x"]), b64(["0", "NaN", "hazard", "x"]),
    b64(["99999-01-01T00:00:00+00:00", "00000000-0000-0000-0000-000000000000"]),
    b64(["2026-01-01T00:00:00", "00000000-0000-0000-0000-000000000000"]),  # naive
    b64(["2026-01-01T00:00:00+00:00", "99999999999999999999999"]), b64(["2026-01-01T00:00:00+00:00", "-0x1"]),
    b64(["a\u0000b", "1"]), b64([]), b64({"a": 1}), b64([1, 2]), b64([None, None]), b64([["x"], "1"]),
    b64(["9" * 5000, "1"]), "not base64!", "%%%", "==", "x" * 3000, "\u202e", b64("x") + "garbage",
]
ENDPOINTS = ["/api/v1/reports", "/api/v1/reports?overdue=1", "/api/v1/volunteers/me/tasks", "/api/v1/orders",
             "/api/v1/sites", "/api/v1/campaigns"]


BAD_PARTS = [(cursors.INT, ["", "1_0", "1e5", "9" * 19, "0x10", " 1", "１"]),
             (cursors.NUMBER, ["", "1e1000000", "NaN", "Infinity", "1" * 16, "1.0000000000001"]),
             (cursors.WORD, ["", "a b", "x" * 65, "\x00", "<script>"]),
             (cursors.DATETIME, ["", "2026-01-01T00:00:00", "99999-01-01T00:00:00+00:00", "yesterday"]),
             (cursors.DATE, ["", "2026-02-30", "0000-01-01"]), (cursors.UUID, ["", "1", "x" * 36]),
             (cursors.TEXT, ["a\x00b", "x" * 401])]


@pytest.mark.parametrize("kind,bad", BAD_PARTS)
def test_each_kind_refuses_what_it_cannot_hold(app, kind, bad):
    with app.test_request_context():
        for raw in bad:
            with pytest.raises(ApiError) as refused:
                cursors.decode(b64([raw]), kind)
            assert refused.value.status == 422, raw


def test_a_cursor_round_trips_its_key():
    from datetime import UTC, datetime
    from uuid import uuid4

    at, rid = datetime(2026, 12, 6, 5, 30, 1, 123456, tzinfo=UTC), uuid4()
    assert cursors.decode(cursors.encode(at, rid), cursors.DATETIME, cursors.UUID) == (at, rid)
    assert cursors.decode(cursors.encode(0, "1733450000.123456", "hazard", 12), cursors.choice("0", "1"),
                          cursors.NUMBER, cursors.WORD, cursors.INT)[3] == 12


@pytest.mark.parametrize("path", ENDPOINTS)
def test_crafted_cursors_are_a_422_on_every_endpoint(as_user, http, path):
    caller = as_user("vol") if "/me/" in path else http
    for raw in CRAFTED:
        r = caller.get(path, params={"cursor": raw})
        assert r.status_code == 422, (path, raw, r.status_code, r.text[:300])
        assert r.json()["error"]["code"] in ("bad_cursor", "bad_page"), (path, raw)
    assert caller.get(path).status_code == 200  # the endpoint is real: the first page answers
