"""Helpers first written for tests/http/test_receipts.py, now shared by several test modules."""
import re

from tests.support.reports_api import post


def csrf(session, path: str) -> str:
    page = session.get(path)
    assert page.status_code == 200, page.text[:300]
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def sent(anon_http, spot, **fields) -> dict:
    r = post(anon_http, lon=spot["lon"], lat=spot["lat"], **fields)
    assert r.status_code == 201, r.text
    return r.json()


def track_path(body: dict) -> str:
    url = body["receipt"]["tracking_url"]
    assert url.startswith("http://127.0.0.1:")
    return "/" + url.split("/", 3)[3]

