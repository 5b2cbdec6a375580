"""Every page works under its Content-Security-Policy in Chromium, and the policy really blocks inline script."""
import pytest

from tests.support.browser import assert_clean
from tests.support.csp_browser import RECORD_VIOLATIONS
from tests.support.pages_browser import create_report

INJECT_INLINE = """() => {
  const s = document.createElement('script');
  s.textContent = 'window.__injected = 1';
  document.head.appendChild(s);
  return new Promise(r => setTimeout(() => r(window.__injected === 1), 200));
}"""


def _visit(open_page, path, who, accounts):
    headers = {"Authorization": f"Bearer {accounts[who]['token']}"} if who else {}
    page, log = open_page(path, extra_http_headers=headers)
    page.add_init_script(RECORD_VIOLATIONS)
    page.reload(wait_until="load")
    page.wait_for_timeout(300)  # maps draw and fetch after load
    return page, log


@pytest.mark.browser
def test_no_page_is_broken_by_the_policy_and_injected_script_is_blocked(open_page, http, spot, accounts):
    report = create_report(http, spot["lon"], spot["lat"], "楼道堆放杂物", "combustibles")
    pages = [("/report", None), ("/login", None), ("/me/reports", "vol"), ("/inbox", "staff_a"),
             ("/queues", "sup_a"), (f"/reports/{report['id']}", "sup_a"), ("/map", "admin")]
    for path, who in pages:
        page, log = _visit(open_page, path, who, accounts)
        assert page.evaluate("() => window.__csp") == [], path
        assert_clean(log)
        assert page.evaluate(INJECT_INLINE) is False, path  # the control: an injected inline script is refused
        assert page.evaluate("() => window.__csp.length") == 1, path
    map_page, _ = _visit(open_page, "/map", "admin", accounts)
    assert map_page.locator("path.leaflet-interactive").count() > 0  # folium's inline shell script ran
