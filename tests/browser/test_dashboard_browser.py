"""The dashboard as a board, in Chromium on a seeded database: the first screen of a 1366x768 window holds the key
figures and two drawn charts without scrolling; on a 390 px phone the figures stack and nothing scrolls sideways;
the district board is at most four screens tall, a place's name never breaks a character a line, long tables
are paged, every chart has a text alternative, and axe-core finds nothing serious.

Set DASHBOARD_SHOTS=<folder> to keep the screenshots (dashboard-1366.png, dashboard-390.png, ...).
"""
import os
from pathlib import Path

import pytest

from tests.support.a11y_browser import AXE, BLOCKING, RUN_AXE
from tests.support.browser import assert_clean

pytestmark = pytest.mark.browser

FIGURES = ("open", "overdue", "on_time_rate", "median_hours", "new", "volunteers")
FIRST_CHARTS = ("hazards-ranking", "hazards-trend")


def _board(open_page, accounts, who: str, width: int, height: int):
    headers = {"Authorization": f"Bearer {accounts[who]['token']}"}
    page, log = open_page("/dashboard", extra_http_headers=headers)
    page.set_viewport_size({"width": width, "height": height})
    page.reload(wait_until="load")  # laid out at that size from the start, as the charts size themselves on load
    for chart in FIRST_CHARTS:
        page.wait_for_function("(id) => document.getElementById(id).dataset.drawn === '1'", arg=f"chart-{chart}")
    return page, log


def _shot(page, name: str) -> None:
    folder = os.environ.get("DASHBOARD_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / name), full_page=name.endswith("-full.png"))


def _within_first_screen(page, selector: str) -> bool:
    return page.evaluate("""(sel) => { const r = document.querySelector(sel).getBoundingClientRect();
        return r.width > 0 && r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight
               && r.left >= 0 && r.right <= window.innerWidth; }""", selector)


@pytest.mark.parametrize("who", ["admin", "sup_a"])
def test_the_first_screen_shows_the_figures_and_two_charts(who, seeded, open_page, accounts):  # noqa: F811
    page, log = _board(open_page, accounts, who, 1366, 768)
    _shot(page, f"dashboard-1366-{who}.png")
    assert page.evaluate("() => window.scrollY") == 0
    for key in FIGURES:
        figure = f'#key-figures [data-figure="{key}"]'
        assert _within_first_screen(page, figure), key
        value = page.locator(f"{figure} .figure-value")
        assert value.inner_text().strip() not in ("",), key
        assert float(value.evaluate("e => getComputedStyle(e).fontSize").removesuffix("px")) >= 28  # large
        assert "上月" in page.locator(f"{figure} .figure-change").inner_text()
    for chart in FIRST_CHARTS:
        assert _within_first_screen(page, f"#chart-{chart}"), chart
        assert page.locator(f"#chart-{chart} canvas").count() >= 1
    # The filters are one compact row: every field's top within one line of the first one.
    tops = page.eval_on_selector_all("#dashboard-filter label, #dashboard-filter button",
                                     "els => els.map(e => e.getBoundingClientRect().top)")
    assert max(tops) - min(tops) < 10, tops
    assert_clean(log)


def test_the_district_board_is_short_and_its_names_stay_whole(seeded, open_page, accounts):  # noqa: F811
    page, log = _board(open_page, accounts, "admin", 1366, 768)
    _shot(page, "dashboard-1366-admin-full.png")
    height = page.evaluate("() => document.documentElement.scrollHeight")
    assert height <= 4 * 768, height
    names = page.locator("#hazard-places tbody th[scope=row]")
    assert names.count() == len({r["town"] for r in seeded})
    for i in range(names.count()):  # one line each (江川路街道 as one line, not one character a line)
        box = names.nth(i).evaluate("e => ({h: e.getBoundingClientRect().height, lh: parseFloat("
                                    "getComputedStyle(e).lineHeight) || 24})")
        assert box["h"] < 2 * box["lh"] + 12, (i, box)
    # Each row still links to the list, the map and the queue.
    first = page.locator("#hazard-places tbody tr").first
    hrefs = first.locator("a").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    assert any(h.startswith("/api/v1/reports") for h in hrefs) and any(h.startswith("/map") for h in hrefs)
    assert any(h.startswith("/queues") for h in hrefs)
    assert_clean(log)


def test_a_long_table_is_paged(seeded, open_page, accounts):  # noqa: F811
    page, log = _board(open_page, accounts, "sup_a", 1366, 768)  # a town: one row per committee
    rows = page.locator("#hazard-places tbody tr")
    assert rows.count() > 15
    visible = page.locator("#hazard-places tbody tr:not([hidden])")
    assert visible.count() == 15
    pager = page.locator("#section-hazards .pager").first
    first_code = visible.first.get_attribute("data-code")
    pager.get_by_role("button", name="下一页").click()
    assert page.locator("#hazard-places tbody tr:not([hidden])").first.get_attribute("data-code") != first_code
    assert_clean(log)


def test_on_a_phone_the_figures_stack_and_nothing_scrolls_sideways(seeded, open_page, accounts):  # noqa: F811
    page, log = _board(open_page, accounts, "admin", 390, 844)
    _shot(page, "dashboard-390.png")
    lefts = page.eval_on_selector_all("#key-figures .figure", "els => els.map(e => e.getBoundingClientRect().left)")
    tops = page.eval_on_selector_all("#key-figures .figure", "els => els.map(e => e.getBoundingClientRect().top)")
    assert len(set(round(t) for t in tops)) >= 3 and len(set(round(x) for x in lefts)) <= 2  # two a row at most
    for fold in page.locator("details").all():  # opened, every table and chart included
        fold.evaluate("d => d.open = true")
    page.wait_for_timeout(300)
    _shot(page, "dashboard-390-full.png")
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    assert_clean(log)


def test_every_chart_has_a_text_alternative_and_axe_finds_nothing_serious(seeded, open_page, accounts):  # noqa: F811
    page, log = _board(open_page, accounts, "admin", 1366, 768)
    charts = page.locator(".chart")
    assert charts.count() >= 4
    data = page.evaluate("() => Object.values(JSON.parse(document.getElementById('dashboard-data').textContent)"
                         ".sections).flatMap(s => s.charts || [])")
    for chart in data:
        box = page.locator(f"#chart-{chart['id']}")
        assert box.get_attribute("role") == "img"
        label = box.get_attribute("aria-label")
        assert label.startswith(chart["title"]) and (not chart["labels"] or chart["labels"][0] in label)
        table = box.locator("xpath=following-sibling::details[1]//table")
        assert table.locator("tbody tr").count() == len(chart["labels"])
    for fold in page.locator("details").all():
        fold.evaluate("d => d.open = true")
    page.wait_for_timeout(300)
    page.evaluate(AXE.read_text())
    found = [v for v in page.evaluate(RUN_AXE, None) if v["impact"] in BLOCKING]
    assert not found, "\n".join(f"{v['impact']} {v['id']} at {v['nodes'][:3]}" for v in found)
    assert_clean(log)
