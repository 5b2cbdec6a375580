"""Photos written beside their rows: read the uploads, stage the files, publish them only after the commit."""
from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app
from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage

from service.core.db import db
from service.core.errors import Invalid, Malformed, TooLarge, Unavailable
from service.core.models import Photo, Report
from service.photos import phone
from service.photos.pipeline import ProcessedPhoto
from service.photos.storage import StorageError, key_for

MAX_PHOTOS = 3


def read_uploads(files: list[FileStorage]) -> list[bytes]:
    """Read 1 to MAX_PHOTOS uploaded files, each within the byte limit."""
    files = [f for f in files if f and f.filename is not None]
    if not files:
        raise Malformed("photo_missing", _("请至少拍摄或选择一张隐患照片。"))
    if len(files) > MAX_PHOTOS:
        raise Invalid("too_many_photos", _("每条上报最多 %(n)s 张照片，请删减后重试。", n=MAX_PHOTOS))
    limit = current_app.config["MAX_PHOTO_BYTES"]
    uploads = [f.read(limit + 1) for f in files]
    if any(len(data) > limit for data in uploads):
        raise TooLarge("photo_too_large", _("单张照片不能超过 %(mb)s MB，请压缩后重试。", mb=limit // 2**20))
    return uploads


@contextmanager
def photo_transaction() -> Iterator:
    """Commit the session with staged photo files: files become visible only after the commit succeeds."""
    batch = current_app.extensions["photo_storage"].batch()
    try:
        yield batch
        batch.sync()
        db.session.commit()
    except BaseException as e:
        db.session.rollback()
        batch.discard()
        if isinstance(e, OSError | StorageError):
            current_app.logger.exception("photo storage failed; nothing was saved")
            raise Unavailable("storage_unavailable",
                           _("照片暂时无法保存，本次上报未提交，请稍后重试。")) from e
        raise
    batch.publish()


def stage_files(batch, p: ProcessedPhoto) -> tuple[str, str, str]:
    """Write one photo's original, public copy and thumbnail under temporary names; return their keys.
    A photo whose faces wait to be blurred gets its original only; its other keys are written later."""
    keys = key_for("o", p.sha256, p.ext), key_for("p", p.sha256, "jpg"), key_for("t", p.sha256, "jpg")
    for key, data in zip(keys, (p.original, p.public, p.thumb), strict=True):
        if data is not None:
            batch.put(key, data)
    return keys


def stage_photos(report: Report, photos: list[ProcessedPhoto], batch, role: str = "before", event=None) -> None:
    """Write photo files under temporary names and attach their rows to the report (and event)."""
    for p in photos:
        keys = stage_files(batch, p)
        report.photos.append(Photo(
            role=role, sha256=p.sha256, original_key=keys[0], public_key=keys[1], thumb_key=keys[2],
            content_type=p.content_type, width=p.width, height=p.height, bytes=len(p.original), phash=p.phash,
            event=event, redaction_pending=p.pending, **phone.columns(p),
        ))
