"""Open311 api_keys for other systems: made by `hazard-snap apikeys`, stored hashed, scoped to their area, good for
/open311/ only, limited per key, revocable."""
import pytest
from sqlalchemy import select

from service.accounts.auth import token_digest
from service.core.db import db
from service.core.models import ApiToken
from tests.support.open311 import SECRET, V2, errors_of, o311_post


def create_key(app, area: str, name: str = "FixMyStreet 闵行") -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["apikeys", "create", "--name", name, "--area", area])
    assert result.exit_code == 0, result.output
    key = result.output.split("api_key: ")[1].strip()
    return int(result.output.split()[3]), key


def test_a_key_is_stored_hashed_and_scoped_to_its_area(app, anon_http, spot, accounts):
    key_id, key = create_key(app, spot["town"])
    with app.app_context():
        token = db.session.scalar(select(ApiToken).where(ApiToken.user_id == key_id))
        assert token.token_hash == token_digest(key) and token.open311_only
        assert token.user.role == "town_supervisor" and token.user.password_hash is None
    mine = o311_post(anon_http, spot, api_key=key)
    assert mine.status_code == 201, mine.text
    rid = mine.json()[0]["service_request_id"]
    shown = anon_http.get(f"{V2}/requests/{rid}.json", params={"api_key": key}).json()[0]
    assert shown["description"] == SECRET  # in its town: in full
    _other_id, other_key = create_key(app, accounts["elsewhere_code"], "网格化平台")
    public = anon_http.get(f"{V2}/requests/{rid}.json", params={"api_key": other_key}).json()[0]
    assert public["description"] == "" and public["agency_responsible"] == spot["name"]


def test_a_key_opens_open311_only(app, anon_http, spot):
    _key_id, key = create_key(app, spot["town"])
    bearer = {"Authorization": f"Bearer {key}"}
    assert anon_http.get(f"{V2}/requests.json", headers=bearer).status_code == 200
    assert anon_http.get("/api/v1/reports", headers=bearer).status_code == 401
    assert anon_http.get("/queues", headers=bearer, allow_redirects=False).status_code in (302, 401)
    assert anon_http.get("/api/v1/volunteers/me", headers=bearer).status_code == 401


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_posts_are_limited_per_key_in_the_spec_error_shape(app, anon_http, spot, fmt):
    _key_id, key = create_key(app, spot["town"])
    _other_id, other = create_key(app, spot["town"], "另一个系统")
    app.config["OPEN311_KEY_PER_MINUTE"] = 2
    try:
        assert [o311_post(anon_http, spot, fmt, api_key=key).status_code for _ in range(2)] == [201, 201]
        refused = o311_post(anon_http, spot, fmt, api_key=key)
        assert refused.status_code == 429
        [(code, description)] = errors_of(refused, fmt)
        assert code == 429 and "一分钟后再试" in description and "志愿者" not in description
        assert o311_post(anon_http, spot, fmt, api_key=other).status_code == 201  # each key its own count
        retry = o311_post(anon_http, spot, fmt, api_key=key, headers={"Idempotency-Key": "k1"})
        assert retry.status_code == 429
    finally:
        app.config["OPEN311_KEY_PER_MINUTE"] = 60


def test_revoked_and_unknown_keys_are_refused(app, anon_http, spot, accounts):
    key_id, key = create_key(app, spot["town"])
    listed = app.test_cli_runner().invoke(args=["apikeys", "list"])
    assert f"{key_id}\t{spot['town']}" in listed.output and "active\tFixMyStreet 闵行" in listed.output
    assert app.test_cli_runner().invoke(args=["apikeys", "revoke", str(key_id)]).exit_code == 0
    refused = o311_post(anon_http, spot, api_key=key)
    assert refused.status_code == 403 and errors_of(refused, "json")[0][0] == 403
    person = str(accounts["admin"]["id"])  # not id 1: a key made before the people (a hotline's) may hold it
    assert app.test_cli_runner().invoke(args=["apikeys", "revoke", person]).exit_code != 0  # a person, not a key
    bad = app.test_cli_runner().invoke(args=["apikeys", "create", "--name", "x", "--area", "999999999"])
    assert bad.exit_code != 0 and "no area with code" in bad.output
