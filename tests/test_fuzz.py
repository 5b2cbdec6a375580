"""Fuzzing in a short form (bench/fuzz.py): generated requests to every endpoint, from the OpenAPI description and
from the URL map, as every kind of caller; none may be answered with a 5xx."""
import pytest

from bench import fuzz

from .images import jpeg
from .test_reports_api import post


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
