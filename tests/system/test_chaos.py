"""The chaos proof in a short form (bench/chaos.py): uploads through gunicorn while PostgreSQL restarts and a
worker is killed with -9, on a scratch cluster of the test's own; nothing acknowledged is lost or doubled."""
from bench import chaos

VIOLATIONS = ("acknowledged_missing_or_doubled", "reports_never_acknowledged", "reports_without_photos",
              "reports_without_one_submit_event", "submit_events_without_their_notification",
              "notifications_doubled", "photo_rows_without_file", "photo_files_without_row")


def test_nothing_acknowledged_is_lost_or_doubled_through_a_database_restart_and_a_killed_worker():
    clients, uploads = 6, 3
    result = chaos.run(clients, uploads)
    counts, fault = result["counts"], result["fault"]
    assert fault.probe_status == 503 and fault.replaced  # the database was really down; the worker came back
    assert counts["acknowledged"] == counts["reports"] == counts["notifications"] == clients * uploads
    assert {name: counts[name] for name in VIOLATIONS} == dict.fromkeys(VIOLATIONS, 0)
    # The killed worker may leave temporaries of an upload it never committed: the sweep removes only those.
    assert counts["sweep"] == f"sweep: 0 published, {counts['staged_leftovers']} removed"
    assert counts["sweep_again"] == "sweep: 0 published, 0 removed"
    assert result["unexpected_5xx"] == 0 and result["refused_4xx"] == 0
    assert any(a.error == "db_unavailable" for a in result["phases"]["during"])
