"""Finish the photos whose faces could not be blurred at upload (`hazard-snap photos redact --pending`).

At intake a photo whose face detection failed or ran out of its ceilings is kept, original only, with
`redaction_pending` set (service/photos/pipeline.py): nothing of it is published. This job decodes each such
original again in the sandbox, and when the faces are blurred this time, writes the public copy and thumbnail
and clears the mark, one photo per transaction. Rows are taken with SKIP LOCKED, so several nodes may run it
at once; a photo that fails again stays pending for the next run.

`rewrite` derives a published photo's copies again from its original, its faces blurred as at intake and the
regions a person drew covered too (service/reports/redaction.py), under new keys, dropping the replaced files.
"""
from dataclasses import dataclass, field

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import text

from service.core.db import db
from service.core.errors import ApiError, Unavailable
from service.photos import pipeline
from service.photos.staging import photo_transaction
from service.photos.storage import StorageError, new_version_key

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


def rewrite(batch, row, boxes: list) -> None:
    """Write row's public copy and thumbnail again from its original, with its faces blurred and `boxes` (fractions
    of the copy) covered, under new keys staged in `batch`; the files they replace are dropped after the commit,
    unless another row still names them (the same bytes sent twice share their keys). The caller commits."""
    storage = current_app.extensions["photo_storage"]
    try:
        with storage.open(row.original_key) as f:
            original = f.read()
    except (OSError, StorageError) as e:
        current_app.logger.exception("original %s could not be read", row.original_key)
        raise Unavailable("original_unavailable", _("照片原图暂时无法读取，本次遮挡未保存，请稍后重试。")) from e
    derived = pipeline.derive_all([original], [boxes])[0]
    if derived.public is None:
        raise Unavailable("redaction_failed", _("照片的人脸模糊暂时未能完成，本次遮挡未保存，请稍后重试。"))
    replaced = (row.public_key, row.thumb_key)
    row.public_key, row.thumb_key = new_version_key("p", row.sha256), new_version_key("t", row.sha256)
    batch.put(row.public_key, derived.public)
    batch.put(row.thumb_key, derived.thumb)
    still_named = _named_elsewhere(row)
    for key in replaced:
        if key not in still_named:
            batch.drop(key)


def _named_elsewhere(row) -> set[str]:
    """The derived keys other rows of the same original name (only a plain, unversioned key is ever shared)."""
    found = set()
    for table in TABLES:
        same_row = "id = :id" if table == row.__tablename__ else "false"
        for public, thumb in db.session.execute(text(
                f"SELECT public_key, thumb_key FROM {table} WHERE sha256 = :sha AND NOT ({same_row})"),
                {"sha": row.sha256, "id": row.id}):
            found |= {public, thumb}
    return found
