"""Helpers first written for tests/http/test_intake_phones.py, now shared by several test modules."""
import io
from datetime import datetime
from zoneinfo import ZoneInfo

from PIL import Image


def send(http, photos, **fields):
    files = [("photo", (f"p{i}.bin", data, "application/octet-stream")) for i, data in enumerate(photos)]
    return http.post("/api/v1/reports", data={"category": "combustibles"} | fields, files=files)


def at(spot, **extra):
    return {"lon": spot["lon"], "lat": spot["lat"]} | extra


def fetch_image(http, url) -> Image.Image:
    r = http.get(url)
    assert r.status_code == 200
    return Image.open(io.BytesIO(r.content))


def exif_clock(app, moment: datetime) -> datetime:
    """What a phone set to the programme's zone writes into EXIF at `moment`: naive local wall time."""
    return moment.astimezone(ZoneInfo(app.config["LOCAL_TIMEZONE"])).replace(tzinfo=None, microsecond=0)
