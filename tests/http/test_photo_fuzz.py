"""Property and fuzz tests of photo intake: hostile, broken or odd uploads never cause a 5xx or leave debris."""
import functools
import io
import math
import re

import pytest
import requests
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from PIL import Image
from PIL.TiffImagePlugin import IFDRational
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from geo.exif import EXIF_IFD, GPS_IFD, TAG_DATETIME_ORIGINAL, build_gps_exif, gps_from_gps_ifd
from service.core.db import db
from service.core.errors import ApiError
from service.core.models import Photo, Report, ReportEvent
from service.photos.pipeline import inspect, process_photo
from tests.support.images import jpeg

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:PIL.TiffImagePlugin")  # Pillow on corrupt EXIF
CJK = re.compile(r"[\u4e00-\u9fff]")
URL = "/api/v1/reports"
FUZZ = settings(max_examples=50, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
MAGIC = [b"\xff\xd8\xff\xe0", b"\xff\xd8\xff\xe1\x00\x10Exif\x00\x00", b"\x89PNG\r\n\x1a\n",
         b"RIFF\x00\x00\x00\x00WEBPVP8 ", b"\x00\x00\x00\x18ftypheic", b"\x00\x00\x00\x1cftypavif", b"GIF89a", b"BM",
         b"II*\x00", b"P6\n1 1\n255\n"]
# Formats Pillow can read but intake does not accept: their files must be a 415 however broken.
FOREIGN = "AVIF BMP DDS EPS GIF ICO JPEG2000 PCX PPM QOI SGI SPIDER TGA TIFF".split()


@functools.cache
def encoded(fmt: str) -> bytes:  # a small image; in JPEG, WebP and HEIC with EXIF GPS and orientation 6
    exif = build_gps_exif(121.4, 31.2)
    exif[0x0112] = 6
    extra = {"exif": exif.tobytes()} if fmt in ("JPEG", "WEBP", "HEIF") else {}
    Image.new("RGB", (40, 30), (200, 60, 40)).save(buf := io.BytesIO(), fmt, **extra)
    return buf.getvalue()


def upload(session, photo: bytes, fields=None):
    """POST one report over real HTTP (requests) or the Flask test client."""
    fields = MultiDict(fields or {"category": "ebike_charging"})
    if isinstance(session, requests.Session):
        return session.post(URL, data=list(fields.items(multi=True)), files=[("photo", ("p.jpg", photo, "image/jpeg"))])
    fields.add("photo", (io.BytesIO(photo), "p.jpg", "image/jpeg"))
    return session.post(URL, data=fields, content_type="multipart/form-data")


def snapshot(app, photo_dir) -> tuple[tuple[int, ...], set[str]]:
    """Row counts of report/photo/report_event and every file under photo_dir (temporaries included)."""
    with app.app_context():
        rows = tuple(db.session.scalar(select(func.count()).select_from(t)) for t in (Report, Photo, ReportEvent))
        db.session.rollback()
    return rows, {str(p.relative_to(photo_dir)) for p in photo_dir.rglob("*") if p.is_file()}


def at(spot, **extra) -> dict:
    return {"category": "ebike_charging", "lon": str(spot["lon"]), "lat": str(spot["lat"])} | extra


def check(session, app, photo_dir, before, r, ok=(201,), errors=None) -> dict:
    """Assert r is a clean success (report complete, files served) or a clean JSON 4xx with nothing stored."""
    (rows, files), (after_rows, after_files) = before, snapshot(app, photo_dir)
    assert not any(".tmp-" in f for f in after_files), after_files
    payload = r.json() if isinstance(r, requests.Response) else r.get_json()
    assert r.status_code < 500, (r.status_code, payload)
    if r.status_code in ok:
        with app.app_context():
            keys = db.session.execute(select(Photo.original_key, Photo.public_key, Photo.thumb_key)
                                      .where(Photo.report_id == payload["id"])).all()
        assert len(keys) == len(payload["photos"]) == len(payload["thumbnails"]) >= 1
        assert after_rows == (rows[0] + 1, rows[1] + len(keys), rows[2] + 1)
        stored = {k for triple in keys for k in triple}
        assert stored <= after_files and after_files - files <= stored
        for url in payload["photos"] + payload["thumbnails"]:
            assert session.get(url).status_code == 200, url
        return payload
    assert 400 <= r.status_code < 500, r.status_code
    assert set(payload) == {"error"} and CJK.search(payload["error"]["message"]) and payload["error"]["code"], payload
    assert errors is None or (r.status_code, payload["error"]["code"]) in errors, payload
    assert (after_rows, after_files) == (rows, files), "a rejected upload left rows or files behind"
    return payload


# 1. Random bytes, bare magic numbers, and broken files of formats intake does not take are rejected cleanly.
@FUZZ
@given(data=st.data())
def test_random_bytes_are_rejected(http, app, photo_dir, spot, data):
    kind = data.draw(st.sampled_from(["random", "magic", "foreign"]), label="kind")
    photo = bytearray(data.draw(st.binary(max_size=2048), label="tail"))
    errors = {(415, "photo_type"), (422, "photo_corrupt"), (422, "photo_pixels")}
    if kind == "magic":
        photo[:0] = data.draw(st.sampled_from(MAGIC), label="magic")
    elif kind == "foreign":
        whole = encoded(data.draw(st.sampled_from(FOREIGN), label="format"))
        photo[:0] = whole[: data.draw(st.integers(1, len(whole)), label="cut")]
        for offset, value in data.draw(st.lists(st.tuples(st.integers(0, len(photo) - 1), st.integers(0, 255)),
                                                max_size=6), label="edits"):
            photo[offset] = value
        errors = {(415, "photo_type")}
    before = snapshot(app, photo_dir)
    r = upload(http, bytes(photo), at(spot))
    check(http, app, photo_dir, before, r, ok=(), errors=errors if photo else {(400, "photo_empty")})


# 2. A JPEG cut anywhere (often near its end) is a complete report or a clean 4xx.
@FUZZ
@given(data=st.data())
def test_truncated_jpeg(client, app, photo_dir, spot, data):
    whole = jpeg((320, 240), gps=(spot["lon"], spot["lat"]), orientation=6)
    cut = data.draw(st.one_of(st.integers(0, len(whole)), st.integers(len(whole) - 64, len(whole))), label="cut")
    before = snapshot(app, photo_dir)
    payload = check(client, app, photo_dir, before, upload(client, whole[:cut]))
    assert "id" not in payload or (payload["location_source"], payload["committee"]["code"]) == ("exif", spot["code"])


# 3. Bytes flipped or overwritten anywhere in a JPEG, often in its headers and EXIF block.
@FUZZ
@given(data=st.data(), send_location=st.booleans())
def test_corrupted_jpeg(client, app, photo_dir, spot, data, send_location):
    buf = bytearray(jpeg((320, 240), gps=(spot["lon"], spot["lat"]), orientation=6))
    offsets = st.one_of(st.integers(0, len(buf) - 1), st.integers(0, 400))
    for offset, value, xor in data.draw(st.lists(st.tuples(offsets, st.integers(0, 255), st.booleans()),
                                                 min_size=1, max_size=24), label="edits"):
        buf[offset] = buf[offset] ^ (value or 1) if xor else value
    before = snapshot(app, photo_dir)
    check(client, app, photo_dir, before, upload(client, bytes(buf), at(spot) if send_location else None))


def test_every_bit_flip_in_headers_is_handled(app):
    """Each single-bit flip in the headers (and EXIF) of a small JPEG, WebP and HEIC passes the in-process
    checks or is an ApiError; every eighth one is also decoded, each decode costing a sandboxed child."""
    with app.test_request_context():
        for fmt, header in (("JPEG", 256), ("WEBP", 256), ("HEIF", 400)):
            whole = encoded(fmt)
            for i in range(min(header, len(whole))):
                for bit in range(8):
                    flipped = whole[:i] + bytes([whole[i] ^ 1 << bit]) + whole[i + 1:]
                    try:
                        inspect(flipped) if (i * 8 + bit) % 8 else process_photo(flipped, 64_000_000)
                    except ApiError as e:
                        assert 400 <= e.status < 500, (fmt, i, bit, e.code)


# 4. Absurd EXIF GPS and capture times.
NONNEGATIVE = st.one_of(st.integers(0, 2**40), st.floats(0), st.sampled_from([math.nan, math.inf]),
                        st.builds(IFDRational, st.integers(0, 2**33), st.integers(0, 2**33)))
NUMBERS = st.one_of(st.integers(-(2**40), 2**40), st.floats(allow_nan=True, allow_infinity=True),
                    st.builds(IFDRational, st.integers(-(2**33), 2**33), st.integers(-(2**33), 2**33)))
VALUES = st.one_of(NONNEGATIVE, st.lists(NONNEGATIVE, max_size=5).map(tuple), NUMBERS, st.text(max_size=8),
                   st.binary(max_size=8), st.tuples(st.integers(), st.integers()).map(lambda t: (t,)))
REFS = st.one_of(st.sampled_from(["N", "S", "E", "W", "X", "", "n", "NN", "S\x00", b"X"]), st.binary(max_size=3),
                 st.text(max_size=3), st.integers())
TIMES = st.one_of(st.sampled_from(["0000:00:00 00:00:00", "0001:01:01 00:00:00", "9999:12:31 23:59:59",
                                   "2026:13:45 99:99:99", "2024-05-01 10:00:00", "", "    :  :     :  :  "]),
                  st.datetimes().map(lambda d: d.strftime("%Y:%m:%d %H:%M:%S")), st.text(max_size=24))


def reference_gps(ifd) -> tuple[float, float] | None:
    """An independent reading of a GPS IFD as Pillow read it back: (lon, lat) or None."""
    def degrees(value):
        parts = value if isinstance(value, tuple) else (value,)
        numeric = all(isinstance(p, int | float | IFDRational) and not isinstance(p, bool) for p in parts)
        if not numeric or not 1 <= len(parts) <= 3 or any(getattr(p, "denominator", 1) == 0 for p in parts):
            return None
        total = sum(float(p) / 60**i for i, p in enumerate(parts))
        return total if all(float(p) >= 0 for p in parts) and math.isfinite(total) else None

    def sign(ref, pos, neg):
        ref = ref.strip("\x00 ").upper() if isinstance(ref, str) else ref if ref is None else "?"
        return {None: 1, "": 1, pos: 1, neg: -1}.get(ref)

    lat, lon = degrees(ifd.get(2)), degrees(ifd.get(4))
    lat_s, lon_s = sign(ifd.get(1), "N", "S"), sign(ifd.get(3), "E", "W")
    if None in (lat, lon, lat_s, lon_s) or abs(lat) > 90 or abs(lon) > 180 or lat == lon == 0:
        return None
    return lon * lon_s, lat * lat_s


@FUZZ
@given(refs=st.dictionaries(st.sampled_from([1, 3]), st.one_of(st.none(), REFS)),
       values=st.dictionaries(st.sampled_from([2, 4]), st.one_of(st.none(), VALUES)),
       taken=st.one_of(st.none(), TIMES), shift=st.sampled_from([0.0, 1e-4, 1.0]), gps_kind=st.integers(0, 4))
@example(refs={}, values={}, taken="0001:01:01 00:00:00", shift=0.0, gps_kind=1)  # was a 500 after the commit
def test_absurd_exif(client, app, photo_dir, spot, refs, values, taken, shift, gps_kind):
    exif = Image.Exif() if gps_kind == 0 else build_gps_exif(spot["lon"] + shift, spot["lat"])
    gps = exif.get_ifd(GPS_IFD)
    for tag, value in (refs | values if gps_kind > 1 else {}).items():  # gps_kind 1: a clean position
        gps.pop(tag, None) if value is None else gps.__setitem__(tag, value)
    if taken is not None:
        exif.get_ifd(EXIF_IFD)[TAG_DATETIME_ORIGINAL] = taken
    try:
        Image.new("RGB", (64, 48), (200, 60, 40)).save(buf := io.BytesIO(), "JPEG", exif=exif.tobytes())
    except Exception:  # noqa: BLE001 - whatever Pillow refuses to write cannot come from a phone either
        assume(False)
    expected = reference_gps(Image.open(io.BytesIO(buf.getvalue())).getexif().get_ifd(GPS_IFD))
    inside = expected is not None and client.get("/api/v1/areas/lookup", query_string={
        "lon": repr(expected[0]), "lat": repr(expected[1])}).status_code == 200
    before = snapshot(app, photo_dir)
    r = upload(client, buf.getvalue())
    payload = check(client, app, photo_dir, before, r, errors={(422, "no_location"), (422, "outside_area")})
    if inside:
        assert r.status_code == 201 and payload["location_source"] == "exif", payload
        assert math.dist((payload["location"]["lon"], payload["location"]["lat"]), expected) < 1e-6
    else:
        assert payload["error"]["code"] == ("no_location" if expected is None else "outside_area"), payload


LEAVES = st.one_of(st.none(), st.booleans(), NUMBERS, st.text(max_size=5), st.binary(max_size=5), st.fractions(),
                   st.decimals(allow_nan=True), st.integers(-(10**400), 10**400))


@settings(max_examples=300, deadline=None, derandomize=True)
@given(ifd=st.one_of(st.dictionaries(st.integers(0, 31), st.recursive(
    LEAVES, lambda kids: st.lists(kids, max_size=4) | st.lists(kids, max_size=4).map(tuple), max_leaves=12)),
    st.lists(st.integers()), st.none(), st.text()))
def test_gps_from_gps_ifd_never_raises(ifd):
    found = gps_from_gps_ifd(ifd)
    assert found is None or (len(found) == 2 and all(isinstance(v, float) and math.isfinite(v) for v in found)
                             and abs(found[0]) <= 180 and abs(found[1]) <= 90), found


# 5. Valid images of every shape, mode, format and orientation become an upright, metadata-free public copy.
MODES = {"JPEG": "RGB L CMYK 1".split(), "PNG": "RGB L RGBA P LA 1 I;16".split(), "WEBP": ["RGB", "RGBA"]}
CORNERS = {1: "TL", 2: "TR", 3: "BR", 4: "BL", 5: "TL", 6: "TR", 7: "BR", 8: "BL"}  # where the top-left ends up


@st.composite
def images(draw):
    fmt = draw(st.sampled_from(sorted(MODES)))
    width = draw(st.integers(1, 3000) | st.integers(2040, 3000))
    height = draw(st.integers(1, max(1, min(3000, 1_200_000 // width))))
    width, height = draw(st.permutations([width, height]))
    img = Image.new("RGB", (width, height), (240, 240, 240))
    img.paste((10, 10, 10), (0, 0, max(1, width // 2), max(1, height // 2)))  # the top-left quadrant is dark
    img = img.convert(draw(st.sampled_from(MODES[fmt])), dither=Image.Dither.NONE)
    exif, orientation = Image.Exif(), draw(st.integers(1, 8))
    exif[0x0112] = orientation
    img.save(buf := io.BytesIO(), fmt, exif=exif.tobytes(), **({"lossless": True} if fmt == "WEBP" else {}))
    return buf.getvalue(), (width, height), orientation


@settings(FUZZ, max_examples=40)
@given(image=images())
def test_valid_images_give_upright_clean_copies(http, app, photo_dir, spot, image):
    data, (width, height), orientation = image
    before = snapshot(app, photo_dir)
    payload = check(http, app, photo_dir, before, upload(http, data, at(spot)))
    public, thumb = (Image.open(io.BytesIO(http.get(payload[k][0]).content)) for k in ("photos", "thumbnails"))
    upright = (height, width) if orientation >= 5 else (width, height)
    longest = min(2048, max(upright))
    assert max(public.size) == longest and max(thumb.size) <= 320
    assert abs(min(public.size) - min(upright) * longest / max(upright)) <= 1 or min(public.size) == 1
    assert (public.width >= public.height) == (upright[0] >= upright[1]) or abs(public.width - public.height) <= 1
    assert not public.getexif() and not thumb.getexif()
    if min(public.size) >= 16:
        grey, (w, h) = public.convert("L"), public.size
        quarters = {"TL": (1, 1), "TR": (3, 1), "BL": (1, 3), "BR": (3, 3)}
        dark = {name for name, (x, y) in quarters.items() if grey.getpixel((x * w // 4, y * h // 4)) < 100}
        assert dark == {CORNERS[orientation]}, (dark, orientation, public.size)


# 6. Multipart oddities.
def test_multipart_oddities(client, app, photo_dir, spot):
    photo = jpeg()

    def post(fields, files):
        form = MultiDict(fields)
        for name, data, filename in files:
            form.add(name, (io.BytesIO(data), filename, "image/jpeg"))
        before = snapshot(app, photo_dir)
        r = client.post(URL, data=form, content_type="multipart/form-data")
        return r.status_code, check(client, app, photo_dir, before, r).get("error", {}).get("code")

    base = list(at(spot).items())
    assert post(base, [("photo", photo, "")]) == (400, "photo_missing")
    assert post(base, [("photo", b"", ""), ("photo", photo, "a.jpg")])[0] == 201
    assert post(base, [("photo", photo, "a.jpg"), ("photo", b"", "b.jpg")]) == (400, "photo_empty")
    assert post(base + [("description", "火" * 2000)], [("photo", jpeg(colour=(1, 2, 3)), "a.jpg")])[0] == 201
    assert post(base + [("description", "火" * 2001)], [("photo", photo, "a.jpg")]) == (422, "description_too_long")
    assert post(base + [("description", "x" * 600_000)], [("photo", photo, "a.jpg")])[0] in (413, 422)
    assert post(base + [("category", "nonsense")], [("photo", jpeg(colour=(9, 9, 9)), "a.jpg")])[0] == 201
    twice = [("category", "nonsense"), ("category", "ebike_charging"), ("lon", spot["lon"]), ("lat", spot["lat"])]
    assert post(twice, [("photo", photo, "a.jpg")]) == (422, "bad_category")
    for lon, expected in [("1e309", "bad_lon"), ("-0", "outside_area"), ("121,4", "bad_lon"), ("nan", "bad_lon"),
                          ("-inf", "bad_lon"), ("0x1p7", "bad_lon"), ("", "bad_location"), ("\x00", "bad_text"),
                          (f" {spot['lon']} ", None)]:
        fields = [("category", "ebike_charging"), ("lon", lon), ("lat", f"\t{spot['lat']}\n")]
        assert post(fields, [("photo", photo, "a.jpg")]) == ((422, expected) if expected else (201, None)), lon


@pytest.mark.parametrize("field", ["description", "client_report_id"])
def test_nul_in_text_fields_is_not_a_server_error(client, app, photo_dir, spot, field):
    before = snapshot(app, photo_dir)
    check(client, app, photo_dir, before, upload(client, jpeg(colour=(7, 7, 7)), at(spot, **{field: "a\x00b"})))
