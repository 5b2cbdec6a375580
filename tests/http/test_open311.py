"""Open311 GeoReport v2 (and FixMyStreet's servicerequestupdates) over real HTTP against PostGIS."""
import re
from datetime import UTC, datetime, timedelta

import pytest
from georeport import GeoReport

from service.rules.categories import CATEGORIES
from tests.support.open311 import SECRET, V2, errors_of, o311_post, xml_of
from tests.support.reports_api import post as native_post
from tests.support.secure_defaults import _login

REQUEST_TAGS = ["service_request_id", "status", "status_notes", "service_name", "service_code", "description",
                "agency_responsible", "service_notice", "requested_datetime", "updated_datetime",
                "expected_datetime", "address", "address_id", "zipcode", "lat", "long", "media_url"]
UPDATE_TAGS = ["update_id", "service_request_id", "status", "updated_datetime", "description", "media_url"]
W3C = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")


@pytest.fixture
def created(anon_http, spot, accounts):
    """A request posted by the volunteer with their api_key: (id, api_key)."""
    key = accounts["vol"]["token"]
    r = o311_post(anon_http, spot, api_key=key)
    assert r.status_code == 201, r.text
    return r.json()[0]["service_request_id"], key


def test_discovery_in_both_formats(anon_http):
    body = anon_http.get(f"{V2}/discovery.json").json()
    assert body["endpoints"][0]["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert body["endpoints"][0]["url"].endswith("/open311/v2")
    root = xml_of(anon_http.get(f"{V2}/discovery.xml"))
    assert root.tag == "discovery"
    assert [e.tag for e in root] == ["changeset", "contact", "key_service", "endpoints"]
    endpoint = root.find("endpoints/endpoint")
    assert [e.tag for e in endpoint] == ["specification", "url", "changeset", "type", "formats"]
    assert [f.text for f in endpoint.findall("formats/format")] == ["text/xml", "application/json"]


def test_services_list_every_category_with_metadata(anon_http):
    listed = anon_http.get(f"{V2}/services.json").json()
    assert [s["service_code"] for s in listed] == list(CATEGORIES)
    assert all(s["metadata"] is True and s["type"] == "realtime" and s["service_name"] for s in listed)
    root = xml_of(anon_http.get(f"{V2}/services.xml"))
    assert root.tag == "services" and len(root) == len(CATEGORIES)
    assert [e.tag for e in root[0]] == ["service_code", "service_name", "description", "metadata", "type",
                                        "keywords", "group"]
    assert root[0].findtext("metadata") == "true"


def test_service_definitions_carry_subtype_and_risk(anon_http):
    nine = anon_http.get(f"{V2}/services/nine_small.json").json()
    assert [a["code"] for a in nine["attributes"]] == ["subcategory", "risk_level"]
    assert {v["key"] for v in nine["attributes"][0]["values"]} >= {"shop", "restaurant", "workshop"}
    assert {v["name"] for v in nine["attributes"][1]["values"]} == {"一般", "较大", "疑似重大"}
    root = xml_of(anon_http.get(f"{V2}/services/ebike_charging.xml"))
    assert root.tag == "service_definition" and root.findtext("service_code") == "ebike_charging"
    attribute = root.find("attributes/attribute")
    assert [e.tag for e in attribute] == ["variable", "code", "datatype", "required", "datatype_description",
                                          "order", "description", "values"]
    assert attribute.findtext("datatype") == "singlevaluelist" and attribute.findtext("code") == "risk_level"
    assert [e.tag for e in attribute.find("values/value")] == ["key", "name"]
    for fmt in ("json", "xml"):
        r = anon_http.get(f"{V2}/services/no_such_thing.{fmt}")
        assert r.status_code == 404 and errors_of(r, fmt)[0][0] == 404


def test_post_then_get_round_trip_in_full_for_the_key_holder(anon_http, created, spot):
    rid, key = created
    mine = anon_http.get(f"{V2}/requests/{rid}.json", params={"api_key": key}).json()
    assert len(mine) == 1 and list(mine[0]) == REQUEST_TAGS
    one = mine[0]
    assert one["service_request_id"] == rid and one["status"] == "open" and one["status_notes"] == "待受理"
    assert one["description"] == SECRET and one["address"] == "某小区 3 号楼"
    assert one["agency_responsible"] == spot["name"] and one["service_code"] == "ebike_charging"
    assert abs(one["lat"] - spot["lat"]) < 1e-6 and abs(one["long"] - spot["lon"]) < 1e-6
    assert all(W3C.match(one[k]) for k in ("requested_datetime", "updated_datetime", "expected_datetime"))
    assert "/photos/p/" in one["media_url"] and anon_http.get(one["media_url"]).status_code == 200
    root = xml_of(anon_http.get(f"{V2}/requests/{rid}.xml", params={"api_key": key}))
    assert root.tag == "service_requests" and [e.tag for e in root.find("request")] == REQUEST_TAGS
    assert root.findtext("request/description") == SECRET


def test_the_public_sees_no_private_field(anon_http, created, spot, accounts):
    rid, _key = created
    for fmt in ("json", "xml"):
        listed = anon_http.get(f"{V2}/requests.{fmt}")
        single = anon_http.get(f"{V2}/requests/{rid}.{fmt}")
        assert listed.status_code == single.status_code == 200
        for text in (listed.text, single.text):
            assert rid in text
            for private in ("张三", "13812345678", "zhang@example.com", "3 号楼", "/photos/", "测试vol"):
                assert private not in text
    one = anon_http.get(f"{V2}/requests/{rid}.json").json()[0]
    assert one["description"] == one["address"] == one["media_url"] == ""
    assert one["lat"] == round(spot["lat"], 3) and one["long"] == round(spot["lon"], 3)
    # A cookie-less bearer token of someone whose scope does not cover it gets the public form too.
    other = anon_http.get(f"{V2}/requests/{rid}.json", params={"api_key": accounts["staff_b"]["token"]}).json()
    assert other[0]["description"] == ""


def test_posting_in_xml_and_the_photo_rules(anon_http, spot, accounts):
    key = accounts["vol"]["token"]
    root = xml_of(o311_post(anon_http, spot, fmt="xml", api_key=key))
    assert root.tag == "service_requests"
    assert [e.tag for e in root.find("request")] == ["service_request_id", "service_notice", "account_id"]
    no_photo = o311_post(anon_http, spot, media=False, api_key=key, media_url="http://169.254.169.254/x.jpg")
    assert no_photo.status_code == 400 and "media_url" in errors_of(no_photo, "json")[0][1]
    r = o311_post(anon_http, spot, fmt="xml", media=False, api_key=key)
    assert r.status_code == 400 and "media" in errors_of(r, "xml")[0][1]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_bad_input_gets_the_error_document(anon_http, spot, accounts, fmt):
    key = accounts["vol"]["token"]
    cases = [
        (o311_post(anon_http, spot, fmt, api_key="not-a-key"), 403),
        (o311_post(anon_http, spot, fmt, api_key=key, lat="91"), 422),
        (o311_post(anon_http, spot, fmt, api_key=key, lat="abc"), 422),
        (o311_post(anon_http, spot, fmt, api_key=key, service_code="nope"), 400),
        (o311_post(anon_http, spot, fmt, api_key=key, lat="0", long="0"), 422),  # outside the district
        (o311_post(anon_http, spot, fmt, api_key=key, **{"attribute[risk_level]": "huge"}), 422),
        (anon_http.get(f"{V2}/requests.{fmt}", params={"start_date": "yesterday"}), 400),
        (anon_http.get(f"{V2}/requests.{fmt}", params={"start_date": "2026-01-01T00:00:00Z",
                                                       "end_date": "2026-06-01T00:00:00Z"}), 400),
        (anon_http.get(f"{V2}/requests.{fmt}", params={"status": "pending"}), 400),
        (anon_http.get(f"{V2}/requests.{fmt}", params={"page_size": "5000"}), 400),
        (anon_http.get(f"{V2}/requests/not-a-uuid.{fmt}"), 404),
        (anon_http.get(f"{V2}/tokens/never-sent.{fmt}"), 404),
        (anon_http.get(f"{V2}/servicerequestupdates.{fmt}", params={"end_date": "2026-13-01"}), 400),
        (anon_http.delete(f"{V2}/requests.{fmt}"), 405),
        (anon_http.get(f"{V2}/nothing.{fmt}"), 404),
        (anon_http.get(f"{V2}/requests.{fmt}", params={"service_code": "other\x00"}), 422),
    ]
    for response, status in cases:
        assert response.status_code == status, (response.url, response.text)
        [(code, description)] = errors_of(response, fmt)
        assert code == status and re.search("[\u4e00-\u9fff]", description)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_wrong_jurisdiction_is_refused(anon_http, spot, accounts, fmt):
    assert anon_http.get(f"{V2}/services.{fmt}", params={"jurisdiction_id": "310112"}).status_code == 200
    for r in (anon_http.get(f"{V2}/services.{fmt}", params={"jurisdiction_id": "110101"}),
              anon_http.get(f"{V2}/requests.{fmt}", params={"jurisdiction_id": "x"}),
              o311_post(anon_http, spot, fmt, api_key=accounts["vol"]["token"], jurisdiction_id="110101")):
        assert r.status_code == 404 and "310112" in errors_of(r, fmt)[0][1]


def test_a_cookie_session_is_not_an_api_key(live_server, created, accounts):
    rid, _key = created
    browser = _login(live_server, accounts["vol"]["phone"])
    with browser:
        seen = browser.get(f"{live_server}{V2}/requests/{rid}.json").json()[0]
    assert seen["description"] == ""  # the owner's browser, yet only the public form: no CSRF risk


def test_anonymous_posting_follows_public_reports(anon_http, spot, app, monkeypatch):
    assert o311_post(anon_http, spot).status_code == 201
    monkeypatch.setitem(app.config, "PUBLIC_REPORTS", False)
    r = o311_post(anon_http, spot)
    assert r.status_code == 403 and "api_key" in errors_of(r, "json")[0][1]


def test_idempotency_key_and_tokens(anon_http, spot, accounts):
    key = accounts["vol"]["token"]
    first = o311_post(anon_http, spot, api_key=key, headers={"Idempotency-Key": "phone-42"})
    again = o311_post(anon_http, spot, api_key=key, headers={"Idempotency-Key": "phone-42"})
    assert (first.status_code, again.status_code) == (201, 200)
    rid = first.json()[0]["service_request_id"]
    assert again.json()[0]["service_request_id"] == rid
    assert anon_http.get(f"{V2}/tokens/phone-42.json", params={"api_key": key}).json() == [
        {"service_request_id": rid, "token": "phone-42"}]
    root = xml_of(anon_http.get(f"{V2}/tokens/phone-42.xml", params={"api_key": key}))
    assert [e.tag for e in root.find("request")] == ["service_request_id", "token"]
    assert anon_http.get(f"{V2}/tokens/phone-42.json").status_code == 404  # another caller's key space


def test_list_filters_window_and_page(anon_http, http, spot):
    ids = [native_post(http, lon=spot["lon"], lat=spot["lat"]).json()["id"] for _ in range(2)]
    other = native_post(http, lon=spot["lon"], lat=spot["lat"], category="other").json()["id"]
    listed = [r["service_request_id"] for r in anon_http.get(f"{V2}/requests.json").json()]
    assert listed == [other, *ids[::-1]]  # newest first, within the default 90 days
    by_code = anon_http.get(f"{V2}/requests.json", params={"service_code": "ebike_charging"}).json()
    assert {r["service_request_id"] for r in by_code} == set(ids)
    assert len(anon_http.get(f"{V2}/requests.json", params={"page_size": 1, "page": 2}).json()) == 1
    assert anon_http.get(f"{V2}/requests.json", params={"status": "closed"}).json() == []
    assert len(anon_http.get(f"{V2}/requests.json", params={"status": "open"}).json()) == 3
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert anon_http.get(f"{V2}/requests.json", params={"start_date": future}).json() == []
    long_ago = (datetime.now(UTC) - timedelta(days=200)).isoformat()
    assert anon_http.get(f"{V2}/requests.json", params={"start_date": long_ago}).json() == []  # +90 days
    picked = anon_http.get(f"{V2}/requests.json", params={"service_request_id": f"{ids[0]},bogus,{other}",
                                                          "status": "closed"}).json()  # ids override the rest
    assert {r["service_request_id"] for r in picked} == {ids[0], other}


def test_status_mapping_and_rejected_reports_are_not_public(anon_http, http, spot, as_user):
    accepted, rejected = (native_post(http, lon=spot["lon"], lat=spot["lat"]).json()["id"] for _ in range(2))
    sup = as_user("sup_a")
    assert sup.post(f"/api/v1/reports/{accepted}/transitions", json={"to": "accepted", "note": "王五已核实"}).ok
    assert sup.post(f"/api/v1/reports/{rejected}/transitions", json={"to": "rejected", "note": "不是隐患"}).ok
    public = anon_http.get(f"{V2}/requests/{accepted}.json").json()[0]
    assert (public["status"], public["status_notes"]) == ("open", "已受理")
    assert anon_http.get(f"{V2}/requests/{rejected}.json").status_code == 404
    assert rejected not in anon_http.get(f"{V2}/requests.json").text
    keyed = sup.get(f"{V2}/requests.json", params={"service_request_id": f"{accepted},{rejected}"}).json()
    by_id = {r["service_request_id"]: r for r in keyed}
    assert by_id[accepted]["status_notes"] == "已受理：王五已核实"
    assert (by_id[rejected]["status"], by_id[rejected]["status_notes"]) == ("closed", "不予受理：不是隐患")
    assert by_id[rejected]["service_notice"] == ""


def test_updates_extension_follows_transitions(anon_http, http, spot, as_user):
    rid = native_post(http, lon=spot["lon"], lat=spot["lat"]).json()["id"]
    sup = as_user("sup_a")
    assert sup.post(f"/api/v1/reports/{rid}/transitions", json={"to": "accepted", "note": "联系人李四"}).ok
    public = anon_http.get(f"{V2}/servicerequestupdates.json").json()
    assert [(u["service_request_id"], u["status"]) for u in public] == [(rid, "open"), (rid, "investigating")]
    assert public[1]["description"] == "已受理" and "李四" not in anon_http.get(
        f"{V2}/servicerequestupdates.xml").text
    assert all(list(u) == UPDATE_TAGS and W3C.match(u["updated_datetime"]) for u in public)
    keyed = sup.get(f"{V2}/servicerequestupdates.json").json()
    assert keyed[1]["description"] == "已受理：联系人李四"
    root = xml_of(sup.get(f"{V2}/servicerequestupdates.xml"))
    assert root.tag == "service_requests_updates"
    assert [[e.tag for e in u] for u in root] == [UPDATE_TAGS, UPDATE_TAGS]
    later = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    assert anon_http.get(f"{V2}/servicerequestupdates.json", params={"start_date": later}).json() == []


def test_xml_stays_well_formed_with_hostile_text(anon_http, spot, accounts):
    key = accounts["vol"]["token"]
    hostile = '</description><x>"&amp;\'\x01\x0b]]>{"code":1}'
    r = o311_post(anon_http, spot, api_key=key, description=hostile)
    assert r.status_code == 201, r.text
    rid = r.json()[0]["service_request_id"]
    root = xml_of(anon_http.get(f"{V2}/requests/{rid}.xml", params={"api_key": key}))
    assert root.findtext("request/description") == '</description><x>"&amp;\']]>{"code":1}'
    assert anon_http.get(f"{V2}/requests/{rid}.json", params={"api_key": key}).json()[0]["description"] == hostile


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_third_party_client_reads_it(live_server, http, spot, fmt):
    rid = native_post(http, lon=spot["lon"], lat=spot["lat"]).json()["id"]
    client = GeoReport(live_server + V2, jurisdiction="310112", output_format=fmt)
    services = client.get_service_list()
    assert [s["service_code"] for s in services] == list(CATEGORIES)
    definition = client.get_service_definition("nine_small")
    assert definition["service_code"] == "nine_small"
    found = client.get_service_request(rid)
    assert found["service_request_id"] == rid and found["status"] == "open"
    listed = client.get_service_requests(status="open")
    listed = listed if isinstance(listed, list) else [listed]  # xmltodict gives one element as a dict
    assert [r["service_request_id"] for r in listed] == [rid]
