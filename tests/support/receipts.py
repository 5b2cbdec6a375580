"""Helpers first written for tests/http/test_receipts.py, now shared by several test modules."""
import re

from sqlalchemy import select

from service.core.db import db
from service.notify.models import Notification
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


def notices(app, report_id) -> list[tuple[str, str, str]]:
    with app.app_context():
        rows = db.session.scalars(select(Notification).where(Notification.channel.in_(("email", "sms")))).all()
        return [(n.channel, n.target, n.payload["text"]) for n in rows if n.payload.get("report_id") == report_id]


def confirm(anon_http, app, body) -> None:
    """Type back the one-time code the contact was sent (tests/http/test_contact_codes.py tests the codes)."""
    path = track_path(body)
    [code] = [re.search(r"验证码 (\d{6})", m).group(1) for _c, _t, m in notices(app, body["id"]) if "验证码" in m]
    r = anon_http.post(path + "/confirm", data={"csrf_token": csrf(anon_http, path), "code": code})
    assert r.status_code == 200 and "验证成功" in r.text
