"""Helpers first written for tests/browser/test_workflow_browser.py, now shared by several test modules."""
from playwright.sync_api import expect

from tests.support.images import jpeg
from tests.support.live import PASSWORD


def signed_in(open_page, accounts, who, landing, **options):
    page, log = open_page("/login", **options)
    page.fill("#phone", accounts[who]["phone"])
    page.fill("#password", PASSWORD)
    page.click("#login")
    expect(page.locator("h1")).to_have_text(landing)
    return page, log


def after_photo(tmp_path, name="after.jpg"):
    path = tmp_path / name
    path.write_bytes(jpeg(size=(800, 600), colour=(40, 160, 40)))
    return path

