"""Faces are blurred in every published copy (issue 25): real photos with a face pasted in, real uploads, the real
sandbox and detector; a detection that fails or runs out of time leaves the copy unpublished (待脱敏) until
`photos redact --pending`."""
import hashlib
import io

import pytest
from PIL import Image

from service.photos import decode
from tests.support.accounts import cli
from tests.support.faces import face_photo, sharpness
from tests.support.images import encode, scene
from tests.support.intake_phones import at, fetch_image, send


def original_key(photo: bytes) -> str:
    sha = hashlib.sha256(photo).hexdigest()
    return f"/photos/o/{sha[:2]}/{sha}.jpg"


@pytest.fixture
def config(app):
    """Change the app's settings for one test and put them back."""
    saved = dict(app.config)
    yield app.config
    app.config.clear()
    app.config.update(saved)


def test_a_face_is_blurred_in_the_public_copy_and_thumbnail_and_the_original_is_kept(http, spot):
    photo, box = face_photo()
    body = send(http, [photo], **at(spot)).json()
    public, thumb = fetch_image(http, body["photos"][0]), fetch_image(http, body["thumbnails"][0])
    before = Image.open(io.BytesIO(photo))
    assert sharpness(public, box) < 0.1 * sharpness(before, box)
    background = (100, 800, 500, 1150)  # far from the face: as detailed as it was
    assert sharpness(public, background) > 0.7 * sharpness(before, background)
    small = tuple(v * thumb.width // public.width for v in box)
    plain_thumb = Image.open(io.BytesIO(decode.derive(photo).thumb))
    assert sharpness(thumb, small) < 0.3 * sharpness(plain_thumb, small)
    assert http.get(original_key(photo)).content == photo  # the private original, as sent
    assert body["photos_pending"] == 0


def test_a_face_free_photo_is_published_exactly_as_without_blurring(http, spot):
    photo = encode(scene(7, (1600, 1200)), quality=90)
    body = send(http, [photo], **at(spot)).json()
    assert http.get(body["photos"][0]).content == decode.derive(photo).public  # nothing was blurred


def test_blur_faces_0_publishes_the_face_as_taken(http, spot, config):
    config["BLUR_FACES"] = False
    photo, box = face_photo()
    public = fetch_image(http, send(http, [photo], **at(spot)).json()["photos"][0])
    assert sharpness(public, box) > 0.7 * sharpness(Image.open(io.BytesIO(photo)), box)


@pytest.mark.parametrize("fault", [{"FACE_WALL_S": 0.001}, {"FACE_MEMORY_MB": 1}, {"FACE_CPU_S": 0}],
                         ids=["hangs", "out-of-memory", "out-of-cpu"])
def test_a_failed_detection_publishes_nothing_until_redact_pending(http, spot, app, config, fault):
    defaults = {k: config[k] for k in fault}
    config.update(fault)
    photo, box = face_photo()
    r = send(http, [photo], **at(spot))
    assert r.status_code == 201, r.text  # the report is taken: only its public copy waits
    body = r.json()
    assert body["photos"] == [] and body["thumbnails"] == [] and body["photos_pending"] == 1
    sha = hashlib.sha256(photo).hexdigest()
    for area in "pt":
        assert http.get(f"/photos/{area}/{sha[:2]}/{sha}.jpg").status_code == 404
    assert http.get(original_key(photo)).content == photo
    page = http.get(f"/reports/{body['id']}")
    assert page.status_code == 200 and "待脱敏" in page.text
    swept = cli(app, "photos", "sweep")  # the keys with no file yet are neither missing nor orphans
    assert swept.exit_code == 0 and "0 published, 0 removed" in swept.output, swept.output

    still = cli(app, "photos", "redact", "--pending")  # the fault still holds: it stays waiting
    assert still.exit_code == 1 and "1 still pending" in still.output
    config.update(defaults)
    done = cli(app, "photos", "redact", "--pending")
    assert done.exit_code == 0 and "redact: 1 published, 0 still pending" in done.output, done.output
    body = http.get(f"/api/v1/reports/{body['id']}").json()
    assert body["photos_pending"] == 0 and len(body["photos"]) == 1
    public = fetch_image(http, body["photos"][0])
    assert sharpness(public, box) < 0.1 * sharpness(Image.open(io.BytesIO(photo)), box)
    assert "待脱敏" not in http.get(f"/reports/{body['id']}").text
    assert "0 published" in cli(app, "photos", "redact", "--pending").output  # nothing left: a no-op
