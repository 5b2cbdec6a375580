"""The boundary import page in Chromium: preview draws the changed ground on the folium map under the page's
CSP, the file's text stays text, and confirming with the same file imports it."""
import pytest

from service.areas import boundaries
from service.core.db import db
from tests.support.browser import assert_clean
from tests.support.csp_browser import RECORD_VIOLATIONS


@pytest.mark.browser
def test_preview_map_then_confirm(app, open_page, accounts, files):  # noqa: F811
    data, _renamed = files
    upload = {"name": "committees.geojson", "mimeType": "application/geo+json", "buffer": data}
    bearer = {"Authorization": f"Bearer {accounts['admin']['token']}"}
    page, log = open_page("/admin/boundaries", extra_http_headers=bearer)
    page.add_init_script(RECORD_VIOLATIONS)
    page.set_input_files("#import-form input[name=file]", upload)
    page.click("#preview")
    page.wait_for_selector("path.changed-region")
    assert page.locator("path.changed-region").count() >= 2  # the two committees that traded polygons
    assert page.evaluate("() => window.__csp") == []
    assert page.locator("#nothing-written").is_visible() and page.locator("#moved").inner_text() == "0"
    assert "{{ 7*7 }}<script>alert(1)</script>" in page.locator("#changes").inner_text()  # shown as text
    with app.app_context():
        generation = boundaries.current_generation("committee")
    page.set_input_files("#confirm-form input[name=file]", upload)
    page.click("#confirm")
    page.wait_for_url("**/admin/boundaries")
    assert "已导入为第" in page.locator("main").inner_text()
    with app.app_context():
        assert boundaries.current_generation("committee") == generation + 1
        db.session.rollback()
    assert_clean(log)
