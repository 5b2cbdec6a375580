"""What the supervisors' map draws, measured in Chromium: the report symbols in view, how many overlap another by
more than a quarter of their area, and how many are cut at the edge of their tile (tests and bench/map.py)."""
from __future__ import annotations

import math
from dataclasses import dataclass

MAP = "window[document.querySelector('.folium-map').id]"
OVERLAP_SHARE = 0.25  # a symbol "overlaps" when another covers more than this share of its area
# Every report symbol in view: its circle (centre, radius with half the stroke) and the box of the SVG tile it is
# drawn in, which clips it. VectorGrid draws each tile as its own <svg>.
SYMBOLS_JS = """() => {
  const view = document.querySelector('.folium-map').getBoundingClientRect(), out = [];
  for (const path of document.querySelectorAll('path.hazard-report, path.hazard-cluster')) {
    const box = path.getBoundingClientRect(), svg = path.ownerSVGElement.getBoundingClientRect();
    const x = box.left + box.width / 2, y = box.top + box.height / 2;
    if (!box.width || x < view.left || x > view.right || y < view.top || y > view.bottom) continue;
    const stroke = parseFloat(path.getAttribute('stroke-width') || '0');
    out.push({x: x, y: y, r: box.width / 2 + stroke / 2, tile: [svg.left, svg.top, svg.right, svg.bottom],
              cluster: path.classList.contains('hazard-cluster')});
  }
  return out;
}"""


@dataclass
class Drawn:
    symbols: int
    clusters: int
    overlapping: int  # symbols another one covers by more than OVERLAP_SHARE of their area
    pairs: int  # pairs of symbols overlapping by more than OVERLAP_SHARE of the smaller one
    cut: int  # symbols reaching past the edge of their tile by more than half a pixel

    @property
    def share(self) -> float:
        return self.overlapping / self.symbols if self.symbols else 0.0


def lens(a: dict, b: dict) -> float:
    """The area two circles share."""
    d, r, s = math.hypot(a["x"] - b["x"], a["y"] - b["y"]), a["r"], b["r"]
    if d >= r + s:
        return 0.0
    if d <= abs(r - s):
        return math.pi * min(r, s) ** 2
    alpha = math.acos((d * d + r * r - s * s) / (2 * d * r))
    beta = math.acos((d * d + s * s - r * r) / (2 * d * s))
    return r * r * (alpha - math.sin(2 * alpha) / 2) + s * s * (beta - math.sin(2 * beta) / 2)


def measure(symbols: list[dict]) -> Drawn:
    over, pairs = set(), 0
    for i, a in enumerate(symbols):
        for j in range(i + 1, len(symbols)):
            b = symbols[j]
            shared = lens(a, b)
            if not shared:
                continue
            area_a, area_b = math.pi * a["r"] ** 2, math.pi * b["r"] ** 2
            if shared > OVERLAP_SHARE * area_a:
                over.add(i)
            if shared > OVERLAP_SHARE * area_b:
                over.add(j)
            pairs += shared > OVERLAP_SHARE * min(area_a, area_b)
    cut = sum(1 for s in symbols if s["x"] - s["r"] < s["tile"][0] - 0.5 or s["x"] + s["r"] > s["tile"][2] + 0.5
              or s["y"] - s["r"] < s["tile"][1] - 0.5 or s["y"] + s["r"] > s["tile"][3] + 0.5)
    return Drawn(len(symbols), sum(s["cluster"] for s in symbols), len(over), pairs, cut)


def settle(page) -> None:
    """Wait until the tiles of the view are in (no layer of the map still loading, however slow the machine) and
    Leaflet has dropped the previous zoom's."""
    page.wait_for_load_state("networkidle")
    page.wait_for_function(f"() => {{ let busy = false; {MAP}.eachLayer(l => {{ if (l.isLoading && l.isLoading())"
                           " busy = true; }); return !busy; }")
    page.wait_for_timeout(400)


def drawn_now(page) -> Drawn:
    settle(page)
    return measure(page.evaluate(SYMBOLS_JS))


def drawn_at(page, zooms, centre: tuple[float, float] | None = None):
    """(zoom, Drawn) at each zoom (None: the opening view), around the opening view's centre or (lat, lon)."""
    settle(page)
    if centre is None:
        centre = tuple(page.evaluate(f"() => {{ const c = {MAP}.getCenter(); return [c.lat, c.lng]; }}"))
    for z in zooms:
        if z is not None:
            page.evaluate(f"() => {MAP}.setView([{centre[0]}, {centre[1]}], {z}, {{animate: false}})")
        yield page.evaluate(f"() => {MAP}.getZoom()"), drawn_now(page)
