"""Helpers first written for tests/browser/test_pages_browser.py, now shared by several test modules."""
from __future__ import annotations

from tests.support.images import jpeg


def create_report(http, lon: float, lat: float, description: str, category: str) -> dict:
    resp = http.post(
        "/api/v1/reports",
        data={"category": category, "lon": lon, "lat": lat, "description": description},
        files=[("photo", ("a.jpg", jpeg(), "image/jpeg"))],
    )
    assert resp.status_code == 201, resp.text
    return resp.json()


MAP = "window[document.querySelector('.folium-map').id]"

