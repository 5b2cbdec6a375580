"""Helpers for the manual redaction tests (tests/http/test_manual_redaction.py and the browser test)."""
import hashlib
import io
import re

from PIL import Image
from sqlalchemy import select

from service.core.db import db
from service.core.models import Photo, ReportEvent
from tests.support.images import encode, scene
from tests.support.intake_phones import at, send


def busy_photo(seed: int = 31) -> bytes:
    """A face-free 1600x1200 scene: its faces-only copy is the plain derive, so any change is the redaction's."""
    return encode(scene(seed, (1600, 1200)), quality=90)


def reported(session, spot, photo: bytes) -> dict:
    r = send(session, [photo], **at(spot))
    assert r.status_code == 201, r.text
    return r.json()


def token(session, path: str) -> str:
    page = session.get(path)
    assert page.status_code == 200, page.text[:300]
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def photo_row(app, report_id: str) -> Photo:
    with app.app_context():
        row = db.session.scalars(select(Photo).where(Photo.report_id == report_id)).one()
        db.session.expunge(row)
        return row


def events(app, report_id: str, *kinds: str) -> list[ReportEvent]:
    with app.app_context():
        rows = db.session.scalars(select(ReportEvent).where(ReportEvent.report_id == report_id,
                                                            ReportEvent.kind.in_(kinds)).order_by(ReportEvent.id)).all()
        for row in rows:
            db.session.expunge(row)
        return rows


def stored(photo_dir, key: str) -> bytes | None:
    path = photo_dir / key
    return path.read_bytes() if path.is_file() else None


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def image(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("RGB")


def mean_difference(a: Image.Image, b: Image.Image, box) -> float:
    """The mean absolute difference of two images' grey levels in a box (pixels of a)."""
    import numpy as np

    ga = np.asarray(a.crop(box).convert("L"), dtype=np.float64)
    gb = np.asarray(b.resize(a.size).crop(box).convert("L"), dtype=np.float64)
    return float(np.abs(ga - gb).mean())
