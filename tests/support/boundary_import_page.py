"""Helpers first written for tests/http/test_boundary_import_page.py, now shared by several test modules."""
import json

import pytest

from service.areas import boundaries


@pytest.fixture
def files(app, spot, accounts, tmp_path):
    """The demo committees with the spot's committee and a sibling trading polygons, and one committee renamed
    to template text; the original is imported back afterwards."""
    with app.app_context():
        original = boundaries.feature_collection("committee", precision=15)
    edited = json.loads(json.dumps(original))
    by_code = {f["properties"]["code"]: f for f in edited["features"]}
    a, b = by_code[spot["code"]], by_code[accounts["sibling_code"]]
    a["geometry"], b["geometry"] = b["geometry"], a["geometry"]
    renamed = next(c for c in by_code if c not in (spot["code"], accounts["sibling_code"]))
    by_code[renamed]["properties"]["name"] = "{{ 7*7 }}<script>alert(1)</script>"
    restore = tmp_path / "original.geojson"
    restore.write_text(json.dumps(original), encoding="utf-8")
    yield json.dumps(edited, ensure_ascii=False).encode(), renamed
    result = app.test_cli_runner().invoke(args=["boundaries", "import", str(restore), "--level", "committee"])
    assert result.exit_code == 0, result.output

