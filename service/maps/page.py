"""Supervisors' fire-hazard map: a folium shell, with the data shipped as inert JSON.

Why the data never passes through folium: branca wraps every rendered macro
(popups, tooltips, GeoJSON, options) in a new ``Element`` whose string is a
Jinja *template*, rendered a second time.  Any report description, committee
name or file property placed in a folium element therefore becomes template
source, and ``{{ ... }}`` in it runs on the server.  So folium builds only the
shell (map, tile layer, vendored Leaflet, scale) from our own constants and
operator settings, each checked by ``inert()``; the filter, tile URLs and
labels are serialised with ``json.dumps`` into a ``<script
type="application/json">`` block spliced into the page *after* rendering.
``static/map.js`` draws the reports and committees from vector tiles
(maps/vector_tiles.py) and fills popups from the JSON API on demand, with DOM
text nodes (never ``innerHTML``).  The page's size does not depend on how
many reports there are.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable

import folium
from flask_babel import get_locale
from flask_babel import gettext as _
from folium.template import Template

from service.core.tiles import PROVIDERS, TileSource
from service.rules.workflow import STATUS_LABELS

# Red means overdue and nothing else (issue 23): a single report past its deadline is drawn OVERDUE_COLOUR
# whatever its status; the statuses' own colours leave red out.
OVERDUE_COLOUR = "#c62828"
STATUS_COLOURS: dict[str, str] = {
    "submitted": "#f9a825",
    "accepted": "#6d4c41",
    "rejected": "#757575",
    "duplicate": "#b0bec5",
    "dispatched": "#8e24aa",
    "rectifying": "#1e88e5",
    "rectified": "#00897b",
    "verified": "#43a047",
    "transferred": "#3949ab",
}
UNKNOWN_COLOUR = "#000000"
# A cluster's fill: the share of its reports overdue ([from share, colour], the first class is exactly 0).
CLUSTER_SHADES = [[0, "#546e7a"], [0.000001, "#ef6c00"], [0.5, OVERDUE_COLOUR]]
# A committee's fill: none open, open but none overdue, then by its overdue count ([from overdue, colour]).
COMMITTEE_NONE, COMMITTEE_OPEN = "#eceff1", "#fff3c4"
COMMITTEE_OVERDUE = [[1, "#ffcdd2"], [5, "#ef9a9a"], [20, "#e57373"], [100, "#d32f2f"]]

DEFAULT_CENTER = (31.112, 121.381)  # Minhang district, (lat, lon)
LEAFLET_JS = "vendor/leaflet/leaflet.js"
LEAFLET_CSS = "vendor/leaflet/leaflet.css"
MAP_SCRIPTS = ("vendor/leaflet.vectorgrid/Leaflet.VectorGrid.bundled.min.js", "vendor/leaflet.heat/leaflet-heat.js",
               "map.js")
MAP_CSS = "map.css"
DATA_SLOT = "<!--hazard-map-data-->"  # replaced after rendering; never part of a template value

# branca's Figure template plus lang="zh-CN", a <title>, the map in a <main> with its <h1> (for screen readers and
# axe's landmark rules), and the slot for the data block.
_PAGE_TEMPLATE = Template(
    "<!DOCTYPE html>\n"
    '<html lang="{{ this.lang }}">\n'
    "<head>\n"
    "    {{ this.header.render(**kwargs) }}\n"
    "    <title>{{ this.title|e }}</title>\n"
    "</head>\n"
    "<body>\n"
    '    <main class="hazard-map-page">\n'
    '    <h1 class="visually-hidden">{{ this.title|e }}</h1>\n'
    "    {{ this.html.render(**kwargs) }}\n"
    "    </main>\n"
    "</body>\n"
    "<script>\n"
    "    {{ this.script.render(**kwargs) }}\n"
    "</script>\n"
    + DATA_SLOT + "\n"
    "</html>\n"
)

_JINJA_DELIMITERS = re.compile(r"\{[{%#]|[}%#]\}")
# folium's viewport forbids pinch zoom (maximum-scale=1, user-scalable=no); people who need 200% must have it.
_VIEWPORT = re.compile(r'<meta name="viewport"[^>]*>')
ZOOMABLE_VIEWPORT = '<meta name="viewport" content="width=device-width, initial-scale=1">'


def inert(text: str) -> str:
    """Return text unchanged if it may be handed to folium; refuse anything Jinja would evaluate.

    Every string that reaches a folium/branca element goes through here.  Only our own
    constants, translations and operator settings do: user and file data never do.
    """
    if _JINJA_DELIMITERS.search(text):
        raise ValueError(f"refusing template delimiters in a map setting: {text!r}")
    return text


def script_json(value: object) -> str:
    """JSON safe inside a <script> element: no '<', '>', '&' or line separators left literal."""
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(raw, escaped)
    return text


def labels() -> dict:
    return {
        "reports": _("隐患上报"), "areas": _("居村委边界"), "legend": _("隐患状态"),
        "category": _("类别"), "status": _("状态"), "committee": _("居村委"), "created": _("上报时间"),
        "code": _("代码"), "photo": _("现场照片"), "detail": _("查看详情"), "bad_row": _("此条记录无法显示"),
        "open": _("未办结"), "overdue": _("已逾期"), "count": _("隐患数"), "zoom_in": _("放大查看"),
        "loading": _("加载中…"), "load_failed": _("加载失败，请稍后重试。"), "filter": _("筛选"),
        "all": _("全部"), "closed": _("已办结"), "risk": _("风险等级"), "since": _("起始日期"),
        "until": _("截止日期"), "apply": _("应用筛选"), "only_overdue": _("只看逾期"),
        "heat": _("热力图"), "towns": _("街镇边界"), "choropleth": _("居村委：逾期隐患数"),
        "singles": _("单条隐患：按状态着色"), "clusters": _("聚合点：大小为隐患数，颜色为逾期占比"),
        "no_overdue": _("无逾期"), "some_overdue": _("逾期不足一半"), "most_overdue": _("逾期过半"),
        "no_open": _("无未办结"), "open_only": _("有未办结、无逾期"), "committee_list": _("查看本居村委隐患清单"),
        "sizes": _("隐患数"),
    }


def _new_map(static_url: Callable[[str], str], center, zoom: int) -> folium.Map:
    """A folium Map that references only the vendored Leaflet and a zh-CN page shell."""
    fmap = folium.Map(location=center, zoom_start=zoom, tiles=None, control_scale=True)
    # Instance attributes: Map.add_js_link() would mutate the class-level lists.
    fmap.default_js = [("leaflet", inert(static_url(LEAFLET_JS)))]
    fmap.default_css = [("leaflet_css", inert(static_url(LEAFLET_CSS))), ("hazard_map_css", inert(static_url(MAP_CSS)))]
    figure = fmap.get_root()
    figure._template = _PAGE_TEMPLATE
    figure.title = inert(_("火患地图"))
    figure.lang = "en" if str(get_locale()) == "en" else "zh-CN"
    return fmap


class _FitBounds(folium.MacroElement):
    """A non-animated fitBounds (folium's FitBounds animates, so tiles of the start view get fetched)."""

    _template = Template(
        "{% macro script(this, kwargs) %}\n"
        "{{ this._parent.get_name() }}.fitBounds({{ this.bounds|tojavascript }},"
        ' {"padding": [20, 20], "maxZoom": 17, "animate": false});\n'
        "{% endmacro %}"
    )

    def __init__(self, bounds: list[list[float]]):
        super().__init__()
        self._name = "FitBounds"
        self.bounds = [[float(v) for v in corner] for corner in bounds]  # numbers only


def render_map(
    config: dict,
    *,
    static_url: Callable[[str], str],
    bases: dict[str, TileSource] | None = None,
    fit: list[list[float]] | None = None,
    center: tuple[float, float] | None = None,
    zoom: int = 11,
    scripts: tuple[str, ...] = MAP_SCRIPTS,
    after: str = "",
) -> str:
    """Return the full HTML page of the supervisors' map; `config` is what map.js needs, shipped as JSON.

    `scripts` draw the data; `after` is HTML already escaped by Jinja, placed after the data block, where
    no inline script is allowed by hash.
    """
    start = center or (((fit[0][0] + fit[1][0]) / 2, (fit[0][1] + fit[1][1]) / 2) if fit else DEFAULT_CENTER)
    fmap = _new_map(static_url, [float(v) for v in start], int(zoom))
    if fit is not None and center is None:
        _FitBounds(fit).add_to(fmap)
    # Added after fitting so the first tile requests are already for the fitted view. The first base map is shown;
    # map.js offers the others in its layer control and redraws the data in the system of the one shown.
    bases = bases or {"wgs84": PROVIDERS["osm"]}
    names = {"wgs84": _("标准底图"), "gcj02": _("高德地图")}
    layers = []
    for index, (key, tiles) in enumerate(bases.items()):
        layer = folium.TileLayer(tiles=inert(tiles.url), attr=inert(str(tiles.attribution)),
                                 name=inert(str(names.get(key, key))), max_zoom=19, control=False, show=index == 0)
        layer.add_to(fmap)
        layers.append([layer.get_name(), str(names.get(key, key)), tiles.crs])
    page = _VIEWPORT.sub(ZOOMABLE_VIEWPORT, fmap.get_root().render(), count=1)
    data = script_json({"map": fmap.get_name(), "bases": layers, "labels": labels(),
                        "legend": [[str(STATUS_LABELS[s]), c] for s, c in STATUS_COLOURS.items()],
                        "colours": STATUS_COLOURS, "overdueColour": OVERDUE_COLOUR, "clusterShades": CLUSTER_SHADES,
                        "committeeShades": {"none": COMMITTEE_NONE, "open": COMMITTEE_OPEN,
                                            "overdue": COMMITTEE_OVERDUE}, **config})
    block = (f'<script type="application/json" id="hazard-map-data">{data}</script>\n'
             + "".join(f'<script src="{html.escape(static_url(js))}"></script>' for js in scripts) + after)
    head, slot, tail = page.partition(DATA_SLOT)
    assert slot, "the page template lost its data slot"
    return head + block + tail
