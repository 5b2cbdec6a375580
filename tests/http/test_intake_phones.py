"""Intake for real phones: formats, rotation, privacy, warnings, duplicates, exactly-once, storage crashes."""
import io
import threading
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pillow_heif
import pytest
from PIL import Image

from geo import coords
from geo.exif import build_gps_exif
from service.photos.storage import LocalBatch
from tests.support.images import encode as encode_image
from tests.support.images import jpeg, scene
from tests.support.intake_phones import (
    at,
    exif_clock,
    fetch_image,
    send,
)
from tests.support.reports_api import counts, files_on_disk
from tests.support.seeding import seed_like

pillow_heif.register_heif_opener()


def encode(fmt: str, size=(400, 300), **save) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (90, 140, 30)).save(buf, fmt, **save)
    return buf.getvalue()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "HEIF"])
def test_formats_are_sniffed_from_bytes_not_names(http, spot, fmt):
    r = send(http, [encode(fmt)], **at(spot))  # every file is named .bin and typed octet-stream
    assert r.status_code == 201, r.text
    assert fetch_image(http, r.json()["photos"][0]).format == "JPEG"


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF"])
def test_other_image_formats_are_415(http, spot, app, fmt):
    r = send(http, [encode(fmt)], **at(spot))
    assert r.status_code == 415 and "JPEG" in r.json()["error"]["message"]
    assert counts(app) == (0, 0, 0)


def test_heic_with_exif_gps_locates_the_report(http, spot):
    heic = encode("HEIF", exif=build_gps_exif(spot["lon"], spot["lat"]).tobytes())
    body = send(http, [heic]).json()
    assert body["location_source"] == "exif" and body["committee"]["code"] == spot["code"]


def test_rotated_photo_is_published_upright_small_and_without_metadata(http, spot):
    original = jpeg(size=(3000, 2000), orientation=6, gps=(spot["lon"], spot["lat"]))
    body = send(http, [original]).json()
    public = fetch_image(http, body["photos"][0])
    assert public.size == (1365, 2048)  # turned upright (portrait), longest side 2048
    assert public.getpixel((public.width - 10, 10))[2] > 150  # the blue top-left corner is now top-right
    assert not public.getexif() and "xmp" not in public.info and "icc_profile" not in public.info
    assert max(fetch_image(http, body["thumbnails"][0]).size) <= 320


def test_private_data_never_reaches_the_public_copy(http, spot):
    img = Image.new("RGB", (800, 600), (10, 10, 10))
    exif = build_gps_exif(spot["lon"], spot["lat"])
    exif.get_ifd(0x8769)[0xA431] = "SERIAL-12345"  # BodySerialNumber
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif.tobytes(), xmp=b"<x:xmpmeta>home-address</x:xmpmeta>")
    body = send(http, [buf.getvalue()]).json()
    for url in body["photos"] + body["thumbnails"]:
        data = http.get(url).content
        assert b"SERIAL-12345" not in data and b"home-address" not in data and b"Exif" not in data[:200]


def test_one_to_three_photos(http, spot, app):
    assert len(send(http, [jpeg(colour=(i * 40, 0, 0)) for i in range(3)], **at(spot)).json()["photos"]) == 3
    r = send(http, [jpeg() for _ in range(4)], **at(spot))
    assert r.status_code == 422 and r.json()["error"]["code"] == "too_many_photos"
    assert counts(app)[0] == 1


def test_decompression_bombs_are_422(http, spot, app):
    for size in ((9000, 9000), (14000, 14000)):  # over our limit; over Pillow's own bomb limit
        buf = io.BytesIO()
        Image.new("1", size).save(buf, "PNG")
        r = send(http, [buf.getvalue()], **at(spot))
        assert r.status_code == 422 and r.json()["error"]["code"] == "photo_pixels", r.text
    assert counts(app) == (0, 0, 0)


def test_photo_over_the_byte_limit_is_413(http, spot, app):
    big = jpeg() + b"\0" * (app.config["MAX_PHOTO_BYTES"] - len(jpeg()) + 1)
    r = send(http, [big], **at(spot))
    assert r.status_code == 413 and "MB" in r.json()["error"]["message"]


@pytest.mark.parametrize("crs", ["gcj02", "bd09"])
def test_map_picks_in_chinese_systems_are_converted(http, spot, crs):
    lon, lat = coords.from_wgs84(spot["lon"], spot["lat"], crs)
    body = send(http, [jpeg()], lon=lon, lat=lat, crs=crs, location_source="map").json()
    assert body["location_source"] == "map" and body["submitted"]["crs"] == crs
    assert coords.distance_m(body["location"]["lon"], body["location"]["lat"], spot["lon"], spot["lat"]) < 0.05


def _offset(spot, metres_east: float) -> dict:
    mx, _my = coords.metres_per_degree(spot["lat"])
    return {"lon": spot["lon"] + metres_east / mx, "lat": spot["lat"]}


def test_possible_duplicates_same_category_nearby_open_recent(http, spot):
    first = send(http, [jpeg(colour=(1, 2, 3))], **at(spot)).json()
    near = send(http, [jpeg(colour=(200, 2, 3))], **_offset(spot, 20)).json()
    assert [d["id"] for d in near["possible_duplicates"]] == [first["id"]]
    assert 18 < near["possible_duplicates"][0]["distance_m"] < 22
    other_category = send(http, [jpeg(colour=(3, 200, 3))], category="other", **_offset(spot, 10))
    assert other_category.json()["possible_duplicates"] == []
    far = send(http, [jpeg(colour=(3, 2, 200))], **_offset(spot, 80)).json()
    assert far["possible_duplicates"] == []  # 60 m from near, 80 m from first: both beyond 50 m
    again = http.get(f"/api/v1/reports/{first['id']}").json()
    assert [d["id"] for d in again["possible_duplicates"]] == [near["id"]]


def test_duplicate_photo_by_hash_and_by_perceptual_hash(http, spot):
    original = encode_image(scene(1))
    first = send(http, [original], **at(spot)).json()
    assert first["duplicate_photo_of"] is None
    same = send(http, [original], **_offset(spot, 300)).json()
    assert same["duplicate_photo_of"] == first["id"]
    smaller = encode_image(scene(1).resize((600, 450)), quality=60)  # re-encoded and resized: other sha256
    resized = send(http, [smaller], **_offset(spot, 600)).json()
    assert resized["duplicate_photo_of"] == same["id"]  # the newest report holding a near-identical photo
    unrelated = send(http, [encode_image(scene(2))], **_offset(spot, 900)).json()
    assert unrelated["duplicate_photo_of"] is None
    flat = send(http, [jpeg(colour=(5, 5, 5))], **_offset(spot, 1200)).json()
    flat_too = send(http, [jpeg(colour=(250, 250, 250))], **_offset(spot, 1500)).json()
    assert flat["duplicate_photo_of"] is None and flat_too["duplicate_photo_of"] is None


def test_same_client_id_with_other_content_is_409(http, spot, app):
    assert send(http, [jpeg()], **at(spot, client_report_id="k1")).status_code == 201
    r = send(http, [jpeg(colour=(0, 0, 0))], **at(spot, client_report_id="k1"))
    assert r.status_code == 409 and "刷新" in r.json()["error"]["message"]
    assert counts(app)[0] == 1


def test_concurrent_retries_create_one_report(live_server, spot, app, photo_dir):
    import requests

    photo, key = jpeg(size=(2000, 1500)), str(uuid.uuid4())
    results, barrier = [], threading.Barrier(4)

    def race():
        barrier.wait()
        files = [("photo", ("a.jpg", photo, "image/jpeg"))]
        data = {"category": "other", "client_report_id": key} | at(spot)
        results.append(requests.post(live_server + "/api/v1/reports", data=data, files=files, timeout=60))

    threads = [threading.Thread(target=race) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status_code for r in results) == [200, 200, 200, 201]
    assert len({r.json()["id"] for r in results}) == 1
    assert counts(app) == (1, 1, 1)
    assert len(files_on_disk(photo_dir)) == 3  # original, public copy, thumbnail: no leftovers


def sweep(app, hours="0"):
    result = app.test_cli_runner().invoke(args=["photos", "sweep", "--older-than", hours])
    assert result.exit_code == 0, result.output
    return result.output


def test_crash_before_commit_leaves_only_temporaries_that_sweep_removes(http, spot, app, photo_dir, monkeypatch):
    monkeypatch.setattr(LocalBatch, "discard", lambda self: None)  # the process died: no cleanup ran
    def crash(*args):
        raise RuntimeError("crash between staging the files and the commit")

    monkeypatch.setattr("service.reports.notices.tell_areas", crash)
    assert send(http, [jpeg()], **at(spot)).status_code == 500
    assert counts(app) == (0, 0, 0)
    leftovers = files_on_disk(photo_dir)
    assert len(leftovers) == 3 and all(".tmp-" in p.name for p in leftovers)
    assert "removed" in sweep(app, hours="1") and len(files_on_disk(photo_dir)) == 3  # young: maybe in flight
    assert sweep(app).count("removed ") == 3
    assert files_on_disk(photo_dir) == []


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # the simulated crash
def test_crash_after_commit_is_rolled_forward_by_sweep(http, spot, app, photo_dir, monkeypatch):
    def die(self):
        raise SystemExit("killed between commit and rename")

    monkeypatch.setattr(LocalBatch, "publish", die)
    with pytest.raises(Exception):  # noqa: B017 - the server thread dies; the client sees a dropped connection
        send(http, [jpeg()], **at(spot))
    monkeypatch.undo()
    assert counts(app) == (1, 1, 1)
    report = http.get("/api/v1/reports").json()["reports"][0]
    assert http.get(report["photos"][0]).status_code == 404
    out = sweep(app)
    assert out.count("published ") == 3
    assert http.get(report["photos"][0]).status_code == 200
    assert all(".tmp-" not in p.name for p in files_on_disk(photo_dir))


def test_disk_failure_while_staging_is_503_and_leaves_nothing(http, spot, app, photo_dir, monkeypatch):
    calls = []
    real_put = LocalBatch.put

    def flaky_put(self, key, data):
        calls.append(key)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real_put(self, key, data)

    monkeypatch.setattr(LocalBatch, "put", flaky_put)
    r = send(http, [jpeg()], **at(spot))
    assert r.status_code == 503 and "稍后" in r.json()["error"]["message"]
    assert counts(app) == (0, 0, 0)
    assert files_on_disk(photo_dir) == []


def test_sweep_removes_old_orphans_and_keeps_referenced_files(http, spot, app, photo_dir):
    body = send(http, [jpeg()], **at(spot)).json()
    orphan = photo_dir / "p" / "ab" / ("ab" + "0" * 62 + ".jpg")
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"left behind")
    out = sweep(app)
    assert str(orphan) in out and not orphan.exists()
    assert http.get(body["photos"][0]).status_code == 200


@pytest.mark.parametrize("who", ["admin", "sup_a", "staff_a"])
def test_duplicate_search_is_served_by_the_geography_index(app, http, spot, owner_engine, accounts, who):
    """With many open reports, the nearby search (scope inside) uses the partial GiST index on location::geography."""
    import uuid

    from service.core.db import db
    from service.core.models import User
    from service.reports import duplicates

    first = send(http, [jpeg()], **at(spot)).json()
    seed_like(app, owner_engine, first["id"], "submitted")
    with app.app_context():
        user = db.session.get(User, accounts[who]["id"])
        compiled = duplicates.nearby_select(uuid.UUID(first["id"]), "combustibles", user).compile(
            dialect=db.engine.dialect, compile_kwargs={"render_postcompile": True})  # scope may be an IN list
        plan = "\n".join(r[0] for r in db.session.connection().exec_driver_sql("EXPLAIN " + str(compiled),
                                                                                compiled.params))
        db.session.rollback()
    assert "ix_report_open_geog" in plan, plan


def test_a_12_megapixel_photo_is_decoded_at_half_scale(http, spot):
    body = send(http, [jpeg(size=(4000, 3000))], **at(spot)).json()
    assert fetch_image(http, body["photos"][0]).size == (2000, 1500)  # DCT-scaled decode, no resampling


def test_sweep_spares_young_temporaries_and_publish_survives_a_race(app, http, spot, photo_dir):
    body = send(http, [jpeg()], **at(spot)).json()
    key = body["photos"][0].removeprefix("/photos/")
    storage = app.extensions["photo_storage"]
    batch = storage.batch()
    batch.put(key, b"same content uploaded again")  # a second upload of a published photo, in flight
    assert "removed" not in sweep(app, hours="1").replace("0 removed", "")  # young: left alone
    assert len([p for p in files_on_disk(photo_dir) if ".tmp-" in p.name]) == 1
    for tmp, _final in batch.staged:
        tmp.unlink()  # as if another publisher had moved it already
    batch.publish()  # must not raise after the commit
    assert http.get(body["photos"][0]).status_code == 200


def test_a_retry_after_signing_in_returns_the_same_report(anon_http, as_user, spot, app):
    photo, fields = jpeg(colour=(1, 99, 1)), at(spot, client_report_id="outbox-7")
    first = send(anon_http, [photo], **fields)
    again = send(as_user("vol"), [photo], **fields)  # the outbox retried after the volunteer signed in
    assert (first.status_code, again.status_code) == (201, 200) and again.json()["id"] == first.json()["id"]
    other = send(as_user("vol"), [jpeg(colour=(99, 1, 1))], **fields)  # their own, different report
    assert other.status_code == 201 and counts(app)[0] == 2


@pytest.mark.clock_edges  # run again at the day's edges, the process in other zones
def test_warnings_far_exif_old_photo_low_accuracy(http, spot, app, clock):
    far = (spot["lon"] + 0.01, spot["lat"])  # about 950 m east
    old = exif_clock(app, datetime.now(UTC) - timedelta(days=3))
    body = send(http, [jpeg(gps=far, taken_at=old)], **at(spot, accuracy_m="150")).json()
    assert body["warnings"] == ["exif_far_from_device", "photo_old", "low_accuracy"]
    # The service reads the naive EXIF time in LOCAL_TIMEZONE: compare instants, not dates in two zones.
    taken = old.replace(tzinfo=ZoneInfo(app.config["LOCAL_TIMEZONE"]))
    assert datetime.fromisoformat(body["taken_at"]) == taken
    now = exif_clock(app, datetime.now(UTC))
    fresh = send(http, [jpeg(gps=(spot["lon"], spot["lat"]), taken_at=now)], **at(spot, accuracy_m="20"))
    assert fresh.json()["warnings"] == []
