"""The S3 backend (boto3) behind the storage interface, against moto's S3 server over HTTP, with the local
backend's crash tests: nothing visible without its row, committed rows rolled forward by the sweep, a failing
store is a 503 that leaves nothing; and `photos migrate`, resumable and verified by SHA-256.

moto_server is a stand-in: no S3-compatible server that really stores objects (MinIO, SeaweedFS, Garage) is
packaged on PyPI, Debian or npm, and Debian's radosgw needs a running Ceph cluster. moto speaks the S3 protocol
over real HTTP to the real boto3 client, so signing, errors, copies and listings go through the wire."""
import hashlib
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import boto3
import pytest
from werkzeug.serving import make_server

from service import create_app
from service.photos.s3 import S3Batch
from tests.support.images import jpeg
from tests.support.live import LiveSession
from tests.support.notifications import free_port
from tests.support.processes import listening
from tests.support.reports_api import counts, post

MOTO = Path(sys.executable).parent / "moto_server"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}


@pytest.fixture(scope="module")
def endpoint():
    port = free_port()
    proc = subprocess.Popen([str(MOTO), "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    with pytest.MonkeyPatch.context() as mp:
        for k, v in CREDENTIALS.items():
            mp.setenv(k, v)
        listening(port, proc, lambda: "moto_server did not start")
        yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture
def bucket(endpoint):
    name = f"photos-{uuid.uuid4().hex[:12]}"
    s3 = boto3.client("s3", endpoint_url=endpoint)
    s3.create_bucket(Bucket=name)

    def keys() -> list[str]:
        return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=name).get("Contents", []))

    return s3, name, keys


@pytest.fixture
def s3_app(app, bucket, endpoint):
    """The app with PHOTO_STORE=s3, served over real HTTP; yields (app, anonymous session)."""
    _s3, name, _keys = bucket
    s3_app = create_app(app.config | {"PHOTO_STORE": "s3", "S3_BUCKET": name, "S3_ENDPOINT_URL": endpoint})
    server = make_server("127.0.0.1", 0, s3_app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with LiveSession(f"http://127.0.0.1:{server.server_port}") as http:
        yield s3_app, http
    server.shutdown()


def sweep(app, hours="0") -> str:
    result = app.test_cli_runner().invoke(args=["photos", "sweep", "--older-than", hours])
    assert result.exit_code == 0, result.output
    return result.output


def test_an_upload_is_published_to_the_bucket_and_served_from_it(s3_app, bucket, spot):
    app, http = s3_app
    s3, name, keys = bucket
    body = post(http, lon=spot["lon"], lat=spot["lat"]).json()
    assert len(keys()) == 3 and not any(".tmp-" in k for k in keys())
    public = body["photos"][0]
    served = http.get(public)
    assert served.status_code == 200
    assert served.content == s3.get_object(Bucket=name, Key=public.removeprefix("/photos/"))["Body"].read()
    assert sweep(app).strip().endswith("sweep: 0 published, 0 removed")


def test_a_photo_is_a_503_while_the_store_does_not_answer(s3_app, bucket, spot):
    app, http = s3_app
    s3, name, keys = bucket
    public = post(http, lon=spot["lon"], lat=spot["lat"]).json()["photos"][0]
    for key in keys():
        s3.delete_object(Bucket=name, Key=key)
    s3.delete_bucket(Bucket=name)  # the bucket is gone: every read is refused, not "not found"
    assert http.get(public).status_code == 503


def test_crash_before_commit_leaves_only_temporaries_that_sweep_removes(s3_app, bucket, spot, monkeypatch):
    app, http = s3_app
    _s3, _name, keys = bucket
    monkeypatch.setattr(S3Batch, "discard", lambda self: None)  # the process died: no cleanup ran

    def crash(*args):
        raise RuntimeError("crash between staging the objects and the commit")

    monkeypatch.setattr("service.reports.notices.tell_areas", crash)
    assert post(http, lon=spot["lon"], lat=spot["lat"]).status_code == 500
    assert counts(app) == (0, 0, 0)
    assert len(keys()) == 3 and all(".tmp-" in k for k in keys())
    assert sweep(app, hours="1").strip().endswith("0 removed") and len(keys()) == 3  # young: maybe in flight
    assert sweep(app).count("removed ") == 3
    assert keys() == []


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # the simulated crash
def test_crash_after_commit_is_rolled_forward_by_sweep(s3_app, bucket, spot, monkeypatch):
    app, http = s3_app
    _s3, _name, keys = bucket

    def die(self):
        raise SystemExit("killed between commit and publish")

    monkeypatch.setattr(S3Batch, "publish", die)
    with pytest.raises(Exception):  # noqa: B017 - the server thread dies; the client sees a dropped connection
        post(http, lon=spot["lon"], lat=spot["lat"])
    monkeypatch.undo()
    assert counts(app) == (1, 1, 1)
    with app.app_context():
        from service.core.db import db
        from service.core.models import Photo

        public = "/photos/" + db.session.query(Photo.public_key).scalar()
    assert http.get(public).status_code == 404
    assert sweep(app).count("published ") == 3
    assert http.get(public).status_code == 200
    assert len(keys()) == 3 and not any(".tmp-" in k for k in keys())


def test_a_store_that_refuses_is_a_503_and_leaves_nothing(app, endpoint, spot):
    broken = create_app(app.config | {"PHOTO_STORE": "s3", "S3_BUCKET": "no-such-bucket",
                                      "S3_ENDPOINT_URL": endpoint})
    server = make_server("127.0.0.1", 0, broken, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with LiveSession(f"http://127.0.0.1:{server.server_port}") as http:
            r = post(http, lon=spot["lon"], lat=spot["lat"])
    finally:
        server.shutdown()
    assert r.status_code == 503 and r.json()["error"]["code"] == "storage_unavailable"
    assert counts(app) == (0, 0, 0)


def test_photos_migrate_copies_verifies_and_resumes(app, anon_http, photo_dir, bucket, endpoint, spot):
    s3, name, keys = bucket
    for colour in ((200, 10, 10), (10, 10, 200)):
        assert post(anon_http, photo=jpeg(colour=colour), lon=spot["lon"], lat=spot["lat"]).status_code == 201
    local = {str(p.relative_to(photo_dir)): p.read_bytes() for p in photo_dir.rglob("*") if p.is_file()}
    runner = create_app(app.config | {"S3_BUCKET": name, "S3_ENDPOINT_URL": endpoint}).test_cli_runner()

    def migrate() -> str:
        result = runner.invoke(args=["photos", "migrate", "--to", "s3"])
        return result.output.strip().splitlines()[-1]

    assert migrate() == "migrate to s3: 6 copied, 0 already there (verified)"
    first, second, *_ = sorted(local)
    s3.delete_object(Bucket=name, Key=first)  # as if interrupted before this one
    s3.put_object(Bucket=name, Key=second, Body=b"half written")  # or in the middle of it
    assert migrate() == "migrate to s3: 2 copied, 4 already there (verified)"
    stored = {k: s3.get_object(Bucket=name, Key=k)["Body"].read() for k in keys()}
    assert {k: hashlib.sha256(v).hexdigest() for k, v in stored.items()} == {
        k: hashlib.sha256(v).hexdigest() for k, v in local.items()}
    original = next(k for k in local if k.startswith("o/"))
    (photo_dir / original).write_bytes(b"rotted on disk")
    s3.delete_object(Bucket=name, Key=original)
    assert "does not match its SHA-256" in migrate()


def test_a_manual_redaction_leaves_no_stale_copy_in_the_bucket(s3_app, bucket, spot, accounts):
    """Issue 25: the new public copy and thumbnail go in under new keys and the replaced objects are deleted."""
    app, http = s3_app
    s3, name, keys = bucket
    body = post(http, lon=spot["lon"], lat=spot["lat"]).json()
    before = set(keys())
    original = next(k for k in before if k.startswith("o/"))
    sent = s3.get_object(Bucket=name, Key=original)["Body"].read()
    with LiveSession(http.base, accounts["sup_a"]["token"]) as sup:
        page = sup.get(f"/reports/{body['id']}").text
        token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        photo_id = page.split('data-photo-id="', 1)[1].split('"', 1)[0]
        r = sup.post(f"/reports/{body['id']}/photos/{photo_id}/redact",
                     data={"csrf_token": token, "boxes": "[[0.1, 0.1, 0.5, 0.5]]"}, allow_redirects=False)
    assert r.status_code == 303, r.text[-500:]
    after = set(keys())
    assert len(after) == 3 and not any(".tmp-" in k for k in after)
    assert after & before == {original}  # both derived copies replaced, the original kept
    assert s3.get_object(Bucket=name, Key=original)["Body"].read() == sent
    for gone in before - {original}:
        assert http.get(f"/photos/{gone}").status_code == 404
    for new in after - {original}:
        assert http.get(f"/photos/{new}").status_code == 200
    assert sweep(app).strip().endswith("sweep: 0 published, 0 removed")
