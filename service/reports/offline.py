"""The installable report app: its web app manifest, its icons and the service worker that opens /report with no
signal and sends waiting reports when the network returns (static/sw.js, static/outbox.js).

The worker is served from the root (/sw.js) so its scope covers /report. Its first line names the files it
precaches and a version: a hash over those files' bytes, the page's template, the categories and the worker
itself, so any change to what it serves makes a new worker, which fills a new cache and deletes the old ones.
"""
import hashlib
import io
import json
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, url_for
from flask_babel import gettext as _
from PIL import Image, ImageDraw

from service.rules import categories

bp = Blueprint("offline", __name__)

THEME = "#c62828"
ICON_SIZES = (192, 512)
PRECACHE_STATIC = (
    "app.css", "easy.js", "coords.js", "outbox.js", "photo_prep.js", "report.js", "vendor/exifr/lite.umd.js",
    "vendor/leaflet/leaflet.js", "vendor/leaflet/leaflet.css", "vendor/leaflet/images/layers.png",
    "vendor/leaflet/images/layers-2x.png", "vendor/leaflet/images/marker-icon.png",
    "vendor/leaflet/images/marker-icon-2x.png", "vendor/leaflet/images/marker-shadow.png",
)
TEMPLATES = Path(__file__).parent / "templates" / "reports"


def shell() -> dict:
    """What the worker needs to know: the version, the page, the API, the outbox script and what to precache."""
    static = Path(current_app.static_folder)
    urls = [url_for("static", filename=name) for name in PRECACHE_STATIC]
    precache = [url_for("reports.report_form"), *urls, url_for("reports_api.list_categories"),
                url_for("offline.manifest"), *(url_for("offline.icon", size=s) for s in ICON_SIZES)]
    if "report_app_version" not in current_app.extensions:  # files change only with a release (a restart)
        current_app.extensions["report_app_version"] = _version(static)
    return {"version": current_app.extensions["report_app_version"], "page": url_for("reports.report_form"),
            "api": url_for("reports_api.create_report"), "outbox": url_for("static", filename="outbox.js"),
            "precache": precache}


def _version(static: Path) -> str:
    digest = hashlib.sha256()
    for path in [static / name for name in (*PRECACHE_STATIC, "sw.js")] + sorted(TEMPLATES.glob("*.html")):
        digest.update(path.read_bytes())
    digest.update(json.dumps(categories.as_json(), sort_keys=True).encode())
    return digest.hexdigest()[:16]


@bp.get("/sw.js")
def service_worker():
    """Serve the service worker at the root scope, with this release's version and precache list."""
    body = f"self.HAZARD_SW = {json.dumps(shell())};\n" + (Path(current_app.static_folder) / "sw.js").read_text()
    response = Response(body, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"  # the browser checks for a new release on every visit
    return response


@bp.get("/manifest.webmanifest")
def manifest():
    """Describe the installable app: a Chinese name, icons, the theme and /report as the start page."""
    body = {
        "name": _("火患随手拍"), "short_name": _("火患随手拍"), "description": _("随手拍下火灾隐患，有无网络都能上报"),
        "lang": "zh-CN", "start_url": url_for("reports.report_form"), "scope": "/", "display": "standalone",
        "background_color": "#ffffff", "theme_color": THEME,
        "icons": [{"src": url_for("offline.icon", size=s), "sizes": f"{s}x{s}", "type": "image/png",
                   "purpose": "any maskable"} for s in ICON_SIZES],
    }
    return Response(json.dumps(body, ensure_ascii=False), mimetype="application/manifest+json")


@bp.get("/icons/<int:size>.png")
def icon(size: int):
    if size not in ICON_SIZES:
        abort(404)
    response = Response(icon_png(size), mimetype="image/png")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


@lru_cache(maxsize=len(ICON_SIZES))
def icon_png(size: int) -> bytes:
    """Draw the app icon: a white flame on the theme red, inside the central safe zone of a maskable icon."""
    img = Image.new("RGB", (size, size), THEME)
    draw = ImageDraw.Draw(img)
    u = size / 100  # drawn on a 100-unit grid
    draw.ellipse([30 * u, 40 * u, 70 * u, 80 * u], fill="#ffffff")
    draw.polygon([(30.5 * u, 58 * u), (50 * u, 18 * u), (69.5 * u, 58 * u)], fill="#ffffff")
    draw.ellipse([41 * u, 58 * u, 59 * u, 76 * u], fill="#ffb300")
    draw.polygon([(41.3 * u, 66 * u), (50 * u, 45 * u), (58.7 * u, 66 * u)], fill="#ffb300")
    buf = io.BytesIO()
    img.save(buf, "PNG", optimize=True)
    return buf.getvalue()
