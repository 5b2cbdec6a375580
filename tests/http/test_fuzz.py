"""Fuzzing in a short form (bench/fuzz.py): generated requests to every endpoint, from the OpenAPI description and
from the URL map, as every kind of caller; none may be answered with a 5xx."""
import pytest

from bench import fuzz
from tests.support.images import jpeg
from tests.support.reports_api import post


@pytest.fixture
def real(http, spot):
    created = post(http, photo=jpeg(), lon=spot["lon"], lat=spot["lat"]).json()
    return {"report_id": created["id"], "key": created["photos"][0].removeprefix("/photos/")}


def test_no_generated_request_gets_a_5xx(app, accounts, real):
    tokens = {name: accounts[name]["token"] for name in fuzz.CALLERS if name}
    statuses, failures = fuzz.fuzz(app, tokens, real, requests=400)
    assert sum(statuses.values()) == 400
    assert failures == []
    assert len({s for s in statuses if isinstance(s, int) and s < 300}) >= 1  # some requests were accepted too


@pytest.mark.parametrize("path", ["/logout", "/reports/x/move", "/api/v1/reports"])
def test_a_multipart_part_without_a_name_is_a_400(client, path):
    """Found by the fuzzer: Flask-WTF's CSRF check crashed on a form field without a name (a 500)."""
    body = b"--XX\r\nContent-Disposition: form-data\r\n\r\nvalue\r\n--XX--\r\n"
    assert client.post(path, data=body, content_type="multipart/form-data; boundary=XX").status_code == 400
