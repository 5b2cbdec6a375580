"""The installable report app over real HTTP: the manifest, its icons, and the service worker's version and list."""
import io
import json
import shutil

from PIL import Image

from service.reports import offline


def test_manifest_names_the_app_in_chinese_and_starts_at_the_report_page(anon_http):
    r = anon_http.get("/manifest.webmanifest")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/manifest+json")
    manifest = r.json()
    assert manifest["name"] == "火患随手拍" and manifest["lang"] == "zh-CN"
    assert manifest["start_url"] == "/report" and manifest["display"] == "standalone"
    assert manifest["theme_color"] == offline.THEME
    for icon in manifest["icons"]:
        png = anon_http.get(icon["src"])
        assert png.status_code == 200 and png.headers["Content-Type"] == "image/png"
        assert Image.open(io.BytesIO(png.content)).size == tuple(map(int, icon["sizes"].split("x")))
    assert {i["sizes"] for i in manifest["icons"]} == {"192x192", "512x512"}
    assert anon_http.get("/icons/64.png").status_code == 404
    page = anon_http.get("/report").text
    assert '<link rel="manifest" href="/manifest.webmanifest">' in page


def worker_shell(text: str) -> dict:
    first, _, _rest = text.partition("\n")
    assert first.startswith("self.HAZARD_SW = ") and first.endswith(";")
    return json.loads(first[len("self.HAZARD_SW = "):-1])


def test_service_worker_is_served_at_the_root_with_its_precache_list(anon_http):
    r = anon_http.get("/sw.js")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/javascript")
    assert r.headers["Cache-Control"] == "no-cache"
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]  # importScripts of our own file only
    shell = worker_shell(r.text)
    assert shell["page"] == "/report" and shell["api"] == "/api/v1/reports"
    assert {"/report", "/static/report.js", "/static/outbox.js", "/static/photo_prep.js", "/static/app.css",
            "/static/vendor/leaflet/leaflet.js", "/static/vendor/exifr/lite.umd.js", "/api/v1/categories",
            "/manifest.webmanifest"} <= set(shell["precache"])
    for url in shell["precache"]:  # install fails as a whole if any of them does
        assert anon_http.get(url).status_code == 200, url


def test_the_version_changes_when_a_precached_file_does(app, tmp_path):
    static = tmp_path / "static"
    shutil.copytree(app.static_folder, static)
    with app.test_request_context():
        before = offline._version(static)
        assert offline._version(static) == before
        with open(static / "report.js", "a") as f:
            f.write("\n// a new release\n")
        assert offline._version(static) != before
