"""Reconcile photo storage with the database after crashes.

Intake writes files under temporary names, commits the row, then renames. A crash after
the commit leaves committed rows whose files are still temporaries: those are rolled
forward. Temporaries with no row, and published files no row refers to, are removed once
older than the grace period (younger ones may belong to an upload in flight).
"""
from dataclasses import dataclass, field

from sqlalchemy import text

from service.core.db import db


@dataclass
class SweepResult:
    published: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


# Every table whose rows name stored photos: reports' photos and service orders' outcome photos. A photo whose
# faces wait to be blurred (service/photos/redact.py) has its original only: its other keys name no file yet.
_KEYS = ("SELECT original_key, CASE WHEN redaction_pending THEN NULL ELSE public_key END,"
         " CASE WHEN redaction_pending THEN NULL ELSE thumb_key END FROM {}")
PHOTO_KEYS_SQL = " UNION ALL ".join(_KEYS.format(t) for t in ("photo", "service_order_photo"))


def referenced_keys() -> set[str]:
    rows = db.session.execute(text(PHOTO_KEYS_SQL)).all()
    return {key for row in rows for key in row if key is not None}


def sweep(storage, older_than_s: float) -> SweepResult:
    """Publish committed leftovers and remove orphans older than the grace period."""
    result = SweepResult()
    keys = referenced_keys()
    for entry in sorted(storage.entries(), key=lambda e: (e.key, e.staged)):
        if entry.staged and entry.key in keys and not storage.exists(entry.key):
            storage.finish(entry)  # committed but never renamed: roll forward (safe even if in flight)
            result.published.append(entry.key)
        elif entry.age_s >= older_than_s and (entry.staged or entry.key not in keys):
            # An old temporary (its content is published already, or its transaction never committed),
            # or a published file no row refers to. Younger ones may belong to an upload in flight.
            storage.remove(entry)
            result.removed.append(entry.handle)
    return result
