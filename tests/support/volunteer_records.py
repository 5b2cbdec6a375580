"""Helpers first written for tests/http/test_volunteer_records.py, now shared by several test modules."""
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

TODAY = datetime.now(ZoneInfo("Asia/Shanghai")).date()  # the service's day (LOCAL_TIMEZONE), not the machine's


YESTERDAY = TODAY - timedelta(days=1)


def approved(as_user, vid, hours, day=YESTERDAY, note="", by="staff_a", approver="sup_a") -> int:
    r = as_user(by).post(f"/api/v1/volunteers/{vid}/hours", json={"hours": hours, "date": day.isoformat(),
                                                                    "note": note})
    assert r.status_code == 201, r.text
    assert as_user(approver).post(f"/api/v1/volunteers/hours/{r.json()['id']}/approve").status_code == 200
    return r.json()["id"]

