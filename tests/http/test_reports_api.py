"""The report intake and read API over real HTTP against PostGIS."""
import io
import math

import pytest
from PIL import Image
from sqlalchemy import select

from geo import coords
from service.core.db import db
from service.core.models import Photo
from tests.support.images import jpeg, png
from tests.support.reports_api import counts, files_on_disk, post


def test_report_with_device_coordinates_is_assigned_by_polygon(app, http, spot):
    from service.areas.boundaries import current_generation

    with app.app_context():
        in_force = current_generation("committee")  # earlier tests may have imported further generations
    r = post(http, lon=spot["lon"], lat=spot["lat"], accuracy_m="12")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "submitted"
    assert body["location_source"] == "device"
    assert body["committee"] == {"code": spot["code"], "name": spot["name"]}
    assert body["town"]["code"] == spot["town"]
    assert body["assignment"] == {"method": "covers", "distance_m": 0.0, "generation": in_force,  # which answered
                                  "method_name": "位于该居村委辖区内"}
    assert math.isclose(body["location"]["lon"], spot["lon"], abs_tol=1e-7)
    again = http.get(f"/api/v1/reports/{body['id']}").json()
    assert {k: v for k, v in again.items() if k != "events"} == body  # GET adds the history
    thumb = http.get(body["thumbnails"][0])
    assert thumb.status_code == 200 and max(Image.open(io.BytesIO(thumb.content)).size) <= 320


def test_location_falls_back_to_exif_gps(http, spot):
    r = post(http, photo=jpeg(gps=(spot["lon"], spot["lat"])))
    assert r.status_code == 201, r.text
    assert r.json()["location_source"] == "exif"
    assert r.json()["committee"]["code"] == spot["code"]


def test_gcj02_coordinates_are_converted_before_assignment(http, spot):
    glon, glat = coords.wgs84_to_gcj02(spot["lon"], spot["lat"])
    body = post(http, lon=glon, lat=glat, crs="gcj02", location_source="map").json()
    assert body["location_source"] == "map"
    assert coords.distance_m(body["location"]["lon"], body["location"]["lat"], spot["lon"], spot["lat"]) < 0.05
    assert body["committee"]["code"] == spot["code"]


def test_public_copy_has_no_gps_and_original_is_private(http, spot, app):
    body = post(http, photo=jpeg(gps=(spot["lon"], spot["lat"]))).json()
    public = http.get(body["photos"][0])
    assert public.headers["Cache-Control"].count("immutable") == 1
    img = Image.open(io.BytesIO(public.content))
    assert not img.getexif() and 0x8825 not in img.getexif()
    with app.app_context():
        original_key = db.session.scalar(select(Photo.original_key))
    assert app.test_client().get("/photos/" + original_key).status_code == 404  # anonymous: never
    assert http.get("/photos/" + original_key).status_code == 200  # within scope (the district admin's)
    assert http.get("/photos/p/../../etc/passwd").status_code == 404


def test_list_filters_by_status_committee_and_bbox(http, spot):
    first = post(http, lon=spot["lon"], lat=spot["lat"]).json()
    listed = http.get("/api/v1/reports", params={"committee": spot["code"], "status": "submitted"}).json()
    assert [r["id"] for r in listed["reports"]] == [first["id"]]
    box = f"{spot['lon'] - 0.001},{spot['lat'] - 0.001},{spot['lon'] + 0.001},{spot['lat'] + 0.001}"
    assert http.get("/api/v1/reports", params={"bbox": box}).json()["count"] == 1
    far = "121.0,30.0,121.1,30.1"
    assert http.get("/api/v1/reports", params={"bbox": far}).json()["count"] == 0
    assert http.get("/api/v1/reports", params={"status": "accepted"}).json()["count"] == 0


def test_client_report_id_makes_retries_idempotent(http, spot, app):
    first = post(http, lon=spot["lon"], lat=spot["lat"], client_report_id="abc-1")
    retry = post(http, lon=spot["lon"], lat=spot["lat"], client_report_id="abc-1")
    assert (first.status_code, retry.status_code) == (201, 200)
    assert retry.json()["id"] == first.json()["id"]
    assert counts(app) == (1, 1, 1)


BAD_INPUTS = [
    ({"category": "no_such"}, None, 422, "bad_category"),
    ({"lon": "nan", "lat": "31.1"}, None, 422, "bad_lon"),
    ({"lon": "121.4", "lat": "95"}, None, 422, "bad_lat"),
    ({"lon": "121.4"}, None, 422, "bad_location"),
    ({"lon": "121.4", "lat": "31.1", "crs": "utm"}, None, 422, "bad_crs"),
    ({}, b"this is not an image", 415, "photo_type"),
    ({}, jpeg()[:300], 422, "photo_corrupt"),
    ({}, jpeg(), 422, "no_location"),
    ({"lon": "116.39", "lat": "39.9"}, None, 422, "outside_area"),
]


@pytest.mark.parametrize(("fields", "photo", "status", "code"), BAD_INPUTS)
def test_bad_input_is_a_clear_4xx_and_writes_nothing(http, app, photo_dir, spot, fields, photo, status, code):
    base = {"lon": spot["lon"], "lat": spot["lat"]} if "lon" not in fields and code != "no_location" else {}
    r = post(http, photo=photo, **(base | fields))
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"] == code
    assert any("\u4e00" <= ch <= "\u9fff" for ch in error["message"]), error["message"]
    assert counts(app) == (0, 0, 0)
    assert files_on_disk(photo_dir) == []


def test_missing_photo_and_oversize_body(http, app, spot):
    r = http.post("/api/v1/reports", data={"category": "other", "lon": spot["lon"], "lat": spot["lat"]})
    assert r.status_code == 400 and r.json()["error"]["code"] == "photo_missing"
    huge = b"\xff\xd8" + b"0" * (app.config["MAX_CONTENT_LENGTH"] + 10)
    r = post(http, photo=huge, lon=spot["lon"], lat=spot["lat"])
    assert r.status_code == 413 and "照片" in r.json()["error"]["message"]
    assert counts(app) == (0, 0, 0)


def test_png_is_accepted_and_english_is_a_switch(http, spot):
    files = [("photo", ("x.png", png(), "image/png"))]
    data = {"category": "other", "lon": spot["lon"], "lat": spot["lat"]}
    assert http.post("/api/v1/reports", data=data, files=files).status_code == 201
    r = http.post("/api/v1/reports?lang=en", data={"category": "bad"}, files=files)
    assert r.json()["error"]["message"].isascii()


def test_failed_commit_leaves_no_row_and_no_file(app, photo_dir, spot, monkeypatch):
    def broken_commit():
        raise RuntimeError("database went away")

    with app.test_request_context():
        from werkzeug.datastructures import FileStorage, MultiDict

        from service.reports import intake

        monkeypatch.setattr(db.session, "commit", broken_commit)
        form = MultiDict({"category": "other", "lon": str(spot["lon"]), "lat": str(spot["lat"])})
        with pytest.raises(RuntimeError):
            intake.create_report(form, [FileStorage(io.BytesIO(jpeg()), "a.jpg")])
    assert files_on_disk(photo_dir) == []
    assert counts(app) == (0, 0, 0)


def test_the_address_is_kept_shown_and_bounded(http, spot):
    body = post(http, lon=spot["lon"], lat=spot["lat"], address="莘庄镇某小区 3 号楼 1 单元").json()
    assert body["address"] == "莘庄镇某小区 3 号楼 1 单元"
    assert "莘庄镇某小区 3 号楼 1 单元" in http.get(f"/reports/{body['id']}").text
    long = post(http, lon=spot["lon"], lat=spot["lat"], address="长" * 500).json()
    assert long["address"] == "长" * 200
