"""Benchmark the report page on a weak 3G link: a 3-photo report sent full size and shrunk on the phone, side by side.

Debian's Chromium (Playwright) opens /report on a live server (Flask's threaded server over a scratch PostGIS
database with the demo district). Before 提交 the page's link is throttled through the DevTools protocol
(Network.emulateNetworkConditions: --up-kbps up, --down-kbps down, --latency-ms each way). Three 12 MP camera-like
JPEGs (tests.support.images.camera_photo: a busy scene under sensor noise, ~3.5 MB each, EXIF GPS and time) are
picked in one go, the category chosen and 提交 clicked; the time runs from the click to the receipt on the page.
A WSGI meter counts the bytes of the report POSTs each way (bodies, without HTTP headers). Then, with the network
cut off for the page and its service worker, the page is reloaded and must open from the worker's cache.

Targets (issue 15): >= 5x fewer bytes up when shrunk, a 3-photo report in <= 30 s on that link, and the page
opening offline after one visit.
"""
import argparse
import os
import secrets
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from playwright.sync_api import expect, sync_playwright
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from bench.assign import drop_database
from bench.intake import setup_database
from service import create_app
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS
from tests.support.images import camera_photo

BENCH_DB = "hazard_snap_bench_field"
PRIVATE_URL = f"postgresql+psycopg://postgres@127.0.0.1:5439/{BENCH_DB}"
GOAL_BYTES, GOAL_SECONDS = 5.0, 30.0
TIMEOUT_MS = 600_000  # a full-size report takes minutes on the link


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", PRIVATE_URL),
                   help="scratch DB, dropped and recreated; name must contain 'bench' (default %(default)s)")
    p.add_argument("--up-kbps", type=float, default=750.0, help="uplink, kbit/s (default %(default)s)")
    p.add_argument("--down-kbps", type=float, default=1600.0, help="downlink, kbit/s (default %(default)s)")
    p.add_argument("--latency-ms", type=float, default=300.0, help="added latency (default %(default)s)")
    p.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    return p.parse_args(argv)


class Meter:
    """WSGI middleware counting the bytes of report POSTs: request bodies up, response bodies down."""

    def __init__(self, app):
        self.app, self.up, self.down = app, 0, 0

    def __call__(self, environ, start_response):
        if environ["PATH_INFO"] != "/api/v1/reports" or environ["REQUEST_METHOD"] != "POST":
            return self.app(environ, start_response)
        self.up += int(environ.get("CONTENT_LENGTH") or 0)
        body = list(self.app(environ, start_response))
        self.down += sum(map(len, body))
        return body

    def reset(self) -> None:
        self.up = self.down = 0


def throttle(page, args) -> None:
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": args.latency_ms,
        "uploadThroughput": args.up_kbps * 1000 / 8, "downloadThroughput": args.down_kbps * 1000 / 8})


def send_report(browser, base: str, spot: tuple[float, float], photos: list[Path], args) -> tuple[float, object]:
    """Send one 3-photo report on the throttled link; return the seconds from 提交 to the receipt and the page."""
    context = browser.new_context(locale="zh-CN", permissions=["geolocation"],
                                  geolocation={"longitude": spot[0], "latitude": spot[1], "accuracy": 15})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto(base + "/report", wait_until="load")
    expect(page.locator("#geo-status")).to_contain_text("已定位")
    throttle(page, args)
    page.set_input_files("#photo", [str(p) for p in photos])
    expect(page.locator("#preview img")).to_have_count(len(photos))
    page.select_option("#category", "ebike_charging")
    start = time.perf_counter()
    page.click("#submit")
    page.locator("#receipt").wait_for(state="visible")
    return time.perf_counter() - start, page


def opens_offline(page) -> tuple[bool, float]:
    """Cut the network for the page and its worker, reload, and tell whether the worker's cache served the page."""
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=60_000)
    page.context.new_cdp_session(page).send("Network.emulateNetworkConditions", {
        "offline": True, "latency": 0, "uploadThroughput": -1, "downloadThroughput": -1})
    page.context.set_offline(True)
    start = time.perf_counter()
    response = page.reload(wait_until="load")
    seconds = time.perf_counter() - start
    ok = response is not None and response.ok and response.from_service_worker and page.evaluate(
        "() => typeof HazardOutbox === 'function' && typeof L === 'object'")
    return bool(ok), seconds


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rows = {}
    try:
        points, pg = setup_database(args.database_url)
        spot = points[0]
        with tempfile.TemporaryDirectory(prefix="bench-field-") as tmp:
            taken = datetime.now(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None, microsecond=0)
            photos = []
            for seed in range(3):
                path = Path(tmp) / f"IMG_{seed:04d}.jpg"
                path.write_bytes(camera_photo(seed, gps=spot, taken_at=taken))
                photos.append(path)
            sizes = [p.stat().st_size for p in photos]
            app = create_app({"SQLALCHEMY_DATABASE_URI": args.database_url, "PHOTO_DIR": str(Path(tmp) / "store"),
                              "SECRET_KEY": secrets.token_hex(32), "PUBLIC_REPORTS_PER_MINUTE": 1000})
            meter = Meter(app.wsgi_app)
            app.wsgi_app = meter
            server = make_server("127.0.0.1", 0, app, threaded=True)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            base = f"http://127.0.0.1:{server.server_port}"
            print(f"{make_url(args.database_url).database}: {pg}, demo district; link {args.up_kbps:g} kbit/s up, "
                  f"{args.down_kbps:g} kbit/s down, {args.latency_ms:g} ms; photos 3 x 4000x3000 JPEG q92 "
                  f"({', '.join(f'{s / 2**20:.2f}' for s in sizes)} MB)")
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                for name, resize in (("full size", False), ("shrunk on the phone", True)):
                    app.config["PHONE_RESIZE"] = resize
                    meter.reset()
                    seconds, page = send_report(browser, base, spot, photos, args)
                    rows[name] = (seconds, meter.up, meter.down)
                    if resize:
                        offline, offline_s = opens_offline(page)
                    page.context.close()
                browser.close()
            server.shutdown()
    finally:
        if not args.keep:
            drop_database(args.database_url)
    print(f"\n{'upload':<22}{'提交 → receipt':>16}{'bytes up':>14}{'bytes down':>12}")
    for name, (seconds, up, down) in rows.items():
        print(f"{name:<22}{seconds:>14.1f} s{up:>14,}{down:>12,}")
    (full_s, full_up, full_down), (small_s, small_up, small_down) = rows.values()
    print(f"{'ratio full / shrunk':<22}{full_s / small_s:>15.1f}x{full_up / small_up:>13.1f}x"
          f"{full_down / small_down:>11.1f}x")
    print(f"page opens offline after one visit: {'yes' if offline else 'NO'} ({offline_s * 1000:.0f} ms, "
          "from the service worker's cache)")
    met = full_up / small_up >= GOAL_BYTES and small_s <= GOAL_SECONDS and offline
    print(f"targets: >= {GOAL_BYTES:g}x fewer bytes up, <= {GOAL_SECONDS:g} s shrunk, opens offline: "
          + ("met" if met else "NOT met"))
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
