"""Phone-resized uploads over real HTTP: the same privacy, warning, duplicate and exactly-once rules as full size.

`shrink` does to a Pillow-made photo what static/photo_prep.js does on the phone: read the EXIF facts, turn
the photo upright, shrink it to 2048 px, re-encode it at quality 85 with no metadata, and hash the original.
"""
import hashlib
import io
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image, ImageOps
from sqlalchemy import select

from geo.exif import build_gps_exif, gps_from_image, taken_at_from_image
from service.core.db import db
from service.core.models import Photo
from tests.support.images import encode, jpeg, scene
from tests.support.intake_phones import at, exif_clock, fetch_image, send
from tests.support.reports_api import counts

FACTS = ("photo_original_sha256", "photo_original_bytes", "photo_exif_lon", "photo_exif_lat",
         "photo_exif_taken_at", "photo_exif_orientation")


def shrink(original: bytes) -> tuple[bytes, dict]:
    """The phone's copy of a photo and the facts it sends beside it."""
    img = Image.open(io.BytesIO(original))
    gps, taken = gps_from_image(img), taken_at_from_image(img)
    orientation = img.getexif().get(0x0112)
    small = ImageOps.exif_transpose(img)
    small.thumbnail((2048, 2048))
    buf = io.BytesIO()
    small.save(buf, "JPEG", quality=85)
    return buf.getvalue(), {
        "photo_original_sha256": hashlib.sha256(original).hexdigest(), "photo_original_bytes": str(len(original)),
        "photo_exif_lon": str(gps[0]) if gps else "", "photo_exif_lat": str(gps[1]) if gps else "",
        "photo_exif_taken_at": taken.strftime("%Y:%m:%d %H:%M:%S") if taken else "",
        "photo_exif_orientation": str(orientation or ""),
    }


def send_as(path: str, http, originals: list[bytes], **fields):
    """Send photos as the page does on the given path: "full" size or "phone"-resized."""
    if path == "full":
        return send(http, originals, **fields)
    copies, facts = zip(*map(shrink, originals), strict=True)
    lists = {name: [f[name] for f in facts] for name in FACTS}
    files = [("photo", (f"p{i}.jpg", data, "image/jpeg")) for i, data in enumerate(copies)]
    return http.post("/api/v1/reports", data={"category": "combustibles"} | fields | lists, files=files)


def rows(app, report_id: str) -> list[Photo]:
    with app.app_context():
        return db.session.scalars(select(Photo).where(Photo.report_id == report_id).order_by(Photo.id)).all()


PATHS = pytest.mark.parametrize("path", ["full", "phone"])


def test_phone_resized_photo_is_kept_as_the_original_with_the_phones_record(http, spot, app, photo_dir):
    original = encode(scene(7, (4000, 3000)), quality=95,
                      exif=build_gps_exif(spot["lon"], spot["lat"]).tobytes())
    copy, facts = shrink(original)
    body = send_as("phone", http, [original]).json()  # no device position: the phone's EXIF GPS locates it
    assert body["location_source"] == "exif" and body["committee"]["code"] == spot["code"]
    (photo,) = rows(app, body["id"])
    assert photo.phone_original_sha256 == facts["photo_original_sha256"]
    assert photo.phone_original_bytes == len(original) > 2 * len(copy)
    assert photo.sha256 == hashlib.sha256(copy).hexdigest() and photo.bytes == len(copy)
    assert (photo_dir / photo.original_key).read_bytes() == copy  # the resized copy is the stored "original"
    assert (photo.width, photo.height) == (2048, 1536)


def test_the_detail_page_says_the_phone_shrank_the_photo(http, spot):
    original = jpeg(size=(3000, 2000), gps=(spot["lon"], spot["lat"]))
    shrunk = send_as("phone", http, [original]).json()
    page = http.get(f"/reports/{shrunk['id']}").text
    sha = hashlib.sha256(original).hexdigest()
    assert "1 张照片由手机压缩后上传，原图：" in page and f"<code>{sha[:16]}…</code>" in page
    assert "由手机压缩" not in http.get(f"/reports/{send_as('full', http, [original]).json()['id']}").text


def test_full_size_photo_has_no_phone_record(http, spot, app):
    body = send_as("full", http, [jpeg()], **at(spot)).json()
    (photo,) = rows(app, body["id"])
    assert (photo.phone_original_sha256, photo.phone_original_bytes, photo.phone_orientation) == (None, None, None)


def test_a_photo_sent_unchanged_beside_a_resized_one(http, spot, app):
    """A HEIC the browser cannot decode goes up as taken, with empty facts in its place."""
    heic = io.BytesIO()
    Image.new("RGB", (400, 300), (90, 140, 30)).save(heic, "HEIF")
    copy, facts = shrink(jpeg(size=(3000, 2000), orientation=6))
    lists = {name: [facts[name], ""] for name in FACTS}
    files = [("photo", ("a.jpg", copy, "image/jpeg")), ("photo", ("b.heic", heic.getvalue(), "image/heic"))]
    r = http.post("/api/v1/reports", data={"category": "other"} | at(spot) | lists, files=files)
    assert r.status_code == 201, r.text
    resized, unchanged = rows(app, r.json()["id"])
    assert resized.phone_orientation == 6 and (resized.width, resized.height) == (1365, 2048)
    assert unchanged.content_type == "image/heic" and unchanged.phone_original_sha256 is None


@PATHS
def test_public_copies_carry_no_metadata(http, spot, path):
    img = Image.new("RGB", (2400, 1800), (10, 10, 10))
    exif = build_gps_exif(spot["lon"], spot["lat"])
    exif.get_ifd(0x8769)[0xA431] = "SERIAL-12345"
    body = send_as(path, http, [encode(img, exif=exif.tobytes(), xmp=b"<x:xmpmeta>home-address</x:xmpmeta>")]).json()
    for url in body["photos"] + body["thumbnails"]:
        data = http.get(url).content
        assert b"SERIAL-12345" not in data and b"home-address" not in data and b"Exif" not in data[:200]
        assert not Image.open(io.BytesIO(data)).getexif()


@PATHS
def test_rotated_photo_is_published_upright(http, spot, path):
    body = send_as(path, http, [jpeg(size=(3000, 2000), orientation=6)], **at(spot)).json()
    public = fetch_image(http, body["photos"][0])
    assert public.size == (1365, 2048)
    assert public.getpixel((public.width - 10, 10))[2] > 150  # the blue top-left corner is now top-right


@PATHS
def test_warnings_from_the_photos_gps_and_time(http, spot, app, path):
    far, old = (spot["lon"] + 0.01, spot["lat"]), exif_clock(app, datetime.now(UTC) - timedelta(days=3))
    body = send_as(path, http, [jpeg(gps=far, taken_at=old)], **at(spot, accuracy_m="150")).json()
    assert body["warnings"] == ["exif_far_from_device", "photo_old", "low_accuracy"]
    now = exif_clock(app, datetime.now(UTC))
    fresh = send_as(path, http, [jpeg(gps=(spot["lon"], spot["lat"]), taken_at=now)], **at(spot, accuracy_m="20"))
    assert fresh.json()["warnings"] == []


@pytest.mark.parametrize(("first", "second"), [("full", "phone"), ("phone", "full"), ("phone", "phone")])
def test_the_same_photo_is_a_duplicate_whichever_way_it_came(http, spot, first, second):
    original = encode(scene(3, (3000, 2000)), quality=92)
    a = send_as(first, http, [original], **at(spot)).json()
    b = send_as(second, http, [original], lon=spot["lon"] + 0.003, lat=spot["lat"]).json()
    assert a["duplicate_photo_of"] is None and b["duplicate_photo_of"] == a["id"]


@PATHS
def test_a_retry_is_answered_once_and_other_content_is_409(http, spot, app, path):
    original = jpeg(size=(2600, 1900), gps=(spot["lon"], spot["lat"]))
    first = send_as(path, http, [original], client_report_id="retry-1")
    again = send_as(path, http, [original], client_report_id="retry-1")
    assert (first.status_code, again.status_code) == (201, 200) and first.json()["id"] == again.json()["id"]
    other = send_as(path, http, [jpeg(size=(2600, 1900), colour=(1, 2, 3))], client_report_id="retry-1")
    assert other.status_code == 409
    assert counts(app) == (1, 1, 1)


def test_other_facts_under_the_same_key_are_409(http, spot, app):
    copy, facts = shrink(jpeg(size=(2600, 1900)))
    files = [("photo", ("a.jpg", copy, "image/jpeg"))]
    data = {"category": "other", "client_report_id": "k"} | at(spot)
    assert http.post("/api/v1/reports", data=data | facts, files=files).status_code == 201
    lied = facts | {"photo_original_bytes": "12345"}
    assert http.post("/api/v1/reports", data=data | lied, files=files).status_code == 409
    assert counts(app) == (1, 1, 1)


@pytest.mark.parametrize(("change", "code"), [
    ({"photo_original_sha256": ["ab" * 32, "cd" * 32]}, "bad_photo_facts"),  # two values for one photo
    ({"photo_original_sha256": "xyz"}, "bad_photo_original_sha256"),
    ({"photo_original_sha256": ""}, "bad_photo_facts"),  # facts with no hash
    ({"photo_original_bytes": ""}, "bad_photo_facts"),
    ({"photo_original_bytes": "1.5"}, "bad_photo_facts"),
    ({"photo_exif_lat": ""}, "bad_photo_exif_gps"),
    ({"photo_exif_lon": "181"}, "bad_photo_exif_lon"),
    ({"photo_exif_taken_at": "yesterday"}, "bad_photo_exif_taken_at"),
    ({"photo_exif_orientation": "9"}, "bad_photo_exif_orientation"),
])
def test_bad_facts_are_422_in_chinese_and_write_nothing(http, spot, app, photo_dir, change, code):
    copy, facts = shrink(jpeg(size=(1200, 900), gps=(spot["lon"], spot["lat"]), taken_at=datetime(2026, 1, 2)))
    r = http.post("/api/v1/reports", data={"category": "other"} | facts | change,
                  files=[("photo", ("a.jpg", copy, "image/jpeg"))])
    assert r.status_code == 422 and r.json()["error"]["code"] == code, r.text
    assert "请" in r.json()["error"]["message"] or "必须" in r.json()["error"]["message"]
    assert counts(app) == (0, 0, 0) and not list(photo_dir.rglob("*.jpg"))


def test_a_photo_marked_resized_must_be_at_most_the_public_size(http, spot, app):
    big = jpeg(size=(3000, 2000))
    _, facts = shrink(big)
    r = http.post("/api/v1/reports", data={"category": "other"} | at(spot) | facts,
                  files=[("photo", ("a.jpg", big, "image/jpeg"))])
    assert r.status_code == 422 and r.json()["error"]["code"] == "photo_not_resized"
    assert counts(app) == (0, 0, 0)
