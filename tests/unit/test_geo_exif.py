"""Tests for geo.exif: GPS and capture time from real JPEG files written with Pillow."""

import io
from datetime import datetime

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from PIL import Image
from PIL.TiffImagePlugin import IFDRational

from geo.coords import distance_m
from geo.exif import (
    EXIF_IFD,
    GPS_IFD,
    build_gps_exif,
    gps_from_gps_ifd,
    gps_from_image,
    taken_at_from_image,
)


def jpeg_with(exif: Image.Exif | None = None) -> Image.Image:
    """Return a freshly decoded tiny JPEG written with the given EXIF (or none)."""
    buffer = io.BytesIO()
    image = Image.new("RGB", (16, 12), (200, 60, 40))
    if exif is None:
        image.save(buffer, "JPEG")
    else:
        image.save(buffer, "JPEG", exif=exif.tobytes())
    buffer.seek(0)
    return Image.open(buffer)


def gps_exif(gps: dict) -> Image.Exif:
    """Return an Exif whose GPS IFD holds exactly the given tags."""
    exif = Image.Exif()
    exif.get_ifd(GPS_IFD).update(gps)
    return exif


def rationals(*values) -> tuple:
    """Return a tuple of IFDRational from (numerator, denominator) pairs."""
    return tuple(IFDRational(n, d) for n, d in values)


def test_build_gps_exif_round_trip_through_jpeg():
    taken = datetime(2026, 3, 1, 9, 30, 15)
    image = jpeg_with(build_gps_exif(121.3817123, 31.1130456, taken))
    lon, lat = gps_from_image(image)
    assert distance_m(lon, lat, 121.3817123, 31.1130456) < 0.01
    assert taken_at_from_image(image) == taken


def test_build_gps_exif_can_be_passed_straight_to_save():
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, "JPEG", exif=build_gps_exif(-73.985, -40.75))
    buffer.seek(0)
    lon, lat = gps_from_image(Image.open(buffer))
    assert (lon, lat) == pytest.approx((-73.985, -40.75), abs=1e-7)
    assert taken_at_from_image(Image.open(buffer)) is None


def test_build_gps_exif_rejects_impossible_positions():
    for lon, lat in [(200, 31), (121, 95), (float("nan"), 31)]:
        with pytest.raises(ValueError):
            build_gps_exif(lon, lat)


def test_dms_rationals_with_south_and_west_refs_from_jpeg():
    exif = gps_exif(
        {1: "S", 2: rationals((33, 1), (52, 1), (8, 1)), 3: "W", 4: rationals((151, 1), (12, 1), (30, 1))}
    )
    lon, lat = gps_from_image(jpeg_with(exif))
    assert lat == pytest.approx(-(33 + 52 / 60 + 8 / 3600))
    assert lon == pytest.approx(-(151 + 12 / 60 + 30 / 3600))


def test_zero_denominators_from_jpeg_give_none():
    exif = gps_exif(
        {1: "N", 2: rationals((31, 1), (6, 0), (0, 0)), 3: "E", 4: rationals((121, 1), (0, 1), (0, 1))}
    )
    assert gps_from_image(jpeg_with(exif)) is None


def test_no_exif_and_no_gps_give_none():
    assert gps_from_image(jpeg_with()) is None
    assert taken_at_from_image(jpeg_with()) is None
    only_time = Image.Exif()
    only_time.get_ifd(EXIF_IFD)[0x9003] = "2025:12:31 23:59:59"
    image = jpeg_with(only_time)
    assert gps_from_image(image) is None
    assert taken_at_from_image(image) == datetime(2025, 12, 31, 23, 59, 59)


def test_value_forms():
    dms = (31, 6, 40.8)
    expected_lat = 31 + 6 / 60 + 40.8 / 3600
    assert gps_from_gps_ifd({1: b"N", 2: dms, 3: b"E", 4: (121, 0, 0)}) == pytest.approx(
        (121.0, expected_lat)
    )
    tuples = {1: "N\x00", 2: ((31, 1), (6, 1), (408, 10)), 3: "e", 4: ((121, 1), (30, 1), (0, 1))}
    assert gps_from_gps_ifd(tuples) == pytest.approx((121.5, expected_lat))
    decimal = {1: "S", 2: (IFDRational(3112, 100),), 3: "W", 4: 121.25}
    assert gps_from_gps_ifd(decimal) == pytest.approx((-121.25, -31.12))


def test_missing_refs_count_as_north_and_east():
    assert gps_from_gps_ifd({2: (31, 0, 0), 4: (121, 0, 0)}) == (121.0, 31.0)


@pytest.mark.parametrize(
    "gps",
    [
        {},
        {1: "N", 2: (31, 0, 0)},  # no longitude
        {1: "X", 2: (31, 0, 0), 3: "E", 4: (121, 0, 0)},  # bad reference
        {1: "N", 2: (95, 0, 0), 3: "E", 4: (121, 0, 0)},  # latitude out of range
        {1: "N", 2: (31, 0, 0), 3: "E", 4: (181, 0, 0)},  # longitude out of range
        {1: "N", 2: (float("nan"), 0, 0), 3: "E", 4: (121, 0, 0)},
        {1: "N", 2: (31, -5, 0), 3: "E", 4: (121, 0, 0)},  # negative minutes
        {1: "N", 2: (0, 0, 0), 3: "E", 4: (0, 0, 0)},  # "no fix" written as zeros
        {1: "N", 2: "31.1", 3: "E", 4: (121, 0, 0)},
        {1: "N", 2: (31, 0, 0, 0), 3: "E", 4: (121, 0, 0)},
        {1: "N", 2: ((31, 0), (0, 1), (0, 1)), 3: "E", 4: (121, 0, 0)},
        {1: "N", 2: (10**400, 1, 1), 3: "E", 4: (121, 0, 0)},
    ],
)
def test_unusable_gps_gives_none(gps):
    assert gps_from_gps_ifd(gps) is None


def test_not_a_mapping_gives_none():
    assert gps_from_gps_ifd(None) is None
    assert gps_from_gps_ifd([1, 2, 3]) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026:03:01 09:30:15", datetime(2026, 3, 1, 9, 30, 15)),
        ("2026-03-01 09:30:15", datetime(2026, 3, 1, 9, 30, 15)),
        ("2026:03:01 09:30:15\x00", datetime(2026, 3, 1, 9, 30, 15)),
        ("0000:00:00 00:00:00", None),
        ("    :  :     :  :  ", None),
        ("yesterday", None),
        ("", None),
    ],
)
def test_taken_at_parsing(value, expected):
    exif = Image.Exif()
    exif.get_ifd(EXIF_IFD)[0x9003] = value
    assert taken_at_from_image(jpeg_with(exif)) == expected


def test_taken_at_falls_back_to_ifd0_datetime():
    exif = Image.Exif()
    exif[0x0132] = "2024:07:08 12:00:01"
    assert taken_at_from_image(jpeg_with(exif)) == datetime(2024, 7, 8, 12, 0, 1)
    exif.get_ifd(EXIF_IFD)[0x9003] = "garbage"
    assert taken_at_from_image(jpeg_with(exif)) == datetime(2024, 7, 8, 12, 0, 1)


scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
    st.binary(max_size=5),
    st.tuples(st.integers(), st.integers()),
    st.builds(IFDRational, st.integers(-(10**12), 10**12), st.integers(-(10**6), 10**6)),
)
gps_value = st.one_of(scalar, st.lists(scalar, max_size=4).map(tuple))


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.integers(0, 31), gps_value, max_size=6))
def test_absurd_gps_never_raises(gps):
    result = gps_from_gps_ifd(gps)
    if result is not None:
        lon, lat = result
        assert -180 <= lon <= 180 and -90 <= lat <= 90


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(["N", "S", b"N", b"S", None]),
    st.tuples(gps_value, gps_value, gps_value),
    st.sampled_from(["E", "W", b"E", b"W", None]),
    st.tuples(gps_value, gps_value, gps_value),
)
def test_absurd_gps_with_valid_keys_never_raises(lat_ref, lat, lon_ref, lon):
    result = gps_from_gps_ifd({1: lat_ref, 2: lat, 3: lon_ref, 4: lon})
    assert result is None or all(v == v for v in result)


@settings(max_examples=50, deadline=None)
@given(st.floats(-179.9, 179.9), st.floats(-89.9, 89.9))
def test_build_then_read_round_trip(lon, lat):
    assume(abs(lon) > 1e-6 or abs(lat) > 1e-6)  # (0, 0) after EXIF rounding means "no fix" by convention
    image = jpeg_with(build_gps_exif(lon, lat))
    read = gps_from_image(image)
    assert read is not None
    assert distance_m(lon, lat, *read) < 0.01


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_corrupt_exif_gives_none():
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, "JPEG", exif=b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\xff\xff garbage")
    buffer.seek(0)
    image = Image.open(buffer)
    assert gps_from_image(image) is None
    assert taken_at_from_image(image) is None
