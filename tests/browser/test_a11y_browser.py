"""Accessibility as a test: axe-core in Chromium on every HTML page of the app, signed out and signed in, and no
sideways scrolling at 200% zoom (a 1000 px window is 500 CSS px wide then).

The pages are found from the app's url_map: every GET route, with sample values for the arguments named in
SAMPLES, is fetched as each person in WHO; those that answer 200 text/html are checked. A route whose
arguments have no sample is skipped and named in a warning with the reason, so a page added later is
checked as soon as it needs no argument or its argument has a sample here.

axe-core comes from npm (package.json devDependencies) and is vendored into tests/vendor/ by
static/vendor.sh: it is never served to users. It is evaluated through the DevTools protocol, so the pages'
Content-Security-Policy stays as strict as in production.
"""
from __future__ import annotations

import warnings

import pytest
import requests

from tests.support.a11y_browser import AXE, BLOCKING, RUN_AXE, violations
from tests.support.browser import assert_clean
from tests.support.pages_browser import create_report

pytestmark = pytest.mark.browser

WHO = (None, "vol", "staff_a", "sup_a", "admin")  # signed out, then each role


def pages(app, samples: dict) -> tuple[list[str], list[str]]:
    """(paths to try, skipped routes with their reason) from the url_map."""
    paths, skipped = set(), []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        values = {}
        for arg in rule.arguments - set(rule.defaults or {}):
            converter = rule._converters[arg]
            if getattr(converter, "items", None):  # <any(a, b):fmt>: the first choice
                values[arg] = sorted(converter.items)[0]
            elif arg in samples:
                values[arg] = samples[arg]
        missing = sorted(rule.arguments - set(rule.defaults or {}) - set(values))
        if missing:
            skipped.append(f"{rule.rule}: no sample value for {', '.join(missing)}")
            continue
        with app.test_request_context():
            from flask import url_for

            paths.add(url_for(rule.endpoint, **values))
    return sorted(paths), skipped


def html_pages(live_server, accounts, paths) -> list[tuple[str, str | None]]:
    """(path, who) for each page that answers 200 HTML: signed out, and as the first role that may see it."""
    found = []
    for path in paths:
        signed_in = False
        for who in WHO:
            if who is not None and signed_in:
                break
            headers = {"Authorization": f"Bearer {accounts[who]['token']}"} if who else {}
            r = requests.get(live_server + path, headers=headers, timeout=30, allow_redirects=False)
            if r.status_code == 200 and r.headers.get("Content-Type", "").startswith("text/html"):
                found.append((path, who))
                signed_in = who is not None
    return found


def visit(open_page, path: str, who: str | None, accounts):
    headers = {"Authorization": f"Bearer {accounts[who]['token']}"} if who else {}
    page, log = open_page(path, extra_http_headers=headers)
    page.wait_for_timeout(300)  # maps draw after load
    return page, log


def scrolls_sideways_at_200_percent(page) -> bool:
    page.set_viewport_size({"width": 500, "height": 700})
    page.reload(wait_until="load")  # laid out at that width from the start, as charts size themselves on load
    page.wait_for_timeout(300)
    return page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth")


def test_every_page_has_no_serious_or_critical_violation(app, live_server, open_page, http, spot, accounts):
    report = create_report(http, spot["lon"], spot["lat"], "楼道堆放杂物", "combustibles")
    paths, skipped = pages(app, {"report_id": report["id"], "size": 192})
    for reason in skipped:
        warnings.warn(f"accessibility check skipped {reason}", stacklevel=1)
    checked = html_pages(live_server, accounts, paths)
    assert {"/report", "/login", "/map", "/queues", f"/reports/{report['id']}"} <= {p for p, _ in checked}
    assert {who for _, who in checked} >= {None, "admin"}  # signed out and signed in
    failures, wide = {}, []
    for path, who in checked:
        page, log = visit(open_page, path, who, accounts)
        if bad := [v for v in violations(page, path) if v["impact"] in BLOCKING]:
            failures[f"{path} as {who or 'nobody'}"] = bad
        if scrolls_sideways_at_200_percent(page):
            wide.append(f"{path} as {who or 'nobody'}")
        assert_clean(log)
        page.context.close()
    assert not failures, "\n".join(f"{page}: {v['impact']} {v['id']} at {v['nodes'][:3]}"
                                    for page, found in failures.items() for v in found)
    assert wide == []


def test_the_map_has_no_violation_at_all(open_page, accounts):
    page, log = visit(open_page, "/map", "admin", accounts)
    found = violations(page, "/map")
    assert_clean(log)
    assert not found, "\n".join(f"{v['impact']} {v['id']} at {v['nodes'][:3]}" for v in found)


def test_the_report_page_has_no_violation_in_large_text_mode(open_page, accounts):
    page, log = open_page("/report")
    page.click("#easy-toggle")
    page.evaluate(AXE.read_text())
    assert page.evaluate(RUN_AXE, None) == []
    assert_clean(log)
