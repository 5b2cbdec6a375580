"""Open311 media_url: fetched only from an allow-listed host, never through a redirect, within the photo limits."""
import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from service.core.db import db
from service.core.models import Photo
from tests.support.images import jpeg
from tests.support.open311 import errors_of, o311_post

PHOTO = jpeg(colour=(200, 60, 20))


class MediaServer(BaseHTTPRequestHandler):
    """A 311 platform's media server: a photo, a redirect to it, and bytes that are no photo."""

    seen: list[str] = []

    def do_GET(self):  # noqa: N802 - the http.server protocol
        MediaServer.seen.append(self.path)
        if self.path == "/redirect.jpg":
            self.send_response(302)
            self.send_header("Location", "/photo.jpg")
            self.end_headers()
            return
        body = PHOTO if self.path == "/photo.jpg" else b"not a photo"
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def media_host(app):
    server = ThreadingHTTPServer(("127.0.0.1", 0), MediaServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host = f"127.0.0.1:{server.server_port}"
    MediaServer.seen.clear()
    yield host
    server.shutdown()
    app.config["OPEN311_MEDIA_HOSTS"] = frozenset()


def test_nothing_is_fetched_without_an_allow_list(anon_http, spot, accounts, media_host):
    r = o311_post(anon_http, spot, media=False, api_key=accounts["vol"]["token"],
                  media_url=f"http://{media_host}/photo.jpg")
    assert r.status_code == 400 and errors_of(r, "json")[0][0] == 400
    assert MediaServer.seen == []


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_an_allow_listed_media_url_is_fetched_and_checked(app, anon_http, spot, accounts, media_host, fmt):
    app.config["OPEN311_MEDIA_HOSTS"] = frozenset({media_host})
    key = accounts["vol"]["token"]
    ok = o311_post(anon_http, spot, fmt, media=False, api_key=key, media_url=f"http://{media_host}/photo.jpg")
    assert ok.status_code == 201, ok.text
    with app.app_context():
        assert db.session.scalar(select(Photo.sha256)) == hashlib.sha256(PHOTO).hexdigest()
    cases = [(f"http://{media_host}/redirect.jpg", 400),  # a redirect could lead off the list
             (f"http://localhost:{media_host.split(':')[1]}/photo.jpg", 400),  # same server, another name
             (f"ftp://{media_host}/photo.jpg", 400),
             (f"http://{media_host}:x/photo.jpg", 400),
             (f"http://{media_host}/broken.jpg", 415)]  # fetched, then refused by the photo checks
    for url, status in cases:
        r = o311_post(anon_http, spot, fmt, media=False, api_key=key, media_url=url)
        assert r.status_code == status, (url, r.text)
        [(code, description)] = errors_of(r, fmt)
        assert code == status and ("media" in description or status == 415)
    assert MediaServer.seen == ["/photo.jpg", "/redirect.jpg", "/broken.jpg"]


def test_a_media_url_larger_than_a_photo_may_be_is_413(app, anon_http, spot, accounts, media_host):
    app.config["OPEN311_MEDIA_HOSTS"] = frozenset({media_host})
    limit = app.config["MAX_PHOTO_BYTES"]
    app.config["MAX_PHOTO_BYTES"] = len(PHOTO) - 1
    try:
        r = o311_post(anon_http, spot, media=False, api_key=accounts["vol"]["token"],
                      media_url=f"http://{media_host}/photo.jpg")
    finally:
        app.config["MAX_PHOTO_BYTES"] = limit
    assert r.status_code == 413 and errors_of(r, "json")[0][0] == 413
