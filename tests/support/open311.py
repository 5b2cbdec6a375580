"""Helpers first written for tests/http/test_open311.py, now shared by several test modules."""
import xml.etree.ElementTree as ET

from tests.support.images import jpeg

V2 = "/open311/v2"


SECRET = "楼道里有充电的电动车，联系人张三 13812345678"


def o311_post(session, spot, fmt="json", media=True, headers=None, **fields):
    data = {"service_code": "ebike_charging", "lat": spot["lat"], "long": spot["lon"], "description": SECRET,
            "address_string": "某小区 3 号楼", "email": "zhang@example.com"} | fields
    files = [("media", ("hazard.jpg", jpeg(), "image/jpeg"))] if media else None
    return session.post(f"{V2}/requests.{fmt}", data=data, files=files, headers=headers)


def xml_of(response) -> ET.Element:
    assert response.headers["Content-Type"].startswith("text/xml")
    return ET.fromstring(response.content)


def errors_of(response, fmt: str) -> list[tuple[int, str]]:
    if fmt == "json":
        return [(e["code"], e["description"]) for e in response.json()]
    root = xml_of(response)
    assert root.tag == "errors" and all(e.tag == "error" for e in root)
    return [(int(e.findtext("code")), e.findtext("description")) for e in root]

