"""Every Alembic revision goes up, down and up again on a real PostGIS."""
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from service.core import migrate
from tests.support.database import recreate_database

TABLES = {"area", "area_cell", "report", "photo", "report_event", "user", "api_token", "login_failure", "area_contact",
          "notification", "notification_attempt", "upload_attempt", "report_rollup", "volunteer", "service_hour_entry",
          "service_hour_decision", "boundary_generation", "boundary_change",
          "service_order", "service_order_event", "service_assignment", "service_order_photo",
          "report_stats", "report_stats_month", "report_stats_town", "report_stats_recurrence",
          "site", "campaign", "inspection_round", "inspection", "report_receipt", "report_rating",
          "user_session", "contact_code", "verified_contact", "body",
          "transfer", "body_update", "hotline_order", "hotline_callback",
          "access_log", "redaction_request"}


@pytest.fixture
def scratch_url(database_url):
    url = make_url(database_url)
    scratch = url.set(database=url.database + "_migrations").render_as_string(hide_password=False)
    recreate_database(scratch)
    return scratch


def _state(url: str) -> tuple[set, set]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names()) - {"spatial_ref_sys", "alembic_version"}
            functions = set(conn.scalars(text(
                "SELECT proname FROM pg_proc"
                " WHERE pronamespace = 'public'::regnamespace AND proname = 'assign_point'")))
        return tables, functions
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(scratch_url):
    revisions = [r.revision for r in ScriptDirectory.from_config(migrate.alembic_config(scratch_url)).walk_revisions()]
    assert revisions, "no revisions found"
    migrate.upgrade(scratch_url)
    assert _state(scratch_url) == (TABLES, {"assign_point"})
    migrate.downgrade(scratch_url, "base")
    assert _state(scratch_url) == (set(), set())
    migrate.upgrade(scratch_url)
    assert _state(scratch_url) == (TABLES, {"assign_point"})
    # each revision also steps down and up on its own
    for rev in revisions[:-1]:
        migrate.downgrade(scratch_url, rev)
        migrate.upgrade(scratch_url)
    assert _state(scratch_url) == (TABLES, {"assign_point"})


def test_models_match_the_migrations(database_url):
    """Autogenerate finds nothing to do: models and revisions describe the same schema."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from geoalchemy2 import alembic_helpers

    from service.core.db import db

    engine = create_engine(database_url)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={
            "include_object": alembic_helpers.include_object, "compare_type": True,
        })
        diff = compare_metadata(ctx, db.metadata)
    engine.dispose()
    assert diff == []


def test_sessions_run_in_utc(database_url):
    """0029: a new connection to the migrated database starts in UTC, whatever the server's default zone."""
    engine = create_engine(database_url)
    with engine.connect() as conn:
        assert conn.scalar(text("SHOW timezone")) == "UTC"
        assert conn.scalar(text("SELECT to_char(TIMESTAMPTZ '2026-12-01 00:00+08', 'YYYY-MM-DD HH24:MI')")) == \
            "2026-11-30 16:00"
    engine.dispose()


def test_the_status_check_lists_exactly_the_workflow_statuses(database_url):
    """ck_report_status (0028) lets a filter of every status add no condition: it must hold every status, no more."""
    import re

    from service.rules.workflow import TRANSITIONS

    engine = create_engine(database_url)
    with engine.connect() as conn:
        check = conn.scalar(text("SELECT pg_get_constraintdef(oid) FROM pg_constraint"
                                 " WHERE conname = 'ck_report_status'"))
    engine.dispose()
    assert set(re.findall(r"'(\w+)'", check)) == set(TRANSITIONS)


@pytest.mark.parametrize(("index", "statuses"), [("ix_report_open_geog", "OPEN"),
                                                ("ix_report_running_due", "CLOCK_RUNNING")])
def test_partial_indexes_cover_exactly_the_workflow_statuses(database_url, index, statuses):
    """Statuses are stated once (service.rules.workflow): each migrated partial index must agree with them."""
    import re

    from service.rules import workflow

    engine = create_engine(database_url)
    with engine.connect() as conn:
        predicate = conn.scalar(text("SELECT pg_get_expr(indpred, indrelid) FROM pg_index"
                                     " WHERE indexrelid = CAST(:i AS regclass)"), {"i": index})
    engine.dispose()
    assert set(re.findall(r"'(\w+)'", predicate)) == set(getattr(workflow, statuses))


def test_redaction_pending_goes_down_to_0031_and_up_again(scratch_url):
    """0032: both photo tables gain redaction_pending (false for the rows already there) and its partial index,
    and lose them on the way down."""
    def columns(url):
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                found = {t: {c["name"] for c in inspect(conn).get_columns(t)} for t in ("photo", "service_order_photo")}
                indexes = set(conn.scalars(text(
                    "SELECT indexname FROM pg_indexes WHERE indexname LIKE '%redaction_pending'")))
            return {t for t, cols in found.items() if "redaction_pending" in cols}, indexes
        finally:
            engine.dispose()

    both = {"photo", "service_order_photo"}
    migrate.upgrade(scratch_url)
    assert columns(scratch_url) == (both, {f"ix_{t}_redaction_pending" for t in both})
    migrate.downgrade(scratch_url, "0031")
    assert columns(scratch_url) == (set(), set())
    migrate.upgrade(scratch_url)
    assert columns(scratch_url) == (both, {f"ix_{t}_redaction_pending" for t in both})
