"""Migrations change the schema while the service serves (migrations/README.md, "expand, then contract"): from
revision 0031 on, no revision may take a lock that stalls uploads on the report table or the tables its triggers
write. Read from each revision's source: what it would run, not what it ran."""
import re
from pathlib import Path

VERSIONS = Path(__file__).resolve().parents[2] / "migrations" / "versions"
FIRST_HELD = 31  # the rule holds from this revision on
# Written to on every upload: by intake, or by the report triggers that keep the cubes.
HOT = ("report", "photo", "report_event", "report_rollup", "report_stats", "report_stats_town", "report_stats_month",
       "report_stats_recurrence", "report_receipt", "notification", "upload_attempt")
_TABLE = r"(?:\"?(?:{})\"?)\b".format("|".join(HOT))
STALLING = {
    "a plain CREATE INDEX (SHARE lock for the whole build)":
        rf"CREATE (?:UNIQUE )?INDEX (?!CONCURRENTLY)\w+ ON {_TABLE}",
    "op.create_index (a plain CREATE INDEX)": rf"create_index\([^)]*[\"']{_TABLE}[\"']",
    "a column's type changed (rewrites the table)": rf"ALTER TABLE {_TABLE} ALTER COLUMN \w+ (?:SET DATA )?TYPE",
    "a constraint validated as it is added": rf"ALTER TABLE {_TABLE} ADD CONSTRAINT (?:(?!NOT VALID).)*$",
    "a whole-table UPDATE": rf"UPDATE {_TABLE} SET (?:(?!WHERE).)*$",
}
# Revisions before FIRST_HELD that take such a lock, and why that was acceptable then.
EARLIER = {
    "0001": "the first schema: empty tables", "0002": "an index on a young table", "0003": "the same",
    "0004": "upload attempts' index on a new table", "0008": "the rollup's index on a new table",
    "0013": "photos' index, before 10^5 reports",
    "0007": "list indexes, before 10^5 reports", "0009": "the verified index, the same",
    "0012": "the nearest-location index, the same", "0014": "site and recurrence indexes, the same",
    "0015": "the cubes' first build and the verified_at backfill, before the first district went live",
    "0023": "restores a dropped index on downgrade only", "0026": "contact codes' index on an empty table",
    "0027": "the recurrence cube's build, measured at 10^6 in its note",
}


def _revisions():
    for path in sorted(VERSIONS.glob("[0-9][0-9][0-9][0-9]_*.py")):
        yield path.name[:4], path.read_text(encoding="utf-8")


def _stalls(source: str) -> list[str]:
    lines = [line for line in source.splitlines() if not line.lstrip().startswith("#")]
    return [why for why, pattern in STALLING.items()
            if any(re.search(pattern, line, re.IGNORECASE) for line in lines)]


def test_no_revision_from_0031_stalls_uploads():
    found = {number: _stalls(source) for number, source in _revisions() if int(number) >= FIRST_HELD}
    assert {number: why for number, why in found.items() if why} == {}


def test_the_earlier_revisions_that_do_are_listed_with_why():
    stalling = {number for number, source in _revisions() if int(number) < FIRST_HELD and _stalls(source)}
    assert stalling <= set(EARLIER), sorted(stalling - set(EARLIER))


def test_the_rule_can_fail():
    assert _stalls('op.execute("CREATE INDEX ix_x ON report (created_at)")')
    assert _stalls('op.create_index("ix_x", "report", ["created_at"])')
    assert _stalls('op.execute("UPDATE report SET contact = NULL")')
    assert _stalls('op.execute("ALTER TABLE report ADD CONSTRAINT ck_x CHECK (true)")')
    assert not _stalls('op.execute("CREATE INDEX CONCURRENTLY ix_x ON report (created_at)")')
    assert not _stalls('op.execute("ALTER TABLE report ADD CONSTRAINT ck_x CHECK (true) NOT VALID")')
    assert not _stalls('op.execute("UPDATE report SET contact = NULL WHERE id = ANY(:batch)")')
