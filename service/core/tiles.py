"""Base-map tile sources: each provider's URL, its credit line and its coordinate system, stated once."""
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class TileSource:
    url: str
    attribution: str
    crs: str  # what the tiles are drawn in: points must be shifted to it before drawing


PROVIDERS = {
    "osm": TileSource("https://tile.openstreetmap.org/{z}/{x}/{y}.png", _l("© OpenStreetMap 贡献者"), "wgs84"),
    "amap": TileSource("https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
                       _l("© 高德地图"), "gcj02"),
    "tianditu": TileSource("https://t{s}.tianditu.gov.cn/vec_w/wmts?tk={key}", _l("© 天地图"), "wgs84"),
}
_HOSTS = {"tile.openstreetmap.org": "osm", "autonavi.com": "amap", "tianditu.gov.cn": "tianditu"}


def provider_of(url: str) -> TileSource | None:
    """The known provider serving a tile URL, matched by host (so the credit follows the tiles)."""
    host = urlsplit(url).hostname or ""
    for suffix, name in _HOSTS.items():
        if host == suffix or host.endswith("." + suffix):
            return PROVIDERS[name]
    return None


def _source(url: str, crs: str) -> TileSource:
    known = provider_of(url)
    attribution = current_app.config.get("MAP_TILES_ATTRIBUTION") or (known.attribution if known else "")
    return TileSource(url, str(attribution), known.crs if known else crs)


def base_layer() -> TileSource:
    """The supervisors' base map: MAP_TILES_URL, credited as its provider asks or as MAP_TILES_ATTRIBUTION says."""
    return _source(current_app.config["MAP_TILES_URL"], "wgs84")


def base_maps() -> dict[str, TileSource]:
    """The two base maps a page offers, keyed by the system they draw in: MAP_TILES_URL and 高德 (AMAP_TILES_URL).
    The report page picks a spot on either; the supervisors' map shifts its data to GCJ-02 on the second."""
    return {"wgs84": base_layer(), "gcj02": _source(current_app.config["AMAP_TILES_URL"], "gcj02")}
