"""Shared pieces of the browser tests: Debian's Chromium, an offline page log, small helpers."""
from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from tests.support.images import jpeg

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 10_000
XSS_IMG = "<img src=x onerror=alert(1)>"
COMMITTEES = 585  # the demo district (one polygon each)


@dataclass
class PageLog:
    """What a page did that a test may want to assert on."""

    errors: list[str] = field(default_factory=list)  # uncaught exceptions
    console: list[tuple[str, str]] = field(default_factory=list)  # (text, source url) of console errors
    dialogs: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)  # requests not to 127.0.0.1, aborted

    def console_errors(self, expected_url=lambda url: False) -> list[tuple[str, str]]:
        """Console errors other than those about a blocked request or an expected URL."""
        return [(text, url) for text, url in self.console if url not in self.blocked and not expected_url(url)]


def located(spot) -> dict:
    """Geolocation options putting the device at spot, 15 m accurate."""
    return {"geolocation": {"latitude": spot["lat"], "longitude": spot["lon"], "accuracy": 15},
            "permissions": ["geolocation"]}


def town_name(http, spot) -> str:
    found = http.get("/api/v1/areas/lookup", params={"lon": spot["lon"], "lat": spot["lat"]}).json()
    assert found["committee"]["code"] == spot["code"]
    return found["town"]["name"]


def listed_reports(http) -> list[dict]:
    resp = http.get("/api/v1/reports")
    assert resp.status_code == 200
    return resp.json()["reports"]


def photo_file(tmp_path, name="hazard.jpg", **kwargs) -> str:
    path = tmp_path / name
    path.write_bytes(jpeg(**kwargs))
    return str(path)


def assert_clean(log: PageLog, expected_url=lambda url: False) -> None:
    assert log.errors == []
    assert log.console_errors(expected_url) == []
    assert log.dialogs == []


def is_report_api(url: str) -> bool:
    return urlsplit(url).path == "/api/v1/reports"


