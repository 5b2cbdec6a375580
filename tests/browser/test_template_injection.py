"""Text from residents, staff and boundary files is shown literally on every page: never run as a template.

The payloads go in through the real HTTP API and the real CLI, into every field a page shows, and come out
on /map (in Chromium, popup and tooltip included), the detail page, the queues, the inbox and "my reports".
"""
import html
import json

import pytest
import requests
from sqlalchemy import select

from service.areas import boundaries
from service.core.db import db
from service.core.models import User
from tests.support.images import jpeg

PAYLOADS = ["{{7*7}}", "{{ cycler.__init__.__globals__ }}", "{% raw %}", "{#", "${7*7}", "<script>alert(1)</script>",
            "{{7*7}}{% raw %}", "x }} {% endraw %} {{ 7*7 }} {# %} ${7*7}"]
MIX = "{{7*7}} {{ cycler.__init__.__globals__.os.getcwd() }} {% raw %} {# ${7*7} <script>alert(1)</script>"


def report_at(session, spot, description, contact="", filename="hazard.jpg"):
    files = [("photo", (filename, jpeg(), "image/jpeg"))]
    data = {"lon": spot["lon"], "lat": spot["lat"], "category": "combustibles", "description": description,
            "contact": contact}
    response = session.post("/api/v1/reports", data=data, files=files)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def move(session, report_id, to, note):
    response = session.post(f"/api/v1/reports/{report_id}/transitions", json={"to": to, "note": note})
    assert response.status_code == 200, response.text


def page(session, path) -> str:
    response = session.get(path)
    assert response.status_code == 200, (path, response.status_code, response.text[:500])
    return response.text


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payload_in_description_and_note_is_shown_literally(anon_http, as_user, spot, payload):
    report_id = report_at(anon_http, spot, payload, contact=payload, filename=payload + ".jpg")
    sup = as_user("sup_a")
    move(sup, report_id, "accepted", payload)
    detail = page(sup, f"/reports/{report_id}")
    assert detail.count(html.escape(payload)) >= 3  # description, contact, note
    queues = page(sup, "/queues")
    assert f"/reports/{report_id}" in queues
    assert page(sup, "/map")  # the map page carries no report text at all; popups come from the API
    assert sup.get(f"/api/v1/reports/{report_id}").json()["description"] == payload


@pytest.fixture
def hostile_committee(app, spot, tmp_path):
    """Rename the spot's committee to MIX through the real boundary import; restore afterwards."""
    with app.app_context():
        original = boundaries.feature_collection("committee", precision=15)
    renamed = json.loads(json.dumps(original))
    for feature in renamed["features"]:
        if feature["properties"]["code"] == spot["code"]:
            feature["properties"]["name"] = MIX
    paths = tmp_path / "renamed.geojson", tmp_path / "original.geojson"
    paths[0].write_text(json.dumps(renamed, ensure_ascii=False), encoding="utf-8")
    paths[1].write_text(json.dumps(original, ensure_ascii=False), encoding="utf-8")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["boundaries", "import", str(paths[0]), "--level", "committee"])
    assert result.exit_code == 0, result.output
    yield MIX
    result = runner.invoke(args=["boundaries", "import", str(paths[1]), "--level", "committee"])
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def hostile_supervisor(app, spot, live_server):
    """A town supervisor whose name is MIX, created through the real users CLI."""
    result = app.test_cli_runner().invoke(args=[
        "users", "create", "--name", MIX, "--phone", "13911119999", "--role", "town_supervisor",
        "--area", spot["town"], "--token"])
    assert result.exit_code == 0, result.output
    token = result.output.split("token: ")[1].split()[0]
    with app.app_context():
        assert db.session.scalar(select(User.name).where(User.phone == "13911119999")) == MIX
    return token


def test_every_field_every_page_in_chromium(open_page, as_user, live_server, spot, accounts,
                                            hostile_committee, hostile_supervisor):
    report_id = report_at(as_user("vol"), spot, MIX, contact=MIX, filename=MIX + ".jpg")
    sup = requests.Session()
    sup.headers["Authorization"] = f"Bearer {hostile_supervisor}"
    for to in ("accepted", "dispatched"):
        response = sup.post(f"{live_server}/api/v1/reports/{report_id}/transitions", json={"to": to, "note": MIX})
        assert response.status_code == 200, response.text

    def shown(path, token):
        pg, log = open_page(path, extra_http_headers={"Authorization": f"Bearer {token}"})
        text = pg.inner_text("body")
        return pg, log, text

    pg, log, text = shown(f"/reports/{report_id}", hostile_supervisor)
    assert text.count(MIX) >= 5, text  # committee, description, contact, two notes (+ actor names)
    assert log.dialogs == [] and log.errors == []
    for path, who in (("/queues", hostile_supervisor), ("/inbox", accounts["staff_a"]["token"]),
                      ("/me/reports", accounts["vol"]["token"])):
        pg, log, text = shown(path, who)
        assert MIX in text, (path, text)  # the committee's name
        assert log.dialogs == [] and log.errors == []

    pg, log = open_page("/map", extra_http_headers={"Authorization": f"Bearer {hostile_supervisor}"})
    pg.wait_for_selector("path.hazard-committee")
    pg.evaluate("() => window[document.querySelector('.folium-map').id]"
                f".setView([{spot['lat']}, {spot['lon']}], 17, {{animate: false}})")
    pg.locator("path.hazard-report").first.click()
    pg.locator(".leaflet-popup-content .hazard-popup a").wait_for()  # filled from the API
    popup = pg.locator(".leaflet-popup-content")
    assert popup.inner_text().count(MIX) == 2  # description and committee
    assert popup.locator("script").count() == 0
    assert pg.evaluate("() => document.querySelectorAll('[onerror]').length") == 0
    assert log.dialogs == [] and log.errors == []
