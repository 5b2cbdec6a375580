"""A full photo disk (issue 26): the photo store on a real 4 MB tmpfs. An upload that does not fit is a 503 in
Chinese that keeps nothing (no report, no photo row, no file, not even a temporary), the one before it and the
one after space returns are kept whole, and the service needs no restart."""
import os
import subprocess
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from service import create_app
from tests.support.images import camera_photo
from tests.support.live import LiveSession
from tests.support.reports_api import counts, post

SIZE_MB = 4


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "photos"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CI runs as root)")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SIZE_MB}m", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode:
        pytest.skip(f"this machine cannot mount a tmpfs: {done.stderr.strip()}")
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_a_full_disk_is_a_503_that_keeps_nothing_and_space_coming_back_needs_no_restart(app, small_disk, spot):
    served = create_app(app.config | {"PHOTO_DIR": str(small_disk)})
    server = make_server("127.0.0.1", 0, served, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    photo = camera_photo(1)  # ~3.5 MB, kept with a public copy and a thumbnail
    before = counts(app)
    try:
        with LiveSession(f"http://127.0.0.1:{server.server_port}") as http:
            filler = small_disk / "filler"
            filler.write_bytes(b"\0" * (SIZE_MB * 2**20 - len(photo) // 2))  # room for less than the photo
            kept = _files(small_disk)
            r = post(http, photo=photo, lon=spot["lon"], lat=spot["lat"])
            assert r.status_code == 503, r.text
            error = r.json()["error"]
            assert error["code"] == "storage_unavailable" and "请稍后重试" in error["message"]
            assert counts(app) == before and _files(small_disk) == kept  # nothing half-written, no temporary
            filler.unlink()  # space comes back: the same server takes the same upload
            r = post(http, photo=photo, lon=spot["lon"], lat=spot["lat"])
            assert r.status_code == 201, r.text
            assert counts(app)[0] == before[0] + 1 and len(_files(small_disk)) == 3
    finally:
        server.shutdown()
