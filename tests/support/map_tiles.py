"""Helpers first written for tests/http/test_map_tiles.py, now shared by several test modules."""
import math

import mapbox_vector_tile
import pytest
from sqlalchemy import func, select

from service.core.db import db
from service.core.models import Area


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return z, x, y


def layers(session, layer: str, lon: float, lat: float, z: int, **params) -> dict:
    z, x, y = tile_of(lon, lat, z)
    response = session.get(f"/tiles/{layer}/{z}/{x}/{y}.pbf", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/vnd.mapbox-vector-tile"
    assert "private" in response.headers["Cache-Control"]
    return mapbox_vector_tile.decode(response.content)


def ids(decoded: dict) -> set[str]:
    return {f["properties"]["id"] for f in decoded.get("reports", {}).get("features", [])}


@pytest.fixture(scope="module")
def elsewhere(app, accounts):
    """An interior point of a committee in another town."""
    with app.app_context():
        area = db.session.scalar(select(Area).where(Area.code == accounts["elsewhere_code"]))
        pt = db.session.scalar(select(func.ST_AsText(func.ST_PointOnSurface(area.geom))).where(Area.id == area.id))
        lon, lat = (float(v) for v in pt[6:-1].split())
        return {"lon": lon, "lat": lat, "code": area.code}

