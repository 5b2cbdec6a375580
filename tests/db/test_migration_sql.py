"""The SQL the migrations apply is frozen in files, and the database runs what the newest of them says.

Each revision reads only its own files in migrations/sql (named by its number), and none calls another
revision's code. assign_point and the report triggers' functions in the migrated database must be exactly the
ones in the file of the latest revision that defines them (migrations/README.md says which).
"""
import hashlib
import re
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.support.paths import MIGRATIONS

SQL = MIGRATIONS / "sql"
REVISIONS = sorted((MIGRATIONS / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))
DEFINES = re.compile(r"^CREATE (?:OR REPLACE )?FUNCTION (\w+)\(", re.M)
# Today's definitions, as migrations/README.md states them: a change is a new revision with a new file.
CURRENT = {"assign_point": "0021", "report_rollup_add": "0027", "report_rollup_remove": "0027",
           "report_rollup_move": "0027", "report_rollup_clear": "0027"}
REF = "migration_sql_ref"


def _reference() -> dict[str, Path]:
    """Each function -> the upgrade file of the latest revision that defines it."""
    latest = {}
    for path in sorted(SQL.glob("*.sql")):
        if path.stem.endswith("_downgrade"):
            continue
        for name in DEFINES.findall(path.read_text(encoding="utf-8")):
            latest[name] = path
    return latest


def test_the_newest_files_define_todays_functions():
    latest = _reference()
    assert {name: latest[name].name[:4] for name in CURRENT} == CURRENT


@pytest.mark.parametrize("revision", REVISIONS, ids=lambda p: p.stem)
def test_a_revision_reads_only_its_own_files_and_borrows_no_code(revision):
    source = revision.read_text(encoding="utf-8")
    number = revision.name[:4]
    for pattern in (r"get_revision", r"importlib", r"spec_from_file", r"migrations\.versions", r"\.module\b"):
        assert not re.search(pattern, source), f"{revision.name} reaches into another revision ({pattern})"
    named = set(re.findall(r"(\d{4})_[\w{}]*\.sql", source))
    assert named <= {number}, f"{revision.name} reads another revision's SQL files: {sorted(named - {number})}"


def test_no_frozen_file_changes():
    """migrations/sql/SHA256SUMS lists every file once, as it was frozen (`sha256sum -c SHA256SUMS` checks it too)."""
    listed = dict(reversed(line.split("  ", 1)) for line in (SQL / "SHA256SUMS").read_text().splitlines())
    assert set(listed) == {p.name for p in SQL.glob("*.sql")}, "a new file needs its line in SHA256SUMS"
    changed = [n for n, digest in listed.items() if hashlib.sha256((SQL / n).read_bytes()).hexdigest() != digest]
    assert not changed, f"frozen files were edited (make a new revision instead): {changed}"


def test_every_file_belongs_to_a_revision():
    numbers = {p.name[:4] for p in REVISIONS}
    assert {p.name[:4] for p in SQL.glob("*.sql")} <= numbers


def _definitions(conn, schema: str, names) -> dict[str, tuple[str, str]]:
    rows = conn.execute(text(
        "SELECT p.proname, p.prosrc, pg_get_functiondef(p.oid) FROM pg_proc p"
        " WHERE p.pronamespace = CAST(:s AS regnamespace) AND p.proname = ANY(:n)"), {"s": schema, "n": list(names)})
    return {name: (src, definition.replace(f"{schema}.", "")) for name, src, definition in rows}


def test_the_database_runs_the_frozen_functions(database_url):
    """Each reference file, created in a scratch schema, gives the same pg_get_functiondef as the live function."""
    latest = _reference()
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn, conn.begin() as tx:
            live = _definitions(conn, "public", CURRENT)
            conn.execute(text(f"CREATE SCHEMA {REF}"))
            conn.execute(text(f"SET LOCAL search_path = {REF}, public"))
            for path in sorted({latest[name] for name in CURRENT}):
                conn.execute(text(path.read_text(encoding="utf-8")))
            frozen = _definitions(conn, REF, CURRENT)
            tx.rollback()
    finally:
        engine.dispose()
    assert set(live) == set(CURRENT)
    for name in CURRENT:
        assert live[name] == frozen[name], f"{name} in the database is not {latest[name].name}"


def test_the_report_triggers_call_the_frozen_functions(database_url):
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            triggers = dict(conn.execute(text(
                "SELECT t.tgname, p.proname FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid"
                " WHERE t.tgrelid = CAST('report' AS regclass) AND t.tgenabled = 'A'"
                " AND p.proname LIKE 'report_rollup_%'")).all())
    finally:
        engine.dispose()
    assert triggers == {"report_rollup_insert": "report_rollup_add", "report_rollup_update": "report_rollup_move",
                        "report_rollup_delete": "report_rollup_remove",
                        "report_rollup_truncate": "report_rollup_clear"}
