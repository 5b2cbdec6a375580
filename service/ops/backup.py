"""Back up the database and the photo store together, and restore both into an empty database and store.

A backup directory holds `database.dump` (pg_dump's custom format), `photos/<key>` and `manifest.json` (written
last, so a backup cut short has none and is refused).

Consistency: PostgreSQL exports the snapshot of one REPEATABLE READ transaction; pg_dump dumps exactly that
snapshot (`--snapshot`), and the photo keys the dump refers to are read in the same snapshot. Exactly those files
are copied, after the dump. Nothing is lost: a photo row commits only after its file was written and fsync'd, so
every row in the snapshot has its file (published right after the commit; a rename a crash interrupted is rolled
forward here exactly as `photos sweep` would), and content-addressed files are never rewritten. A file nobody
refers to (an upload committed after the snapshot, or an orphan) is simply not copied; after a restore it would
have been swept anyway. Copying the whole store instead would also work, but a missing file would then go unseen.

Privacy: the dump holds password hashes, phones and reporters' addresses, so every directory of a backup is made
0700 and every file 0600 by explicit modes, whatever the umask (which is process-wide, so it is never changed).
"""
import hashlib
import json
import os
import subprocess
import tempfile
import time
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from service.core import clock
from service.photos.storage import is_valid_key
from service.photos.sweep import PHOTO_KEYS_SQL

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
MANIFEST, DUMP, PHOTOS = "manifest.json", "database.dump", "photos"
PRIVATE_DIR, PRIVATE_FILE = 0o700, 0o600
LIBPQ_QUERY = {"sslmode": "PGSSLMODE", "sslrootcert": "PGSSLROOTCERT", "sslcert": "PGSSLCERT",
               "sslkey": "PGSSLKEY", "connect_timeout": "PGCONNECT_TIMEOUT", "application_name": "PGAPPNAME",
               "passfile": "PGPASSFILE"}


class BackupError(Exception):
    """A backup or restore cannot go on; the message says why and what to do."""


def libpq_env(url: str) -> dict[str, str]:
    """The environment that points libpq tools at a SQLAlchemy URL (the password never reaches a command line)."""
    u = make_url(url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    pairs = {"PGHOST": u.host, "PGPORT": u.port, "PGUSER": u.username, "PGPASSWORD": u.password,
             "PGDATABASE": u.database} | {LIBPQ_QUERY[k]: v for k, v in u.query.items() if k in LIBPQ_QUERY}
    return env | {k: str(v) for k, v in pairs.items() if v is not None}


def _private_dir(path: Path) -> None:
    """Make path (its parent exists) a directory only its owner may enter; an existing one is narrowed to that."""
    try:
        os.mkdir(path, PRIVATE_DIR)
    except FileExistsError:
        pass
    os.chmod(path, PRIVATE_DIR)  # mkdir's mode is filtered by the umask, and an existing directory keeps its own


def _private_file(path: Path):
    """Create path (new) for writing, readable by its owner only: the mode is set before a byte is written."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    os.fchmod(fd, PRIVATE_FILE)
    return os.fdopen(fd, "wb")


def _run(tool: str, args: list[str], url: str) -> None:
    done = subprocess.run([str(PG_BIN / tool), *args], env=libpq_env(url), capture_output=True, text=True)
    if done.returncode:
        raise BackupError(f"{tool} failed (exit {done.returncode}): {done.stderr.strip()}")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


@contextmanager
def _snapshot(owner_url: str):
    """Hold a REPEATABLE READ transaction open and yield (its exported snapshot id, its connection)."""
    engine = create_engine(owner_url)
    try:
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, conn.begin():
            yield conn.scalar(text("SELECT pg_export_snapshot()")), conn
    finally:
        engine.dispose()


def backup(owner_url: str, storage, target: Path) -> dict:
    """Dump the database and copy the photos its rows refer to into target (new or empty); return the manifest."""
    target = Path(target)
    if target.exists() and any(target.iterdir()):
        raise BackupError(f"{target} is not empty: back up into a new directory")
    target.parent.mkdir(parents=True, exist_ok=True)
    _private_dir(target)
    _private_dir(target / PHOTOS)
    _private_file(target / DUMP).close()  # pg_dump truncates it and keeps its mode
    with _snapshot(owner_url) as (snapshot, conn):
        revision = conn.scalar(text("SELECT version_num FROM alembic_version"))
        keys = sorted({k for row in conn.execute(text(PHOTO_KEYS_SQL))
                       for k in row if k is not None})
        # spatial_ref_sys is PostGIS's own (CREATE EXTENSION refills it; we add no SRS) and only a superuser may
        # load it, so leaving it out lets an owner that is not one restore.
        _run("pg_dump", ["-Fc", f"--snapshot={snapshot}", "--exclude-table-data=public.spatial_ref_sys",
                         "-f", str(target / DUMP)], owner_url)
    files = {key: _copy_photo(storage, key, target / PHOTOS) for key in keys}
    manifest = {"format": 1, "created_at": clock.now().isoformat(timespec="seconds"),
                "app_version": metadata.version("hazard-snap"), "alembic_revision": revision,
                "dump": {"path": DUMP, "sha256": _sha256(target / DUMP), "size": (target / DUMP).stat().st_size},
                "files": files}
    tmp = target / (MANIFEST + ".tmp")
    with _private_file(tmp) as f:
        f.write(json.dumps(manifest, indent=1, sort_keys=True).encode())
        f.flush()
        os.fsync(f.fileno())
    tmp.rename(target / MANIFEST)
    return manifest


def _open_published(storage, key: str):
    """Open a referenced photo; roll forward a committed upload whose rename is pending or was interrupted."""
    for attempt in range(3):
        try:
            return storage.open(key)
        except FileNotFoundError:
            if attempt == 0:
                time.sleep(0.5)  # an upload that just committed publishes its files right after
                continue
            for entry in storage.entries():
                if entry.staged and entry.key == key:
                    storage.finish(entry)
                    break
    raise BackupError(f"photo {key} is referenced by the database but missing from the photo store; "
                      "nothing can be backed up consistently until it is restored or its row is removed")


def _copy_photo(storage, key: str, photos: Path) -> dict:
    folder = photos
    for part in key.split("/")[:-1]:  # the key's folders (area/ab/), outermost first
        folder = folder / part
        _private_dir(folder)
    dest = photos / key
    h, size = hashlib.sha256(), 0
    with _open_published(storage, key) as src, _private_file(dest) as out:
        while chunk := src.read(1 << 20):
            h.update(chunk)
            size += len(chunk)
            out.write(chunk)
    return {"sha256": h.hexdigest(), "size": size}


def verify(source: Path) -> dict:
    """Check every file of a backup against its manifest; return the manifest or raise BackupError."""
    source = Path(source)
    try:
        manifest = json.loads((source / MANIFEST).read_text())
        expected = {DUMP: manifest["dump"]} | {f"{PHOTOS}/{k}": v for k, v in manifest["files"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise BackupError(f"{source / MANIFEST} is missing or unreadable ({e!r}): not a complete backup") from e
    problems = [f"invalid photo key {k!r}" for k in manifest["files"] if not is_valid_key(k)]
    for name, want in sorted(expected.items()):
        path = source / name
        if not path.is_file():
            problems.append(f"missing {name}")
        elif path.stat().st_size != want["size"] or _sha256(path) != want["sha256"]:
            problems.append(f"altered {name}")
    if problems:
        shown = "; ".join(problems[:10]) + (f"; and {len(problems) - 10} more" if len(problems) > 10 else "")
        raise BackupError(f"backup {source} fails verification, nothing was restored: {shown}")
    return manifest


def _ensure_empty(owner_url: str, storage) -> None:
    """Refuse a target database with any table of ours (PostGIS's own are fine) or a photo store with files."""
    engine = create_engine(owner_url)
    try:
        with engine.connect() as conn:
            tables = conn.scalars(text("SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                                       " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')"
                                       " AND c.relname <> 'spatial_ref_sys' ORDER BY 1")).all()
            reports = conn.scalar(text("SELECT count(*) FROM report")) if "report" in tables else 0
    finally:
        engine.dispose()
    if tables:
        raise BackupError(f"database {make_url(owner_url).database} is not empty ({len(tables)} tables, "
                          f"{reports} reports): restore only into a new, empty database")
    if next(iter(storage.entries()), None) is not None:
        raise BackupError(f"photo store {storage.root} is not empty: restore only into an empty one")


def restore(owner_url: str, storage, source: Path) -> dict:
    """Verify a backup, then load it into an empty database (as its owner) and an empty photo store."""
    source = Path(source)
    manifest = verify(source)
    _ensure_empty(owner_url, storage)
    _load_dump(owner_url, source / DUMP)
    batch = storage.batch()
    try:
        for key in manifest["files"]:
            batch.put(key, (source / PHOTOS / key).read_bytes())
        batch.sync()
    except BaseException:
        batch.discard()
        raise
    batch.publish()
    return manifest


def _load_dump(owner_url: str, dump: Path) -> None:
    """pg_restore a dump as the owner in one transaction; objects become the owner's, privileges are re-granted."""
    with tempfile.TemporaryDirectory() as tmp:  # the backup itself may be read-only
        toc = Path(tmp) / "restore.toc"
        _run("pg_restore", ["-l", "-f", str(toc), str(dump)], owner_url)
        # Only an extension's owner may comment on it: skip those entries, so an owner that is not a superuser
        # can restore where a superuser created PostGIS already (the dump's CREATE EXTENSION says IF NOT EXISTS).
        lines = toc.read_text().splitlines(keepends=True)
        toc.write_text("".join(line for line in lines if " COMMENT - EXTENSION " not in line))
        _run("pg_restore", ["--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error",
                            "-L", str(toc), "-d", make_url(owner_url).database, str(dump)], owner_url)
