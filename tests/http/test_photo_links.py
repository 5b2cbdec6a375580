"""Signed photo links (issue 24): an after-photo's derived copy opens for a system without a session here while
its link is true and unexpired, and for nobody otherwise; Open311 updates carry such links."""
import time

import pytest
from sqlalchemy import select

from service.core.db import db
from service.core.models import Photo
from service.photos import links
from tests.support.reports_api import post
from tests.support.workflow_api import walk


@pytest.fixture
def after(app, as_user, anon_http, spot):
    rid = post(anon_http, lon=spot["lon"], lat=spot["lat"]).json()["id"]
    walk(as_user, rid, ["accepted", "dispatched", "rectifying", "rectified", "verified"])
    with app.app_context():
        photo = db.session.scalar(select(Photo).where(Photo.report_id == rid, Photo.role == "after"))
        return {"report": rid, "public": photo.public_key, "original": photo.original_key}


def test_a_signed_link_opens_an_after_photo_and_a_bent_one_does_not(app, anon_http, after):
    assert anon_http.get(f"/photos/{after['public']}").status_code == 404  # within scope only
    with app.test_request_context():
        url = links.signed_url(after["public"])
        path = "/" + url.split("/", 3)[3]
        assert anon_http.get(path).status_code == 200
        assert anon_http.get(path[:-1] + ("0" if path[-1] != "0" else "1")).status_code == 404
        expires = int(path.split("expires=")[1].split("&")[0])
        assert anon_http.get(path.replace(f"expires={expires}", f"expires={expires + 1}")).status_code == 404
        stale = links.signed_url(after["public"], ttl_s=-1)
        assert anon_http.get("/" + stale.split("/", 3)[3]).status_code == 404
        with pytest.raises(ValueError):
            links.signed_url(after["original"])  # the original keeps its EXIF: never linked
        forged = path.replace(after["public"], after["original"])
        assert anon_http.get(forged).status_code == 404
    assert int(time.time()) < expires


def test_open311_updates_carry_a_fetchable_after_photo(app, anon_http, accounts, after):
    key = app.test_cli_runner().invoke(args=["apikeys", "create", "--name", "城运", "--area", "310112"]
                                       ).output.split("api_key: ")[1].strip()
    found = anon_http.get("/open311/v2/servicerequestupdates.json", params={"api_key": key}).json()
    mine = {u["status"]: u["media_url"] for u in found if u["service_request_id"] == after["report"]}
    assert mine["fixed"] and "sig=" in mine["fixed"]
    assert anon_http.get("/" + mine["fixed"].split("/", 3)[3]).status_code == 200
