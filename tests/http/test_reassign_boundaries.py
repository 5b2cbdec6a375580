"""A new committee generation moves open reports in one statement, with a `reassign` event each."""
import json
import threading
import time

import pytest
from sqlalchemy import func, select, text

from service.areas import boundaries
from service.core.db import db
from service.core.models import Area, ReportEvent
from tests.support.reports_api import post


@pytest.fixture
def swapped_boundaries(app, spot, accounts, tmp_path):
    """Import a generation where the spot's committee and a sibling trade polygons; restore afterwards."""
    with app.app_context():
        original = boundaries.feature_collection("committee", precision=15)
    features = {f["properties"]["code"]: f for f in original["features"]}
    a, b = features[spot["code"]], features[accounts["sibling_code"]]
    swapped = json.loads(json.dumps(original))
    by_code = {f["properties"]["code"]: f for f in swapped["features"]}
    by_code[a["properties"]["code"]]["geometry"], by_code[b["properties"]["code"]]["geometry"] = (
        b["geometry"], a["geometry"])
    paths = tmp_path / "swapped.geojson", tmp_path / "original.geojson"
    paths[0].write_text(json.dumps(swapped), encoding="utf-8")
    paths[1].write_text(json.dumps(original), encoding="utf-8")
    yield paths[0]
    result = app.test_cli_runner().invoke(args=["boundaries", "import", str(paths[1]), "--level", "committee"])
    assert result.exit_code == 0, result.output


def test_reassign_after_a_boundary_change(app, http, spot, accounts, swapped_boundaries):
    report = post(http, lon=spot["lon"], lat=spot["lat"]).json()
    assert report["committee"]["code"] == spot["code"]
    before = report["assignment"]["generation"]
    assert f"位于该居村委辖区内 · 第 {before} 代居村委边界" in http.get(f"/reports/{report['id']}").text
    runner = app.test_cli_runner()
    result = runner.invoke(args=["boundaries", "import", str(swapped_boundaries), "--level", "committee"])
    assert result.exit_code == 0, result.output
    assert "re-assigned 1 open reports" in result.output  # the import re-assigns in its own transaction
    assert "re-assigned 0 open reports" in runner.invoke(args=["reassign"]).output  # nothing left to move
    assert "re-assigned 0 open reports" in runner.invoke(args=["reassign", "--all"]).output
    moved = http.get(f"/api/v1/reports/{report['id']}").json()
    assert moved["committee"]["code"] == accounts["sibling_code"]
    after = moved["assignment"]["generation"]
    assert after > before  # the page says which boundaries placed the report, now the new ones
    assert f"第 {after} 代居村委边界" in http.get(f"/reports/{report['id']}").text
    event = moved["events"][-1]
    assert event["kind"] == "reassign" and event["actor"] == "system"
    assert event["data"]["from"] == spot["code"] and event["data"]["reason"] == "boundaries"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ReportEvent)
                                 .where(ReportEvent.kind == "reassign")) == 1
        assert db.session.scalar(select(func.max(Area.generation)).where(Area.level == "committee")) >= 2


@pytest.mark.parametrize("change", ["manual reassign", "closed"])
def test_a_concurrent_manual_reassign_or_closing_wins(app, http, spot, accounts, swapped_boundaries, change):
    """The import's UPDATE waits for a supervisor's uncommitted move (or closing of the report), then re-checks
    the row and leaves it: a closed report keeps its committee."""
    report = post(http, lon=spot["lon"], lat=spot["lat"]).json()
    with app.app_context():
        engine = db.engine
        elsewhere = boundaries.latest(accounts["elsewhere_code"])
    supervisor = engine.connect()
    if change == "closed":
        supervisor.execute(text("UPDATE report SET status = 'rejected' WHERE id = :id"), {"id": report["id"]})
    else:
        supervisor.execute(text("UPDATE report SET committee_id = :c, town_id = :t, assignment_method = 'manual'"
                                " WHERE id = :id"), {"c": elsewhere.id, "t": elsewhere.parent_id, "id": report["id"]})
    outcome = {}

    def import_swapped():
        outcome["result"] = app.test_cli_runner().invoke(
            args=["boundaries", "import", str(swapped_boundaries), "--level", "committee"])

    worker = threading.Thread(target=import_swapped)
    worker.start()
    # Wait until the import is blocked on the supervisor's row lock (autocommit: a fresh view of the activity).
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as watcher:
        while worker.is_alive() and not watcher.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock'")).scalar():
            time.sleep(0.05)
    supervisor.commit()
    supervisor.close()
    worker.join()
    assert outcome["result"].exit_code == 0, outcome["result"].output
    assert "re-assigned 0 open reports" in outcome["result"].output
    kept = http.get(f"/api/v1/reports/{report['id']}").json()
    if change == "closed":
        assert kept["committee"]["code"] == spot["code"] and kept["status"] == "rejected"
    else:
        assert kept["committee"]["code"] == accounts["elsewhere_code"] and kept["assignment"]["method"] == "manual"
    assert [e["kind"] for e in kept["events"]].count("reassign") == 0
