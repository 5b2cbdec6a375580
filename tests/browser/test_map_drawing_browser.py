"""The map stays legible at every zoom (issue 23), measured in Chromium on a district seeded densely enough to pile
up: every committee of the district holds reports. At each zoom from the opening view to z16 at most 5 % of the
drawn symbols overlap another by more than a quarter of their area, none is cut at its tile's edge, every colour
drawn is one the legend explains, and axe finds nothing serious. The symbols' geometry is in
tests/support/map_drawing.py.
"""
from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from bench.scale import SEED_SQL
from tests.support.a11y_browser import BLOCKING, violations
from tests.support.browser import COMMITTEES, assert_clean
from tests.support.map_drawing import MAP, SYMBOLS_JS, drawn_at, drawn_now, measure

DENSE_N = 30_000  # spread over the committees by area, at least one each: ~12,000 open, most of them overdue
ZOOMS = (None, 12, 13, 14, 15, 16)
MAX_OVERLAPPING = 0.05


@pytest.fixture
def dense(owner_engine) -> int:
    with owner_engine.begin() as conn:
        conn.execute(text(SEED_SQL), {"n": DENSE_N, "seed": 11})
        conn.execute(text("ANALYZE report"))
        return conn.execute(text("SELECT count(DISTINCT committee_id) FROM report")).scalar()


def admin_map(open_page, accounts, path: str = "/map"):
    return open_page(path, extra_http_headers={"Authorization": f"Bearer {accounts['admin']['token']}"})


def test_the_measure_sees_a_pile_and_a_cut():
    """The measure itself can fail: two symbols on one spot overlap, one past its tile's edge is cut."""
    tile = [0, 0, 256, 256]
    pile = [{"x": 100, "y": 100, "r": 12, "tile": tile, "cluster": True},
            {"x": 104, "y": 100, "r": 12, "tile": tile, "cluster": True},
            {"x": 250, "y": 40, "r": 12, "tile": tile, "cluster": False},
            {"x": 180, "y": 180, "r": 12, "tile": tile, "cluster": False}]
    drawn = measure(pile)
    assert (drawn.symbols, drawn.overlapping, drawn.pairs, drawn.cut) == (4, 2, 1, 1)
    assert drawn.share == 0.5


@pytest.mark.browser
def test_symbols_neither_pile_up_nor_get_cut_at_any_zoom(open_page, accounts, dense):
    assert dense == COMMITTEES  # every committee holds reports
    page, log = admin_map(open_page, accounts)
    seen = {}
    for z, drawn in drawn_at(page, ZOOMS):
        seen[z] = drawn
        assert drawn.symbols > 0, z
        assert drawn.share <= MAX_OVERLAPPING, (z, drawn)
        assert drawn.cut == 0, (z, drawn)
    opening = next(iter(seen.values()))
    assert opening.clusters == opening.symbols < COMMITTEES / 4  # aggregates, not one circle per committee
    assert len(seen) == len(ZOOMS)  # each zoom really reached (a clamped setView would repeat one)
    assert_clean(log)


@pytest.mark.browser
def test_every_colour_drawn_is_in_the_legend_and_overdue_is_red(open_page, accounts, dense):
    page, log = admin_map(open_page, accounts)
    legend = set(page.evaluate("() => Array.from(document.querySelectorAll('.hazard-legend i'),"
                               " i => getComputedStyle(i).backgroundColor)"))
    data = page.evaluate("() => JSON.parse(document.getElementById('hazard-map-data').textContent)")
    for z in (None, 14, 17):
        if z is not None:
            page.evaluate(f"() => {MAP}.setZoom({z}, {{animate: false}})")
        drawn_now(page)
        fills = page.evaluate("() => Array.from(document.querySelectorAll('path.hazard-report, path.hazard-cluster,"
                              " path.hazard-committee'), p => getComputedStyle(p).fill)")
        assert fills and set(fills) <= legend, (z, set(fills) - legend)
    page.evaluate(f"() => {MAP}.setZoom(12, {{animate: false}})")
    drawn_now(page)
    red = page.evaluate("(c) => { const d = document.createElement('i'); d.style.background = c;"
                        " document.body.appendChild(d); const v = getComputedStyle(d).backgroundColor; d.remove();"
                        " return v; }", data["overdueColour"])
    clusters = page.evaluate("() => Array.from(document.querySelectorAll('path.hazard-cluster'),"
                             " p => getComputedStyle(p).fill)")
    assert clusters.count(red) > len(clusters) / 2  # the seed's open reports are mostly past due: mostly red
    assert_clean(log)


@pytest.mark.browser
def test_a_click_on_a_cluster_zooms_to_it_and_axe_finds_nothing_serious(open_page, accounts, dense):
    page, log = admin_map(open_page, accounts)
    drawn_now(page)
    found = [v for v in violations(page, "/map") if v["impact"] in BLOCKING]
    assert not found, found
    before = page.evaluate(f"() => {MAP}.getZoom()")
    biggest = max(page.evaluate(SYMBOLS_JS), key=lambda s: s["r"])
    box = page.locator(".folium-map").bounding_box()
    point = [biggest["x"] - box["x"], biggest["y"] - box["y"]]
    clicked = page.evaluate(f"() => {MAP}.containerPointToLatLng({point})")
    page.mouse.click(biggest["x"], biggest["y"])
    page.wait_for_function(f"() => {MAP}.getZoom() === {before + 2}")
    centre = page.evaluate(f"() => {MAP}.getCenter()")  # the cluster is now in the middle of the view
    two_px = 2 * 360 / 2**before / 256  # of the zoom it was clicked at, in degrees
    assert abs(centre["lat"] - clicked["lat"]) < two_px and abs(centre["lng"] - clicked["lng"]) < two_px
    assert_clean(log)


@pytest.mark.browser
def test_a_click_on_a_committee_opens_its_list(open_page, accounts, spot):
    page, log = admin_map(open_page, accounts)
    page.evaluate(f"() => {MAP}.setView([{spot['lat']}, {spot['lon']}], 15, {{animate: false}})")
    drawn_now(page)
    at = page.evaluate(f"() => {MAP}.latLngToContainerPoint([{spot['lat']}, {spot['lon']}])")
    box = page.locator(".folium-map").bounding_box()
    page.mouse.click(box["x"] + at["x"], box["y"] + at["y"])
    link = page.locator(".leaflet-popup a.hazard-committee-list")
    assert re.search(rf"/queues\?committee={spot['code']}$", link.get_attribute("href"))
    with page.expect_navigation() as opened:
        link.click()
    assert opened.value.status == 200 and page.url.endswith(f"/queues?committee={spot['code']}")
    assert_clean(log)
