"""The native API's OpenAPI 3.1 description: generated from the app, complete, valid; the docs page in Chromium."""
import io

import pytest
import schemathesis

from service.apidocs.operations import OPERATIONS
from service.apidocs.spec import PLACEHOLDER, api_rules
from tests.support.browser import assert_clean
from tests.support.csp_browser import RECORD_VIOLATIONS
from tests.support.images import jpeg


def test_every_api_route_is_described_with_its_methods(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    missing = [r.endpoint for r in api_rules(app) if r.endpoint not in OPERATIONS]
    assert missing == [], "add these endpoints to service/apidocs/operations.py"
    described = {(path, method) for path, ops in spec["paths"].items() for method in ops}
    routed = {(PLACEHOLDER.sub(r"{\1}", r.rule), m.lower()) for r in api_rules(app)
              for m in r.methods - {"HEAD", "OPTIONS"}}
    assert routed == described
    assert len(routed) >= 18


def test_the_description_is_valid_openapi_3_1_and_chinese_by_default(client):
    resp = client.get("/api/v1/openapi.json")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    spec = resp.get_json()
    assert spec["openapi"] == "3.1.0"
    schemathesis.openapi.from_dict(spec).validate()  # against the OpenAPI 3.1 meta-schema; raises on error
    assert spec["info"]["title"] == "火患随手拍 API"
    create = spec["paths"]["/api/v1/reports"]["post"]
    assert create["summary"].startswith("上报火灾隐患")
    body = create["requestBody"]["content"]["multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert spec["components"]["schemas"][body]["properties"]["photo"]["items"]["format"] == "binary"
    assert {"code", "message"} <= set(spec["components"]["schemas"]["ErrorBody"]["properties"])
    export = spec["paths"]["/api/v1/reports.{fmt}"]["get"]["parameters"][0]
    assert export["in"] == "path" and export["schema"]["enum"] == ["csv", "geojson", "xlsx"]
    assert create["security"] == [{}, {"bearer": []}]
    assert spec["paths"]["/api/v1/reports"]["get"]["security"] == [{"bearer": []}]
    english = client.get("/api/v1/openapi.json?lang=en").get_json()
    assert english["paths"]["/api/v1/reports"]["post"]["summary"].startswith("Report a fire hazard")


def test_a_report_has_exactly_the_described_fields(client, accounts, spot):
    """Answers may grow (the schemas admit extra fields), so the main resource is checked key by key here: a field
    added to service/reports/queries.py must be described in service/apidocs/schemas.py too."""
    bearer = {"Authorization": f"Bearer {accounts['admin']['token']}"}
    created = client.post("/api/v1/reports", headers=bearer, content_type="multipart/form-data", data={
        "category": "combustibles", "lon": spot["lon"], "lat": spot["lat"], "photo": (io.BytesIO(jpeg()), "a.jpg")})
    detail = client.get(f"/api/v1/reports/{created.get_json()['id']}", headers=bearer).get_json()
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    for body, name in ((detail, "ReportDetail"), (detail["assignment"], "Assignment"), (detail["events"][0], "Event")):
        described = schemas[name]
        assert set(body) <= set(described["properties"]), name
        assert set(described["required"]) <= set(body), name


@pytest.mark.browser
def test_docs_page_renders_the_description_under_the_csp(open_page):
    page, log = open_page("/api/docs")
    page.add_init_script(RECORD_VIOLATIONS)
    page.reload(wait_until="load")
    page.locator(".opblock-summary-path", has_text="/api/v1/reports/{report_id}/transitions").first.wait_for()
    assert page.locator("h1").first.inner_text() == "火患随手拍 接口文档"
    assert page.locator(".opblock").count() >= 18
    page.locator(".opblock-summary", has_text="/api/v1/categories").first.click()
    page.get_by_role("button", name="Try it out").click()
    page.get_by_role("button", name="Execute").click()
    page.locator(".live-responses-table .response-col_status", has_text="200").first.wait_for()
    assert page.evaluate("() => window.__csp") == []
    assert_clean(log)
    assert log.blocked == []  # no CDN, no validator badge: every asset is ours
