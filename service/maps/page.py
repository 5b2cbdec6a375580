"""Supervisors' fire-hazard map: a folium shell, with the data shipped as inert JSON.

Why the data never passes through folium: branca wraps every rendered macro
(popups, tooltips, GeoJSON, options) in a new ``Element`` whose string is a
Jinja *template*, rendered a second time.  Any report description, committee
name or file property placed in a folium element therefore becomes template
source, and ``{{ ... }}`` in it runs on the server.  So folium builds only the
shell (map, tile layer, vendored Leaflet, scale) from our own constants and
operator settings, each checked by ``inert()``; the reports, boundaries and
labels are serialised with ``json.dumps`` into a ``<script
type="application/json">`` block spliced into the page *after* rendering, and
``static/map.js`` draws them with DOM text nodes (never ``innerHTML``).
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Callable, Iterator

import folium
from flask_babel import get_locale
from flask_babel import gettext as _
from folium.template import Template

from service.maps.tiles import PROVIDERS, TileSource
from service.reports.workflow import STATUS_LABELS

STATUS_COLOURS: dict[str, str] = {
    "submitted": "#e53935",
    "accepted": "#fb8c00",
    "rejected": "#757575",
    "duplicate": "#b0bec5",
    "dispatched": "#8e24aa",
    "rectifying": "#1e88e5",
    "rectified": "#00897b",
    "verified": "#43a047",
}
UNKNOWN_COLOUR = "#000000"

DEFAULT_CENTER = (31.112, 121.381)  # Minhang district, (lat, lon)
LEAFLET_JS = "vendor/leaflet/leaflet.js"
LEAFLET_CSS = "vendor/leaflet/leaflet.css"
MAP_JS = "map.js"
MAP_CSS = "map.css"
DATA_SLOT = "<!--hazard-map-data-->"  # replaced after rendering; never part of a template value

# branca's Figure template plus lang="zh-CN", a <title>, and the slot for the data block.
_PAGE_TEMPLATE = Template(
    "<!DOCTYPE html>\n"
    '<html lang="{{ this.lang }}">\n'
    "<head>\n"
    "    {{ this.header.render(**kwargs) }}\n"
    "    <title>{{ this.title|e }}</title>\n"
    "</head>\n"
    "<body>\n"
    "    {{ this.html.render(**kwargs) }}\n"
    "</body>\n"
    "<script>\n"
    "    {{ this.script.render(**kwargs) }}\n"
    "</script>\n"
    + DATA_SLOT + "\n"
    "</html>\n"
)

_JINJA_DELIMITERS = re.compile(r"\{[{%#]|[}%#]\}")
_SAFE_URL = re.compile(r"^(?:https?://|/(?![/\\])|\./|\.\./)", re.IGNORECASE)  # "/\\x" is "//x" to a browser


def inert(text: str) -> str:
    """Return text unchanged if it may be handed to folium; refuse anything Jinja would evaluate.

    Every string that reaches a folium/branca element goes through here.  Only our own
    constants, translations and operator settings do: user and file data never do.
    """
    if _JINJA_DELIMITERS.search(text):
        raise ValueError(f"refusing template delimiters in a map setting: {text!r}")
    return text


def safe_url(url: object) -> str | None:
    """The URL if it is http(s) or same-site relative and free of control characters, else None."""
    text = "" if url is None else str(url).strip()
    if not _SAFE_URL.match(text) or re.search(r"[\x00-\x20\x7f]", text):
        return None
    return text


def script_json(value: object) -> str:
    """JSON safe inside a <script> element: no '<', '>', '&' or line separators left literal."""
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(raw, escaped)
    return text


def _iter_positions(coords: object) -> Iterator[tuple[float, float]]:
    """Yield (lat, lon) from nested GeoJSON coordinate arrays."""
    if (
        isinstance(coords, (list, tuple))
        and len(coords) >= 2
        and all(isinstance(c, (int, float)) for c in coords[:2])
    ):
        yield float(coords[1]), float(coords[0])
    elif isinstance(coords, (list, tuple)):
        for item in coords:
            yield from _iter_positions(item)


def _geometry_positions(geometry: dict | None) -> Iterator[tuple[float, float]]:
    if not geometry:
        return
    yield from _iter_positions(geometry.get("coordinates"))
    for part in geometry.get("geometries") or []:
        yield from _geometry_positions(part)


def _bounds(positions: list[tuple[float, float]]) -> list[list[float]] | None:
    positions = [p for p in positions if math.isfinite(p[0]) and math.isfinite(p[1])]
    if not positions:
        return None
    lats = [p[0] for p in positions]
    lons = [p[1] for p in positions]
    return [[min(lats), min(lons)], [max(lats), max(lons)]]


def _report_position(report: dict) -> tuple[float, float] | None:
    try:
        lat, lon = float(report["lat"]), float(report["lon"])
    except (KeyError, TypeError, ValueError):
        return None
    return (lat, lon) if math.isfinite(lat) and math.isfinite(lon) else None


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _report_item(report: dict) -> dict | None:
    """One marker's data: plain strings and numbers, URLs checked (map.js re-checks them)."""
    position = _report_position(report)
    if position is None:
        return None
    return {
        "lat": position[0], "lon": position[1],
        "colour": STATUS_COLOURS.get(_text(report.get("status")), UNKNOWN_COLOUR),
        "status": _text(report.get("status_label")), "category": _text(report.get("category_label")),
        "committee": _text(report.get("committee_name")), "created": _text(report.get("created_local")),
        "description": _text(report.get("description")),
        "thumb": safe_url(report.get("thumb_url")), "detail": safe_url(report.get("detail_url")) or "#",
    }


def _area_item(feature: dict) -> dict:
    props = feature.get("properties") or {}
    return {"type": "Feature", "geometry": feature.get("geometry"),
            "properties": {"name": _text(props.get("name")), "code": _text(props.get("code"))}}


def _labels() -> dict:
    return {
        "reports": _("隐患上报"), "areas": _("居村委边界"), "legend": _("隐患状态"),
        "category": _("类别"), "status": _("状态"), "committee": _("居村委"), "created": _("上报时间"),
        "code": _("代码"), "photo": _("现场照片"), "detail": _("查看详情"), "bad_row": _("此条记录无法显示"),
    }


def map_data(map_name: str, features: list[dict], reports: list[dict]) -> dict:
    """Everything map.js draws, as plain JSON-able values."""
    return {
        "map": map_name,
        "labels": _labels(),
        "legend": [[str(STATUS_LABELS[s]), colour] for s, colour in STATUS_COLOURS.items()],
        "areas": {"type": "FeatureCollection", "features": [_area_item(f) for f in features]},
        "reports": [item for item in map(_report_item, reports) if item is not None],
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
    areas: dict,
    reports: list[dict],
    *,
    static_url: Callable[[str], str],
    tiles: TileSource | None = None,
    center: tuple[float, float] | None = None,
    zoom: int = 11,
) -> str:
    """Return the full HTML page of the supervisors' map."""
    features = [f for f in (areas or {}).get("features") or [] if f.get("geometry")]
    fit = None
    if center is None:
        fit = _bounds([p for f in features for p in _geometry_positions(f["geometry"])])
        if fit is None:
            fit = _bounds([p for p in map(_report_position, reports) if p is not None])
    start = center or (((fit[0][0] + fit[1][0]) / 2, (fit[0][1] + fit[1][1]) / 2) if fit else DEFAULT_CENTER)
    fmap = _new_map(static_url, [float(v) for v in start], int(zoom))
    if fit is not None:
        _FitBounds(fit).add_to(fmap)
    # Added after fitting so the first tile requests are already for the fitted view.
    tiles = tiles or PROVIDERS["osm"]
    folium.TileLayer(tiles=inert(tiles.url), attr=inert(str(tiles.attribution)),
                     name=inert(_("底图")), max_zoom=19, control=False).add_to(fmap)
    page = fmap.get_root().render()
    data = script_json(map_data(fmap.get_name(), features, reports))
    block = (f'<script type="application/json" id="hazard-map-data">{data}</script>\n'
             f'<script src="{html.escape(static_url(MAP_JS))}"></script>')
    head, slot, tail = page.partition(DATA_SLOT)
    assert slot, "the page template lost its data slot"
    return head + block + tail
