"""Where stored evidence files live, named by their SHA-256: a folder under RETURNDESK_HOME by
default, or an S3-compatible bucket at scale (`RETURNDESK_EVIDENCE_S3_*`), with object lock
(GOVERNANCE mode: erasure requests can still delete, with the bypass permission) and
short-lived presigned download URLs."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from returndesk.domain.errors import NotFound

CHUNK = 1024 * 1024
URL_SECONDS = 300  # a download link lives five minutes


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _missing(sha256: str) -> NotFound:
    return NotFound(f"the stored file {sha256[:12]}… is missing", code="evidence_file_missing")


class Blobs(Protocol):
    def put(self, source: Path, sha256: str) -> None: ...
    def exists(self, sha256: str) -> bool: ...
    def hash_of(self, sha256: str) -> str | None: ...
    def remove(self, sha256: str) -> None: ...
    def local_copy(self, sha256: str) -> Any:
        """A context manager giving a local file with the bytes (downloaded if need be)."""
        ...

    def local_path(self, sha256: str) -> Path | None:
        """The file itself when it is on this machine (served directly), else None."""
        ...

    def download_url(
        self, sha256: str, filename: str, media_type: str, attachment: bool
    ) -> str | None:
        """A short-lived URL to fetch the bytes from the store itself, if it has one."""
        ...


class FolderBlobs:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, source: Path, sha256: str) -> None:
        """A hard link (instant) or else a copy; the source stays where it is."""
        target = self.path(sha256)
        if target.is_file():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{sha256}.{os.getpid()}.tmp")
        partial.unlink(missing_ok=True)
        try:
            os.link(source, partial)
        except OSError:  # another file system, or no hard links here
            shutil.copyfile(source, partial)
        partial.replace(target)

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def hash_of(self, sha256: str) -> str | None:
        path = self.path(sha256)
        return sha256_file(path) if path.is_file() else None

    def remove(self, sha256: str) -> None:
        self.path(sha256).unlink(missing_ok=True)

    @contextmanager
    def local_copy(self, sha256: str) -> Iterator[Path]:
        path = self.path(sha256)
        if not path.is_file():
            raise _missing(sha256)
        yield path

    def local_path(self, sha256: str) -> Path | None:
        path = self.path(sha256)
        if not path.is_file():
            raise _missing(sha256)
        return path

    def download_url(
        self, sha256: str, filename: str, media_type: str, attachment: bool
    ) -> str | None:
        return None


class S3Blobs:
    def __init__(
        self,
        *,
        endpoint_url: str,
        bucket: str,
        region: str,
        access_key: str,
        secret_key: str,
        lock_days: int,
        prefix: str = "evidence/",
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self.lock_days = lock_days
        self._s3: Any = boto3.client(
            "s3",
            endpoint_url=endpoint_url or None,
            region_name=region,
            aws_access_key_id=access_key or None,
            aws_secret_access_key=secret_key or None,
            config=Config(signature_version="s3v4", retries={"max_attempts": 3}),
        )

    def key(self, sha256: str) -> str:
        return f"{self.prefix}{sha256}"

    def put(self, source: Path, sha256: str) -> None:
        if self.exists(sha256):
            return
        extra: dict[str, Any] = {"ChecksumAlgorithm": "SHA256"}
        if self.lock_days > 0:
            extra["ObjectLockMode"] = "GOVERNANCE"
            extra["ObjectLockRetainUntilDate"] = datetime.now(UTC) + timedelta(days=self.lock_days)
        self._s3.upload_file(str(source), self.bucket, self.key(sha256), ExtraArgs=extra)

    def exists(self, sha256: str) -> bool:
        try:
            self._s3.head_object(Bucket=self.bucket, Key=self.key(sha256))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def hash_of(self, sha256: str) -> str | None:
        try:
            body = self._s3.get_object(Bucket=self.bucket, Key=self.key(sha256))["Body"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        digest = hashlib.sha256()
        for block in body.iter_chunks(CHUNK):
            digest.update(block)
        return digest.hexdigest()

    def remove(self, sha256: str) -> None:
        """Every version of the object (a locked bucket keeps versions): an erasure must not
        leave the bytes behind a delete marker."""
        key = self.key(sha256)
        listing = self._s3.list_object_versions(Bucket=self.bucket, Prefix=key)
        for entry in [*listing.get("Versions", []), *listing.get("DeleteMarkers", [])]:
            if entry["Key"] == key:
                self._s3.delete_object(
                    Bucket=self.bucket, Key=key, VersionId=entry["VersionId"],
                    BypassGovernanceRetention=True,
                )  # fmt: skip

    @contextmanager
    def local_copy(self, sha256: str) -> Iterator[Path]:
        if not self.exists(sha256):
            raise _missing(sha256)
        with tempfile.TemporaryDirectory(prefix="evidence-") as folder:
            path = Path(folder) / sha256
            self._s3.download_file(self.bucket, self.key(sha256), str(path))
            yield path

    def local_path(self, sha256: str) -> Path | None:
        return None

    def download_url(
        self, sha256: str, filename: str, media_type: str, attachment: bool
    ) -> str | None:
        if not self.exists(sha256):
            raise _missing(sha256)
        disposition = "attachment" if attachment else "inline"
        url: str = self._s3.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": self.key(sha256),
                "ResponseContentType": media_type,
                "ResponseContentDisposition": f"{disposition}; filename*=UTF-8''{quote(filename)}",
            },
            ExpiresIn=URL_SECONDS,
        )
        return url
