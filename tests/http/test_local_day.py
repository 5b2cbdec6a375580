"""A report's local_day (revision 0037) is created_at's calendar day in the district, kept by the database's trigger
for every writer, old code and new: set on insert, and again when created_at is rewritten."""
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import text

from service.core.db import db
from tests.support.reports_api import post

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_a_report_s_local_day_is_its_day_in_shanghai(app, anon_http, spot):
    rid = post(anon_http, lon=spot["lon"], lat=spot["lat"]).json()["id"]
    with app.app_context():
        created, day = db.session.execute(text("SELECT created_at, local_day FROM report WHERE id = :id"),
                                          {"id": rid}).one()
        assert day == created.astimezone(SHANGHAI).date()
        # 23:30 UTC on the 6th is 07:30 on the 7th in Shanghai: the day is the district's, not UTC's
        db.session.execute(text("UPDATE report SET created_at = :t WHERE id = :id"),
                           {"t": datetime.fromisoformat("2026-12-06T23:30:00+00:00"), "id": rid})
        assert str(db.session.scalar(text("SELECT local_day FROM report WHERE id = :id"), {"id": rid})) == \
            "2026-12-07"
        db.session.rollback()
