"""hazard-snap backup and restore: a round trip into a fresh database and photo store, and what restore refuses."""
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from service import create_app
from service.ops import backup
from tests.support.database import app_url, recreate_database
from tests.support.images import jpeg
from tests.support.notifications import contacts
from tests.support.paths import ROOT
from tests.support.reports_api import post

TABLES = ("report", "photo", "report_event", '"user"', "notification")
GPG = shutil.which("gpg")


OWNER = "hazard_restore_owner"
OWNER_PASSWORD = secrets.token_hex(16)


@pytest.fixture(params=["superuser", "owner"])
def scratch(request, database_url, tmp_path):
    """An app on a new, empty database (its name contains "test") and an empty photo directory; with "owner",
    the database belongs to a role that is not a superuser, and a superuser has created PostGIS in it."""
    url = make_url(database_url)
    url = url.set(database=url.database + "_restore")
    recreate_database(url.render_as_string(hide_password=False))
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    if request.param == "owner":
        with admin.connect() as conn:
            if not conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": OWNER}):
                conn.execute(text(f"CREATE ROLE {OWNER} LOGIN NOSUPERUSER"))
            conn.execute(text(f"ALTER ROLE {OWNER} PASSWORD '{OWNER_PASSWORD}'"))  # the cluster asks for one
            conn.execute(text(f'ALTER DATABASE "{url.database}" OWNER TO {OWNER}'))
        with create_engine(url, isolation_level="AUTOCOMMIT").connect() as conn:
            conn.execute(text("CREATE EXTENSION postgis"))
            conn.execute(text(f"ALTER SCHEMA public OWNER TO {OWNER}"))
        url = url.set(username=OWNER, password=OWNER_PASSWORD)
    url = url.render_as_string(hide_password=False)
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": app_url(url), "DATABASE_OWNER_URL": url,
                      "PHOTO_DIR": str(tmp_path / "restored_photos")})
    engine = create_engine(url)
    yield app, engine, tmp_path / "restored_photos"
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def cli(app, *args):
    return app.test_cli_runner().invoke(args=[str(a) for a in args])


def rows(engine) -> dict:
    with engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT * FROM {t} ORDER BY id")).all() for t in TABLES}


def digests(root) -> dict:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in root.rglob("*") if p.is_file()}


def table_count(engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
                                " AND tablename <> 'spatial_ref_sys'"))


def test_backup_and_restore_round_trip(app, owner_engine, photo_dir, http, as_user, spot, accounts, scratch,
                                       tmp_path):
    contacts(app, spot, "http://127.0.0.1:9/robot?key=t")
    ids = [post(http, photo=jpeg(colour=(40 + 60 * i, 200 - 50 * i, 90)), lon=spot["lon"], lat=spot["lat"]
                ).json()["id"] for i in range(3)]
    moved = as_user("sup_a").post(f"/api/v1/reports/{ids[0]}/transitions", json={"to": "accepted"})
    assert moved.status_code == 200, moved.text
    before = rows(owner_engine)
    assert all(before[t] for t in TABLES), {t: len(v) for t, v in before.items()}

    result = cli(app, "backup", tmp_path / "b")
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert len(manifest["files"]) == 3 * len(before["photo"]) and manifest["alembic_revision"]
    assert "not empty" in cli(app, "backup", tmp_path / "b").output

    restored_app, restored, restored_dir = scratch
    assert "not empty" in cli(app, "restore", tmp_path / "b").output  # the live test database has reports
    _refuses_tampered(restored_app, tmp_path, manifest)
    assert table_count(restored) == 0

    result = cli(restored_app, "restore", tmp_path / "b")
    assert result.exit_code == 0, result.output
    assert rows(restored) == before
    assert digests(restored_dir) == digests(photo_dir)
    with restored.connect() as conn:  # the app role may run on it again, history append-only by privilege
        assert conn.scalar(text("SELECT has_table_privilege(:r, 'report', 'INSERT')"
                                " AND NOT has_table_privilege(:r, 'report_event', 'UPDATE')"),
                           {"r": make_url(app_url(str(restored.url))).username})
    token = {"Authorization": f"Bearer {accounts['admin']['token']}"}  # tokens and users came back too
    answer = restored_app.test_client().get(f"/api/v1/reports/{ids[0]}", headers=token)
    assert answer.status_code == 200 and answer.json["status"] == "accepted", answer.text
    assert "not empty" in cli(restored_app, "restore", tmp_path / "b").output


def _refuses_tampered(app, tmp_path, manifest):
    """A flipped byte, a missing photo, a missing manifest, or a non-empty photo store: nothing is restored."""
    key = next(iter(manifest["files"]))
    flipped, missing, partial = (tmp_path / n for n in ("flipped", "missing", "partial"))
    for copy in (flipped, missing, partial):
        shutil.copytree(tmp_path / "b", copy)
    data = bytearray((flipped / "photos" / key).read_bytes())
    data[len(data) // 2] ^= 0x01
    (flipped / "photos" / key).write_bytes(bytes(data))
    (missing / "photos" / key).unlink()
    (partial / "manifest.json").unlink()
    for copy, says in ((flipped, f"altered photos/{key}"), (missing, f"missing photos/{key}"),
                       (partial, "not a complete backup")):
        result = cli(app, "restore", copy)
        assert result.exit_code != 0 and says in result.output, result.output
    stray = app.extensions["photo_storage"].path(key)
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"x")
    result = cli(app, "restore", tmp_path / "b")
    assert result.exit_code != 0 and "photo store" in result.output, result.output
    shutil.rmtree(stray.parent.parent)


def test_backup_publishes_an_interrupted_upload_and_refuses_a_lost_file(app, photo_dir, http, spot, tmp_path):
    """A committed row whose rename a crash interrupted is rolled forward; a file truly gone stops the backup."""
    assert post(http, lon=spot["lon"], lat=spot["lat"]).status_code == 201
    staged, lost = sorted(p for p in photo_dir.rglob("*") if p.is_file())[:2]
    staged.rename(staged.with_name(staged.name + ".tmp-0123456789abcdef"))
    result = cli(app, "backup", tmp_path / "ok")
    assert result.exit_code == 0, result.output
    assert staged.is_file() and (tmp_path / "ok" / "photos" / staged.relative_to(photo_dir)).is_file()
    lost.unlink()
    result = cli(app, "backup", tmp_path / "lost")
    assert result.exit_code != 0 and f"photo {lost.relative_to(photo_dir)} is referenced" in result.output
    assert not (tmp_path / "lost" / "manifest.json").exists()


def modes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mode & 0o777 for p in (root, *root.rglob("*"))}


def test_a_backup_is_for_its_owner_only_whatever_the_umask(app, http, spot, tmp_path):
    """The dump holds password hashes, phones and addresses: 0700 folders and 0600 files under a lax umask, an
    existing empty target narrowed too."""
    assert post(http, lon=spot["lon"], lat=spot["lat"]).status_code == 201
    target = tmp_path / "b"
    target.mkdir()
    target.chmod(0o775)
    previous = os.umask(0o002)
    try:
        result = cli(app, "backup", target)
    finally:
        os.umask(previous)
    assert result.exit_code == 0, result.output
    found = modes(target)
    assert sum(name.startswith("photos/") and (target / name).is_file() for name in found) == 3
    assert {name: oct(mode) for name, mode in found.items()
            if mode != (0o700 if (target / name).is_dir() else 0o600)} == {}


def shell_block(containing: str) -> str:
    """The ```sh block of the README (or docs/) that contains a given command."""
    for doc in (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))):
        for block in re.findall(r"```sh\n(.*?)```", doc.read_text(), re.S):
            if containing in block:
                return block
    raise AssertionError(f"no sh block with {containing!r} in README.md or docs/")


def test_the_documented_encryption_round_trips_a_backup(app, http, spot, tmp_path):
    """The README's gpg lines, run as written (paths moved into tmp_path): what leaves is ciphertext, and what
    comes back verifies against its manifest."""
    if not GPG:
        pytest.fail("gpg missing: install Debian's gnupg (make test does, via .ci/apt.sh)")
    assert post(http, lon=spot["lon"], lat=spot["lat"]).status_code == 201
    block, name = shell_block("gpg --batch --symmetric"), "hazard-snap-2026-11-30"
    places = {"/srv/backups": tmp_path / "backups", "/etc/hazard-snap/backup.pass": tmp_path / "backup.pass",
              "/mnt/offsite": tmp_path / "offsite", "/srv/restore": tmp_path / "restore"}
    for shown, here in places.items():
        assert shown in block, f"the README's example no longer names {shown}: update this test"
        block = block.replace(shown, str(here))
    for folder in ("backups", "offsite", "restore", "gnupg"):
        (tmp_path / folder).mkdir(mode=0o700)
    (tmp_path / "backup.pass").write_text(os.urandom(24).hex())
    assert cli(app, "backup", tmp_path / "backups" / name).exit_code == 0
    env = os.environ | {"GNUPGHOME": str(tmp_path / "gnupg")}  # never the user's own keyring
    try:
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", block], env=env, capture_output=True, text=True)
    finally:
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=env, check=False)
    assert done.returncode == 0, done.stderr
    sealed = (tmp_path / "offsite" / f"{name}.tar.gpg").read_bytes()
    assert b"PGDMP" not in sealed and b"alembic_revision" not in sealed  # neither the dump nor the manifest shows
    assert backup.verify(tmp_path / "restore" / name)["files"]
