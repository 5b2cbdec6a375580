"""Helpers first written for tests/http/test_reports_api.py, now shared by several test modules."""
from sqlalchemy import func, select

from service.core.db import db
from service.core.models import Photo, Report, ReportEvent
from tests.support.images import jpeg


def post(http, photo=None, **fields):
    files = [("photo", ("hazard.jpg", photo if photo is not None else jpeg(), "image/jpeg"))]
    data = {"category": "ebike_charging", "description": "楼道内电动车充电"} | fields
    return http.post("/api/v1/reports", data=data, files=files)


def counts(app) -> tuple[int, int, int]:
    with app.app_context():
        return tuple(db.session.scalar(select(func.count()).select_from(t)) for t in (Report, Photo, ReportEvent))


def files_on_disk(photo_dir) -> list:
    return sorted(p for p in photo_dir.rglob("*") if p.is_file())

