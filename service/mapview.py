"""Supervisors' fire-hazard map: a folium page whose JS/CSS is all served locally.

folium's stock ``Map`` pulls Leaflet, jQuery, Bootstrap, Font Awesome and
awesome-markers from CDNs.  This page only needs Leaflet (vendored into
``static/vendor/leaflet`` by ``static/vendor.sh``): committee boundaries are a
plain ``GeoJson`` layer, reports are ``CircleMarker``s and popups are bound
with ``_ParentCall`` below instead of ``folium.Popup`` (which needs jQuery and
embeds its HTML in a JS template literal, where ``${...}`` in user text would
be evaluated).  Only the tile layer URL may point elsewhere; if tiles cannot
be loaded the polygons, markers and legend still render.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone

import folium
from branca.element import Element, MacroElement
from flask_babel import get_locale
from flask_babel import gettext as _
from folium.template import Template

from .workflow import STATUS_LABELS

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

DEFAULT_TILES_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
TILES_ATTRIBUTION = "© OpenStreetMap contributors"  # licence text: stays as OSM words it
DEFAULT_CENTER = (31.112, 121.381)  # Minhang district, (lat, lon)
LEAFLET_JS = "vendor/leaflet/leaflet.js"
LEAFLET_CSS = "vendor/leaflet/leaflet.css"
CHINA_TZ = timezone(timedelta(hours=8))

# branca's Figure template plus lang="zh-CN" and an always-present <title>.
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
    "</html>\n"
)

_PAGE_STYLE = """<style>
.hazard-popup, .hazard-legend, .leaflet-container {
  font-family: "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", "Source Han Sans SC", sans-serif; }
.hazard-popup { font-size: 13px; line-height: 1.5; max-width: 260px; }
.hazard-popup .desc { margin: 4px 0; white-space: pre-wrap; overflow-wrap: anywhere;
  max-height: 8em; overflow-y: auto; }
.hazard-popup img { display: block; max-width: 240px; max-height: 180px; margin: 4px 0; }
.hazard-legend { position: fixed; right: 10px; bottom: 30px; z-index: 1000; padding: 6px 10px;
  background: rgba(255, 255, 255, 0.92); border-radius: 4px; box-shadow: 0 1px 4px rgba(0, 0, 0, 0.3);
  font-size: 12px; line-height: 1.6; }
.hazard-legend i { display: inline-block; width: 10px; height: 10px; margin-right: 6px;
  border-radius: 50%; border: 1px solid #fff; }
</style>"""


class _ParentCall(MacroElement):
    """Emit ``<parent>.<method>(<arg>, <options>);`` with both values as escaped JSON.

    Used for ``bindPopup`` (instead of folium.Popup, which needs jQuery and puts
    the HTML in a JS template literal) and for a non-animated ``fitBounds``
    (folium's FitBounds animates, so tiles of the start view get fetched).
    """

    _template = Template(
        "{% macro script(this, kwargs) %}\n"
        "{{ this._parent.get_name() }}.{{ this.method }}("
        "{{ this.arg|tojavascript }}, {{ this.options|tojavascript }});\n"
        "{% endmacro %}"
    )

    def __init__(self, method: str, arg: object, options: dict):
        super().__init__()
        self._name = "ParentCall"
        self.method = method
        self.arg = arg
        self.options = options


def _esc(value: object) -> str:
    """HTML-escape text; also entity-encode characters special in JS template literals."""
    text = html.escape("" if value is None else str(value), quote=True)
    return text.replace("\\", "&#92;").replace("`", "&#96;").replace("$", "&#36;")


_SAFE_URL = re.compile(r"^(?:https?://|/|\./|\.\./)", re.IGNORECASE)


def _esc_url(url: object) -> str:
    """Escape a URL for an attribute; anything but http(s) or a relative path becomes '#'."""
    text = "" if url is None else str(url).strip()
    if not _SAFE_URL.match(text) or re.search(r"[\x00-\x20\x7f]", text):
        return "#"
    return _esc(text)


def _format_time(value: object) -> str:
    """ISO timestamp -> 'YYYY-MM-DD HH:MM' (aware values shown in China time)."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return "" if value is None else str(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(CHINA_TZ)
    return moment.strftime("%Y-%m-%d %H:%M")


def _popup_html(report: dict) -> str:
    rows = [
        (_("类别"), report.get("category_label")),
        (_("状态"), report.get("status_label")),
        (_("居村委"), report.get("committee_name")),
        (_("上报时间"), _format_time(report.get("created_at"))),
    ]
    parts = ['<div class="hazard-popup">']
    parts += [f"<div><b>{_esc(label)}：</b>{_esc(value)}</div>" for label, value in rows]
    parts.append(f'<p class="desc">{_esc(report.get("description"))}</p>')
    if report.get("thumb_url"):
        parts.append(f'<img src="{_esc_url(report["thumb_url"])}" alt="{_esc(_("现场照片"))}" loading="lazy">')
    parts.append(f'<a href="{_esc_url(report.get("detail_url"))}">{_esc(_("查看详情"))}</a></div>')
    return "".join(parts)


def _legend_html() -> str:
    items = "".join(
        f'<div><i style="background:{colour}"></i>{_esc(str(STATUS_LABELS[status]))}</div>'
        for status, colour in STATUS_COLOURS.items()
    )
    return f'<div class="hazard-legend"><b>{_esc(_("隐患状态"))}</b>{items}</div>'


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


def _new_map(static_url: Callable[[str], str], center, zoom: int) -> folium.Map:
    """A folium Map that references only the vendored Leaflet and a zh-CN page shell."""
    fmap = folium.Map(location=center, zoom_start=zoom, tiles=None, control_scale=True)
    # Instance attributes: Map.add_js_link() would mutate the class-level lists.
    fmap.default_js = [("leaflet", static_url(LEAFLET_JS))]
    fmap.default_css = [("leaflet_css", static_url(LEAFLET_CSS))]
    figure = fmap.get_root()
    figure._template = _PAGE_TEMPLATE
    figure.title = _("火患地图")
    figure.lang = "en" if str(get_locale()) == "en" else "zh-CN"
    figure.header.add_child(Element(_PAGE_STYLE), name="hazard_style")
    figure.html.add_child(Element(_legend_html()), name="hazard_legend")
    return fmap


def _area_feature(feature: dict) -> dict:
    """Keep geometry plus escaped name/code (GeoJsonTooltip writes them via innerHTML)."""
    props = feature.get("properties") or {}
    return {
        "type": "Feature",
        "geometry": feature.get("geometry"),
        "properties": {"name": _esc(props.get("name")), "code": _esc(props.get("code"))},
    }


def _add_areas(fmap: folium.Map, features: list[dict]) -> None:
    if not features:
        return
    folium.GeoJson(
        {"type": "FeatureCollection", "features": [_area_feature(f) for f in features]},
        name=_("居村委边界"),
        style_function=lambda _f: {
            "color": "#37474f",
            "weight": 1,
            "fillColor": "#90a4ae",
            "fillOpacity": 0.08,
        },
        highlight_function=lambda _f: {"weight": 3, "fillOpacity": 0.2},
        tooltip=folium.GeoJsonTooltip(fields=["name", "code"], aliases=[_("居村委"), _("代码")], sticky=True),
    ).add_to(fmap)


def _add_reports(fmap: folium.Map, reports: list[dict]) -> None:
    group = folium.FeatureGroup(name=_("隐患上报"))
    for report in reports:
        position = _report_position(report)
        if position is None:
            continue
        marker = folium.CircleMarker(
            location=position,
            radius=8,
            color="#ffffff",
            weight=2,
            fill_color=STATUS_COLOURS.get(report.get("status"), UNKNOWN_COLOUR),
            fill_opacity=0.9,
            class_name="hazard-report",
        )
        _ParentCall("bindPopup", _popup_html(report), {"maxWidth": 280, "minWidth": 200}).add_to(marker)
        marker.add_to(group)
    group.add_to(fmap)


def render_map(
    areas: dict,
    reports: list[dict],
    *,
    static_url: Callable[[str], str],
    tiles_url: str | None = None,
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
    fmap = _new_map(static_url, list(start), zoom)
    _add_areas(fmap, features)
    _add_reports(fmap, reports)
    folium.LayerControl(collapsed=False).add_to(fmap)
    if fit is not None:
        _ParentCall("fitBounds", fit, {"padding": [20, 20], "maxZoom": 17, "animate": False}).add_to(fmap)
    # Added last so the first tile requests are already for the fitted view.
    tiles = tiles_url or DEFAULT_TILES_URL
    folium.TileLayer(tiles=tiles, attr=TILES_ATTRIBUTION, name=_("底图"), max_zoom=19, control=False).add_to(
        fmap
    )
    return fmap.get_root().render()
