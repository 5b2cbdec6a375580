"""Photo storage: one interface, two backends: a local directory (here) and an S3-compatible bucket (s3_storage).

Files are written under a temporary name and fsync'd first, the caller commits its database
row, and only then are the files renamed to their final key. A failure before the commit
discards the temporaries, so no visible file ever lacks its report. Files a change replaces
(`batch.drop`) are deleted only after the commit too; one that cannot be deleted then is an
orphan that `photos sweep` removes.

Keys are named by the original's SHA-256. A public copy or thumbnail written again later (a region
covered by hand, service/reports/redaction.py) gets a new key with a random version beside the hash
(`p/ab/<sha256>.<version>.jpg`), so no cache can answer its new URL with the old bytes.
"""
import hashlib
import logging
import os
import re
import secrets
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

# public copies (p/) and thumbnails (t/) of before-photos are public; originals (o/) only within scope (photos_bp).
log = logging.getLogger(__name__)
KEY_RE = re.compile(r"^(?P<area>[opt])/[0-9a-f]{2}/(?P<sha>[0-9a-f]{64})(?:\.(?P<version>[0-9a-f]{16}))?"
                    r"\.(?P<ext>jpg|png|webp|heic)$")
PUBLIC_AREAS = frozenset({"p", "t"})
TMP_MARK = ".tmp-"


@dataclass(frozen=True)
class Entry:
    """A stored file as the sweeper sees it."""

    key: str
    staged: bool  # a temporary written before its DB commit
    age_s: float
    handle: str  # backend-specific locator


class StorageError(Exception):
    """The storage backend could not do what was asked."""


def is_valid_key(key: str, public_only: bool = False) -> bool:
    """Tell whether the key has our shape (and, optionally, may be served publicly)."""
    m = KEY_RE.fullmatch(key)
    return bool(m) and (not public_only or m.group("area") in PUBLIC_AREAS)


def key_for(area: str, sha256: str, ext: str) -> str:
    """Build the content-addressed key of a file."""
    return f"{area}/{sha256[:2]}/{sha256}.{ext}"


def new_version_key(area: str, sha256: str) -> str:
    """A fresh key for a derived copy (p/ or t/) of the original sha256 written again: never used before."""
    if area not in PUBLIC_AREAS:
        raise StorageError("only a derived copy gets a new version")
    return f"{area}/{sha256[:2]}/{sha256}.{secrets.token_hex(8)}.jpg"


class LocalBatch:
    """Files staged for one database transaction."""

    def __init__(self, storage: "LocalStorage"):
        self.storage = storage
        self.staged: list[tuple[Path, Path]] = []
        self.dropped: list[str] = []

    def drop(self, key: str) -> None:
        """Delete a published file once the transaction commits (the change replaced it)."""
        self.storage.path(key)  # a bad key refuses here, before anything commits
        self.dropped.append(key)

    def put(self, key: str, data: bytes) -> None:
        """Write data under a temporary name next to its final place (made durable by sync())."""
        if not is_valid_key(key):
            raise StorageError(f"invalid key {key!r}")
        final = self.storage.path(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.with_name(final.name + TMP_MARK + secrets.token_hex(8))
        self.staged.append((tmp, final))
        with open(tmp, "wb") as f:
            f.write(data)

    def sync(self) -> None:
        """Flush every staged file to disk before the DB commit; the fsyncs wait in parallel."""
        _fsync_all(tmp for tmp, _final in self.staged)

    def publish(self) -> None:
        """Make every staged file visible under its key (after the DB commit).

        The row is committed already, so nothing here may fail the request: a file that cannot be
        renamed now stays staged, and `photos sweep` rolls it forward later.
        """
        for tmp, final in self.staged:
            _rename(tmp, final)
        try:
            _fsync_all({final.parent for _tmp, final in self.staged})
        except OSError:
            log.exception("fsync of photo directories failed after commit")
        self.staged.clear()
        drop_all(self.storage, self.dropped)

    def discard(self) -> None:
        """Remove every staged temporary (the DB transaction failed)."""
        for tmp, _final in self.staged:
            tmp.unlink(missing_ok=True)
        self.staged.clear()
        self.dropped.clear()


class LocalStorage:
    """Photos in a local directory."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def batch(self) -> LocalBatch:
        return LocalBatch(self)

    def path(self, key: str) -> Path:
        if not is_valid_key(key):
            raise StorageError(f"invalid key {key!r}")
        return self.root / key

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def open(self, key: str) -> BinaryIO:
        """Open a published file for streaming; FileNotFoundError when it is not there."""
        return open(self.path(key), "rb")  # noqa: SIM115 (the response closes it)

    def entries(self) -> Iterator[Entry]:
        """List every stored file: published keys and staged temporaries, with their age."""
        now = time.time()
        for path in self.root.glob("[opt]/*/*"):
            name = path.name
            staged = TMP_MARK in name
            key = f"{path.parent.parent.name}/{path.parent.name}/{name.split(TMP_MARK)[0]}"
            if is_valid_key(key):
                yield Entry(key, staged, now - path.stat().st_mtime, str(path))

    def finish(self, entry: Entry) -> None:
        """Publish a staged file whose database row was committed (roll forward)."""
        if _rename(Path(entry.handle), self.path(entry.key)):
            _fsync_path(self.path(entry.key).parent)

    def remove(self, entry: Entry) -> None:
        Path(entry.handle).unlink(missing_ok=True)

    def delete(self, key: str) -> None:
        """Delete a published file (one already gone is fine)."""
        self.path(key).unlink(missing_ok=True)


def drop_all(storage, keys: list[str]) -> None:
    """Delete the files a committed change replaced; one that fails is logged and left to `photos sweep`."""
    for key in keys:
        try:
            storage.delete(key)
        except (OSError, StorageError):
            log.exception("could not delete replaced photo %s; `photos sweep` will", key)
    keys.clear()


def _rename(tmp: Path, final: Path) -> bool:
    """Move a staged file into place; a concurrent publisher having done it already is fine."""
    try:
        os.replace(tmp, final)
        return True
    except FileNotFoundError:
        if not final.exists():
            log.error("staged photo %s vanished before it was published", tmp)
    except OSError:
        log.exception("could not publish %s; `photos sweep` will retry", tmp)
    return False


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_all(paths) -> None:
    """fsync files or directories; os.fsync releases the GIL, so a few threads overlap the disk waits."""
    paths = list(paths)
    if len(paths) <= 1:
        for p in paths:
            _fsync_path(p)
        return
    with ThreadPoolExecutor(max_workers=min(len(paths), 4)) as pool:
        list(pool.map(_fsync_path, paths))


def from_config(config):
    """The photo store the configuration names: PHOTO_STORE=local (PHOTO_DIR) or s3 (S3_BUCKET, S3_ENDPOINT_URL)."""
    if config["PHOTO_STORE"] == "s3":
        from service.photos.s3 import S3Storage  # boto3 is loaded only where a bucket is used

        return S3Storage(config["S3_BUCKET"], config["S3_ENDPOINT_URL"])
    return LocalStorage(config["PHOTO_DIR"])


def copy_all(source, target, keys) -> Iterator[tuple[str, bool]]:
    """Copy each key from one store to the other unless the target already holds the same bytes, and check every
    copy by reading it back; yield (key, copied). Re-running after an interruption skips what arrived intact.
    An original (o/) must also match the SHA-256 in its own name, so a corrupt source is never spread."""
    for key in keys:
        with source.open(key) as f:
            data = f.read()
        digest = hashlib.sha256(data).hexdigest()
        if key.startswith("o/") and digest != key.rsplit("/", 1)[-1].split(".")[0]:
            raise StorageError(f"{key}: the source does not match its SHA-256")
        if _digest(target, key) == digest:
            yield key, False
            continue
        batch = target.batch()
        batch.put(key, data)
        batch.sync()
        batch.publish()
        if _digest(target, key) != digest:
            raise StorageError(f"{key}: the copy does not match its source")
        yield key, True


def _digest(store, key: str) -> str | None:
    try:
        with store.open(key) as f:
            return hashlib.sha256(f.read()).hexdigest()
    except FileNotFoundError:
        return None
