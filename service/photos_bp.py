"""Serve public photo copies by their content-addressed key."""
from flask import Blueprint, abort, current_app, send_file

from .storage import is_valid_key

bp = Blueprint("photos", __name__)


@bp.get("/photos/<path:key>")
def serve(key: str):
    """Send a public copy or thumbnail; originals and malformed keys are 404."""
    if not is_valid_key(key, public_only=True):
        abort(404)
    path = current_app.extensions["photo_storage"].path(key)
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype="image/jpeg", max_age=365 * 86400, conditional=True)
    response.cache_control.immutable = True
    response.cache_control.public = True
    return response
