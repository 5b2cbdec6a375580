"""Finish the photos whose faces could not be blurred at upload (`hazard-snap photos redact --pending`).

At intake a photo whose face detection failed or ran out of its ceilings is kept, original only, with
`redaction_pending` set (service/photos/pipeline.py): nothing of it is published. This job decodes each such
original again in the sandbox, and when the faces are blurred this time, writes the public copy and thumbnail
and clears the mark, one photo per transaction. Rows are taken with SKIP LOCKED, so several nodes may run it
at once; a photo that fails again stays pending for the next run.
"""
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import text

from service.core.db import db
from service.core.errors import ApiError
from service.photos import pipeline
from service.photos.staging import photo_transaction

# Every table whose rows name stored photos that may wait (as sweep.PHOTO_KEYS_SQL): reports' and orders'.
TABLES = ("photo", "service_order_photo")


@dataclass
class RedactResult:
    finished: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def published(photos: list) -> list:
    """The photos whose public copies exist: not those whose faces wait to be blurred."""
    return [p for p in photos if not p.redaction_pending]


def pending_count() -> int:
    """How many photos wait for their faces to be blurred."""
    return sum(db.session.scalar(text(f"SELECT count(*) FROM {t} WHERE redaction_pending")) for t in TABLES)


def redact_pending() -> RedactResult:
    """Blur and publish every waiting photo that can be done now (each commits on its own)."""
    result, skip = RedactResult(), {t: [0] for t in TABLES}
    storage = current_app.extensions["photo_storage"]
    for table in TABLES:
        while (row := _next(table, skip[table])) is not None:
            if _finish(storage, table, row):
                result.finished.append(row.public_key)
            else:
                skip[table].append(row.id)
                result.failed.append(row.original_key)
    return result


def _next(table: str, skip: list[int]):
    """Lock the next waiting photo no other node holds (the caller's transaction ends the lock)."""
    return db.session.execute(text(
        f"SELECT id, original_key, public_key, thumb_key FROM {table}"
        " WHERE redaction_pending AND NOT (id = ANY(:skip)) ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED"),
        {"skip": skip}).first()


def _finish(storage, table: str, row) -> bool:
    """Derive the photo's copies with its faces blurred and publish them; False (rolled back) if still not."""
    try:
        with storage.open(row.original_key) as f:
            original = f.read()
        derived = pipeline.derive_all([original])[0]
    except (OSError, ApiError):  # the original is gone or the sandbox refuses it now: leave it waiting
        current_app.logger.exception("photo %s could not be redacted", row.original_key)
        db.session.rollback()
        return False
    if derived.public is None:
        db.session.rollback()
        return False
    with photo_transaction() as batch:
        batch.put(row.public_key, derived.public)
        batch.put(row.thumb_key, derived.thumb)
        db.session.execute(text(f"UPDATE {table} SET redaction_pending = false WHERE id = :id"), {"id": row.id})
    return True
