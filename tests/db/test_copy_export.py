"""The CSV PostgreSQL writes (service/reports/copy_export.py) holds, cell for cell, what the Python writer
(core/sheets.csv_chunks over the same rows) writes: local times to the minute, labels, the formula guard on every
text cell, coordinates to 7 decimals; at instants either side of midnight in the local zone, with a session whose
own TimeZone and DateStyle differ."""
import csv
import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text, true

from service.core import sheets
from service.core.db import db
from service.reports import copy_export, exports
from service.reports.filters import ReportFilter
from tests.support.exports import INJECTIONS

INSERT = """
INSERT INTO report (id, category, subcategory, risk_level, description, address, location, submitted_lon,
                    submitted_lat, submitted_crs, location_source, committee_id, town_id, assignment_method,
                    assignment_distance_m, status, created_at, due_at, rectified_at)
SELECT :id, :category, :sub, 'major', :description, :address, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), :lon,
       :lat, 'wgs84', 'device', a.id, a.parent_id, 'covers', 0, :status, :created, :due, :rectified
  FROM area a WHERE a.level = 'committee' ORDER BY a.code LIMIT 1"""


def _parsed(chunks) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(chunks).decode("utf-8-sig"))))


@pytest.fixture
def tricky(app, owner_engine):
    """Reports whose cells try every formula start, empty and missing text, long and short coordinates, and times
    a second either side of local midnight (16:00 UTC)."""
    midnight = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
    cases = [(INJECTIONS[i % len(INJECTIONS)], None if i % 3 else INJECTIONS[(i + 1) % len(INJECTIONS)])
             for i in range(8)] + [("", ""), ("平常的描述", None), ("=", "@")]
    with owner_engine.begin() as conn:
        for i, (description, address) in enumerate(cases):
            created = midnight + timedelta(seconds=(-1) ** i * (i + 1))
            conn.execute(text(INSERT), {
                "id": str(uuid.UUID(int=i + 1)), "category": "nine_small" if i % 2 else "combustibles",
                "sub": "shop" if i % 2 else None, "description": description, "address": address,
                "lon": 121.3 + i / 7, "lat": 31.1 + i / 13 if i % 4 else 31.1, "status": "rectified" if i % 2
                else "submitted", "created": created, "due": created + timedelta(days=3, minutes=59, seconds=59),
                "rectified": created + timedelta(hours=5) if i % 2 else None})
    return len(cases)


def test_the_sql_csv_equals_the_python_one(tricky, app):
    with app.test_request_context():
        db.session.execute(text("SET TimeZone = 'America/New_York'"))  # the export sets its own
        db.session.execute(text("SET DateStyle = 'SQL, DMY'"))
        from_sql = _parsed(copy_export.reports(true(), ReportFilter()).chunks("csv"))
        db.session.rollback()
        from_python = _parsed(sheets.csv_chunks(exports.rows(true(), ReportFilter()), exports.REPORTS))
        db.session.rollback()
        db.session.execute(text("RESET TimeZone"))
        db.session.execute(text("RESET DateStyle"))
    assert len(from_sql) == tricky + 1
    assert from_sql == from_python
    guarded = [row for row in from_sql[1:] if row[6].startswith("'")]
    assert len(guarded) >= 8
