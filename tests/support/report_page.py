"""Helpers first written for tests/browser/test_report_page.py, now shared by several test modules."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.support.browser import is_report_api, located
from tests.support.live import PASSWORD

SAVED_OFFLINE = "已保存在本机，联网后自动发送"


RETRY_WAIT_MS = 20_000  # how long the page may take to resend once it is back online


FIRST_BACKOFF_MS = 5_000  # static/outbox.js RETRY_DELAYS_MS[0]


def api_posts(page) -> list[str]:
    """Start recording the page's requests to the report API; returns the live list."""
    posts: list[str] = []
    page.on("request", lambda r: is_report_api(r.url) and r.method == "POST" and posts.append(r.url))
    return posts


def volunteer_on_report_page(open_page, live_server, accounts, spot):
    """A volunteer signed in by cookie, on /report with a GPS fix: (page, log)."""
    page, log = open_page("/login", **located(spot))
    page.fill("#phone", accounts["vol"]["phone"])
    page.fill("#password", PASSWORD)
    page.click("#login")
    expect(page.locator("#logout")).to_be_visible()
    page.goto(live_server + "/report")
    expect(page.locator("#geo-status")).to_contain_text("已定位")
    return page, log

