"""Serve stored photos through the storage interface: public copies to anyone, the rest only within scope.

Before-photos' public copies and thumbnails carry no EXIF and are already shown to anonymous reporters, so
they stay public and cacheable for a year. Originals (with their EXIF) and after-photos are served only to
people who may see the report, marked private and revalidated, and are a 404 to everyone else.
"""
from flask import Blueprint, abort, current_app, request, send_file
from sqlalchemy import select

from service.accounts import scope
from service.accounts.auth import actor
from service.core.db import db
from service.core.models import Photo, Report
from service.photos import links
from service.photos.storage import KEY_RE, PUBLIC_AREAS, StorageError

bp = Blueprint("photos", __name__)
MIMETYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp", "heic": "image/heic"}
YEAR_S = 365 * 86400


def _rows(sha256: str) -> list:
    """(role, report id) of every photo with these bytes; all three keys are named by the original's sha256."""
    return db.session.execute(select(Photo.role, Photo.report_id).where(Photo.sha256 == sha256)).all()


def is_public(area: str, rows) -> bool:
    """A key is public when it is a derived copy (not the original) of some report's before-photo."""
    return area in PUBLIC_AREAS and any(role == "before" for role, _report in rows)


def may_see(rows) -> bool:
    """Tell whether the caller may see one of the reports the photo belongs to."""
    user = actor()
    ids = {report_id for _role, report_id in rows}
    return user is not None and db.session.scalar(
        select(Report.id).where(Report.id.in_(ids), scope.visible(user)).limit(1)) is not None


@bp.get("/photos/<path:key>")
def serve(key: str):
    """Send a photo: public copies to anyone, originals and after-photos within scope; anything else is 404."""
    match = KEY_RE.fullmatch(key)
    rows = _rows(match.group("sha")) if match else []
    public = bool(match) and is_public(match.group("area"), rows)
    if not rows or not (public or links.valid(key, request.args) or may_see(rows)):
        abort(404)  # a wrong or expired signature is as unknown as a wrong key
    return send_stored(key, public)


def send_stored(key: str, public: bool):
    """Stream a stored photo (a valid key): cacheable for a year if public, else private and revalidated."""
    match = KEY_RE.fullmatch(key)
    try:
        stream = current_app.extensions["photo_storage"].open(key)
    except FileNotFoundError:
        abort(404)
    except StorageError:
        abort(503)  # the store does not answer: try again later, never a 500
    response = send_file(stream, mimetype=MIMETYPES[match.group("ext")], etag=key.rsplit("/", 1)[-1].rsplit(".", 1)[0],
                         conditional=True, max_age=YEAR_S if public else 0)
    if public:
        response.cache_control.immutable = True
        response.cache_control.public = True
    else:
        response.cache_control.private = True
        response.cache_control.no_cache = True  # revalidated each time, so a lost right takes effect
    return response
