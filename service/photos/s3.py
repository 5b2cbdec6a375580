"""The photo store's S3 backend: an S3-compatible bucket through boto3, with the local backend's
stage -> commit -> publish steps (service/photos/storage.py states the interface and the local directory)."""
import io
import logging
import secrets
import time
from collections.abc import Iterator
from typing import BinaryIO

from service.photos.storage import TMP_MARK, Entry, StorageError, drop_all, is_valid_key

log = logging.getLogger(__name__)


class S3Batch:
    """Objects staged for one database transaction, under temporary names beside their final keys."""

    def __init__(self, storage: "S3Storage"):
        self.storage = storage
        self.staged: list[tuple[str, str]] = []
        self.dropped: list[str] = []

    def drop(self, key: str) -> None:
        """Delete a published object once the transaction commits (the change replaced it)."""
        if not is_valid_key(key):
            raise StorageError(f"invalid key {key!r}")
        self.dropped.append(key)

    def put(self, key: str, data: bytes) -> None:
        """Upload data under a temporary name (durable once the PUT is answered)."""
        if not is_valid_key(key):
            raise StorageError(f"invalid key {key!r}")
        tmp = key + TMP_MARK + secrets.token_hex(8)
        self.staged.append((tmp, key))
        self.storage.call("put_object", Key=tmp, Body=data)

    def sync(self) -> None:
        """Nothing to flush: an answered PUT is stored."""

    def publish(self) -> None:
        """Copy every staged object to its key and drop the temporary (after the DB commit); a failure leaves it
        staged for `photos sweep` to roll forward."""
        for tmp, key in self.staged:
            try:
                self.storage.move(tmp, key)
            except StorageError:
                log.exception("could not publish %s; `photos sweep` will retry", tmp)
        self.staged.clear()
        drop_all(self.storage, self.dropped)

    def discard(self) -> None:
        for tmp, _key in self.staged:
            try:
                self.storage.call("delete_object", Key=tmp)
            except StorageError:
                log.exception("could not remove staged %s; `photos sweep` will", tmp)
        self.staged.clear()
        self.dropped.clear()


class S3Storage:
    """Photos in an S3-compatible bucket (boto3), with the local backend's stage -> commit -> publish steps."""

    def __init__(self, bucket: str, endpoint_url: str | None = None):
        import boto3

        self.bucket = bucket
        self.client = boto3.client("s3", endpoint_url=endpoint_url or None)

    def call(self, operation: str, **params):
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, operation)(Bucket=self.bucket, **params)
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                raise FileNotFoundError(params.get("Key")) from e
            raise StorageError(f"{operation} {params.get('Key')}: {e}") from e
        except BotoCoreError as e:
            raise StorageError(f"{operation} {params.get('Key')}: {e}") from e

    def move(self, tmp: str, key: str) -> None:
        """Publish a staged object under its key; one already moved by a concurrent publisher is fine."""
        try:
            self.call("copy_object", Key=key, CopySource={"Bucket": self.bucket, "Key": tmp})
        except FileNotFoundError:
            if not self.exists(key):
                log.error("staged photo %s vanished before it was published", tmp)
            return
        self.call("delete_object", Key=tmp)

    def batch(self) -> S3Batch:
        return S3Batch(self)

    def exists(self, key: str) -> bool:
        try:
            self.call("head_object", Key=key)
            return True
        except FileNotFoundError:
            return False

    def open(self, key: str) -> BinaryIO:
        """The published object's bytes (at most one photo); FileNotFoundError when it is not there."""
        if not is_valid_key(key):
            raise StorageError(f"invalid key {key!r}")
        return io.BytesIO(self.call("get_object", Key=key)["Body"].read())

    def entries(self) -> Iterator[Entry]:
        now = time.time()
        pages = self.client.get_paginator("list_objects_v2")
        for area in ("o/", "p/", "t/"):
            for page in pages.paginate(Bucket=self.bucket, Prefix=area):
                for obj in page.get("Contents", []):
                    name = obj["Key"]
                    key = name.split(TMP_MARK)[0]
                    if is_valid_key(key):
                        yield Entry(key, TMP_MARK in name, now - obj["LastModified"].timestamp(), name)

    def finish(self, entry: Entry) -> None:
        self.move(entry.handle, entry.key)

    def remove(self, entry: Entry) -> None:
        self.call("delete_object", Key=entry.handle)

    def delete(self, key: str) -> None:
        """Delete a published object (S3 answers a missing key as deleted)."""
        if not is_valid_key(key):
            raise StorageError(f"invalid key {key!r}")
        self.call("delete_object", Key=key)
