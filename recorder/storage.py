"""Where sealed archives live: the local file system or S3-compatible object storage.

Keys are ``/``-separated relative paths (``<case>/<hearing_id>/mixed.mp4``). Both
back ends offer the same small async interface: put a file or bytes, stat, read
a byte range or stream it (HTTP range requests), list a prefix, delete.
"""

from __future__ import annotations

import asyncio
import errno
import os
import re
import secrets
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

CHUNK = 1024 * 1024
# S3 wants parts of at least 5 MiB (but the last); larger parts mean fewer requests.
PART = 16 * 1024 * 1024

_KEY_PART = re.compile(r"^[^\x00/\\]+$")


class StorageError(Exception):
    """A storage operation failed; ``code`` is stable for callers and logs."""

    code = "storage_failed"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class NotFound(StorageError):
    code = "not_found"


class AlreadyExists(StorageError):
    """An exclusive write found the key already there."""

    code = "exists"


class StorageFull(StorageError):
    code = "storage_full"


def check_key(key: str) -> str:
    """Refuse keys that could leave the storage root (``..``, absolute, NUL, ``\\``)."""
    parts = key.split("/")
    if not key or any(p in ("", ".", "..") or not _KEY_PART.match(p) for p in parts):
        raise ValueError(f"unsafe storage key {key!r}")
    return key


def join_key(*parts: str) -> str:
    """Join key parts, skipping empty ones (an archive at the storage root has prefix "")."""
    return "/".join(p.strip("/") for p in parts if p.strip("/"))


class Storage(ABC):
    """The archive's storage back end."""

    url: str

    @abstractmethod
    async def put_file(self, key: str, path: Path) -> None:
        """Store a local file under ``key`` (replacing what is there)."""

    @abstractmethod
    async def put_bytes(self, key: str, data: bytes, *, exclusive: bool = False) -> None:
        """Store ``data``; with ``exclusive``, raise :class:`AlreadyExists` if ``key`` is taken."""

    @abstractmethod
    async def size(self, key: str) -> int:
        """The stored object's size in bytes; :class:`NotFound` when absent."""

    @abstractmethod
    def stream(
        self, key: str, start: int = 0, length: int | None = None, chunk_size: int = CHUNK
    ) -> AsyncIterator[bytes]:
        """Yield the bytes ``[start, start + length)`` (to the end when ``length`` is None)."""

    @abstractmethod
    async def list(self, prefix: str) -> list[str]:
        """All keys under the folder ``prefix`` (all keys when it is ""), sorted."""

    @abstractmethod
    async def delete(self, key: str) -> None:
        """Remove ``key``; absent keys are not an error."""

    async def exists(self, key: str) -> bool:
        try:
            await self.size(key)
        except NotFound:
            return False
        return True

    async def read(self, key: str, start: int = 0, length: int | None = None) -> bytes:
        """A byte range read whole (small objects: the manifest, the index)."""
        return b"".join([chunk async for chunk in self.stream(key, start, length)])

    async def close(self) -> None:  # noqa: B027 - only S3 holds connections
        """Release connections (S3); a no-op locally."""

    async def __aenter__(self) -> Storage:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def _raise_os_error(exc: OSError, what: str) -> None:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        raise StorageFull(f"no space left writing {what}") from exc
    raise StorageError(f"could not write {what}: {exc.strerror or exc}") from exc


class LocalStorage(Storage):
    """A directory tree. Writes go to a temporary file, are fsynced and renamed into
    place, and the directory is fsynced, so a crash leaves either the old object or
    the whole new one, never half of one."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.url = self.root.resolve().as_uri()

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*check_key(key).split("/"))

    async def put_file(self, key: str, path: Path) -> None:
        await asyncio.to_thread(self._write, key, path, None, False)

    async def put_bytes(self, key: str, data: bytes, *, exclusive: bool = False) -> None:
        await asyncio.to_thread(self._write, key, None, data, exclusive)

    def _write(self, key: str, source: Path | None, data: bytes | None, exclusive: bool) -> None:
        target = self._path(key)
        tmp = target.with_name(f".{target.name}.tmp-{secrets.token_hex(6)}")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "xb") as out:
                if source is not None:
                    with open(source, "rb") as src:
                        while block := src.read(CHUNK):
                            out.write(block)
                else:
                    out.write(data or b"")
                out.flush()
                os.fsync(out.fileno())
            if exclusive:
                # link() fails when the name exists: create-if-absent, atomically.
                try:
                    os.link(tmp, target)
                except FileExistsError:
                    raise AlreadyExists(f"{key} already exists") from None
                tmp.unlink()
            else:
                os.replace(tmp, target)
            _fsync_dir(target.parent)
        except StorageError:
            tmp.unlink(missing_ok=True)
            raise
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            _raise_os_error(exc, key)

    async def size(self, key: str) -> int:
        path = self._path(key)
        try:
            return (await asyncio.to_thread(path.stat)).st_size
        except (FileNotFoundError, NotADirectoryError):
            raise NotFound(f"{key} not found") from None

    async def stream(
        self, key: str, start: int = 0, length: int | None = None, chunk_size: int = CHUNK
    ) -> AsyncIterator[bytes]:
        path = self._path(key)
        try:
            fh = await asyncio.to_thread(open, path, "rb")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise NotFound(f"{key} not found") from None
        try:
            await asyncio.to_thread(fh.seek, start)
            left = length
            while left is None or left > 0:
                want = chunk_size if left is None else min(chunk_size, left)
                block = await asyncio.to_thread(fh.read, want)
                if not block:
                    break
                if left is not None:
                    left -= len(block)
                yield block
        finally:
            fh.close()

    async def list(self, prefix: str) -> list[str]:
        base = self._path(prefix) if prefix else self.root

        def walk() -> list[str]:
            if not base.is_dir():
                return []
            found = [p for p in base.rglob("*") if p.is_file() or p.is_symlink()]
            return sorted(p.relative_to(self.root).as_posix() for p in found)

        return await asyncio.to_thread(walk)

    async def delete(self, key: str) -> None:
        path = self._path(key)

        def remove() -> None:
            path.unlink(missing_ok=True)
            _fsync_dir(path.parent)

        await asyncio.to_thread(remove)


def _fsync_dir(directory: Path) -> None:
    """Make a rename or unlink durable: the entry lives in the directory's own data."""
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except FileNotFoundError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class S3Storage(Storage):
    """A bucket (and key prefix) of S3-compatible object storage, via aiobotocore.

    Credentials come the standard AWS way (``AWS_ACCESS_KEY_ID`` /
    ``AWS_SECRET_ACCESS_KEY``, profiles, instance roles); ``endpoint`` points at a
    court's own S3-compatible server (MinIO, Ceph) instead of AWS. A put of one
    object is atomic on S3: readers see the old object or the whole new one.
    """

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint: str | None = None,
        region: str | None = None,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.endpoint = endpoint
        self.region = (
            region
            or os.environ.get("AWS_REGION")
            or os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
        )
        self.url = f"s3://{bucket}/{self.prefix}".rstrip("/")
        self._stack: AsyncExitStack | None = None
        self._client: Any = None
        self._lock = asyncio.Lock()

    async def _s3(self) -> Any:
        async with self._lock:
            if self._client is None:
                from aiobotocore.config import AioConfig
                from aiobotocore.session import get_session

                # Path-style addressing: S3-compatible servers on a court's own
                # host name rarely have wildcard DNS for bucket sub-domains.
                config = AioConfig(
                    s3={"addressing_style": "path"} if self.endpoint else {},
                    retries={"max_attempts": 5, "mode": "standard"},
                )
                stack = AsyncExitStack()
                self._client = await stack.enter_async_context(
                    get_session().create_client(
                        "s3", endpoint_url=self.endpoint, region_name=self.region, config=config
                    )
                )
                self._stack = stack
            return self._client

    async def close(self) -> None:
        if self._stack is not None:
            await self._stack.aclose()
        self._stack = None
        self._client = None

    def _key(self, key: str) -> str:
        return join_key(self.prefix, check_key(key))

    async def put_file(self, key: str, path: Path) -> None:
        s3 = await self._s3()
        size = (await asyncio.to_thread(path.stat)).st_size
        try:
            if size <= PART:
                data = await asyncio.to_thread(path.read_bytes)
                await s3.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)
                return
            await self._multipart(s3, key, path)
        except Exception as exc:
            _raise_s3_error(exc, key)

    async def _multipart(self, s3: Any, key: str, path: Path) -> None:
        """Large files go up in parts; an upload that fails is aborted, leaving nothing."""
        upload = await s3.create_multipart_upload(Bucket=self.bucket, Key=self._key(key))
        upload_id = upload["UploadId"]
        parts: list[dict[str, Any]] = []
        try:
            with path.open("rb") as fh:
                number = 1
                while block := await asyncio.to_thread(fh.read, PART):
                    done = await s3.upload_part(
                        Bucket=self.bucket,
                        Key=self._key(key),
                        UploadId=upload_id,
                        PartNumber=number,
                        Body=block,
                    )
                    parts.append({"PartNumber": number, "ETag": done["ETag"]})
                    number += 1
            await s3.complete_multipart_upload(
                Bucket=self.bucket,
                Key=self._key(key),
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
        except BaseException:
            await s3.abort_multipart_upload(
                Bucket=self.bucket, Key=self._key(key), UploadId=upload_id
            )
            raise

    async def put_bytes(self, key: str, data: bytes, *, exclusive: bool = False) -> None:
        s3 = await self._s3()
        extra: dict[str, str] = {}
        if exclusive:
            # The conditional put makes create-if-absent atomic where the server
            # supports it; the check before it covers servers that ignore it.
            if await self.exists(key):
                raise AlreadyExists(f"{key} already exists")
            extra["IfNoneMatch"] = "*"
        try:
            await s3.put_object(Bucket=self.bucket, Key=self._key(key), Body=data, **extra)
        except Exception as exc:
            if _s3_code(exc) in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
                raise AlreadyExists(f"{key} already exists") from exc
            _raise_s3_error(exc, key)

    async def size(self, key: str) -> int:
        s3 = await self._s3()
        try:
            head = await s3.head_object(Bucket=self.bucket, Key=self._key(key))
        except Exception as exc:
            if _s3_code(exc) in ("404", "NoSuchKey", "NotFound"):
                raise NotFound(f"{key} not found") from None
            _raise_s3_error(exc, key)
        return int(head["ContentLength"])

    async def stream(
        self, key: str, start: int = 0, length: int | None = None, chunk_size: int = CHUNK
    ) -> AsyncIterator[bytes]:
        s3 = await self._s3()
        if length == 0:
            return
        extra = {}
        if start or length is not None:
            end = "" if length is None else str(start + length - 1)
            extra["Range"] = f"bytes={start}-{end}"
        try:
            response = await s3.get_object(Bucket=self.bucket, Key=self._key(key), **extra)
        except Exception as exc:
            code = _s3_code(exc)
            if code in ("404", "NoSuchKey", "NotFound"):
                raise NotFound(f"{key} not found") from None
            if code in ("416", "InvalidRange"):
                return  # a range past the end: nothing to read
            _raise_s3_error(exc, key)
        async with response["Body"] as body:
            while block := await body.read(chunk_size):
                yield block

    async def list(self, prefix: str) -> list[str]:
        s3 = await self._s3()
        folder = join_key(self.prefix, check_key(prefix) if prefix else "")
        wanted = f"{folder}/" if folder else ""
        keys: list[str] = []
        paginator = s3.get_paginator("list_objects_v2")
        try:
            async for page in paginator.paginate(Bucket=self.bucket, Prefix=wanted):
                for item in page.get("Contents", []):
                    keys.append(item["Key"])
        except Exception as exc:
            _raise_s3_error(exc, prefix or "/")
        strip = len(self.prefix) + 1 if self.prefix else 0
        return sorted(key[strip:] for key in keys)

    async def delete(self, key: str) -> None:
        s3 = await self._s3()
        try:
            await s3.delete_object(Bucket=self.bucket, Key=self._key(key))
        except Exception as exc:
            _raise_s3_error(exc, key)


def _s3_code(exc: BaseException) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code"))
    return None


def _raise_s3_error(exc: BaseException, key: str) -> None:
    if isinstance(exc, StorageError):
        raise exc
    code = _s3_code(exc)
    if code in ("EntityTooLarge", "QuotaExceeded", "XMinioStorageFull", "InsufficientStorage"):
        raise StorageFull(f"object storage is full writing {key}") from exc
    if isinstance(exc, OSError):
        _raise_os_error(exc, key)
    raise StorageError(f"object storage failed on {key}: {code or exc}") from exc


def open_storage(url: str | None, *, data_dir: Path, s3_endpoint: str | None = None) -> Storage:
    """The storage at ``url``: unset → ``<data dir>/archive``; ``file:///path``; ``s3://bucket/prefix``.

    A plain path (no scheme) is taken as a local directory.
    """
    if not url:
        return LocalStorage(data_dir / "archive")
    parsed = urlparse(url)
    if parsed.scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            raise ValueError(f"file URL with a host is not a local path: {url}")
        return LocalStorage(Path(unquote(parsed.path)))
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise ValueError(f"s3 URL without a bucket: {url}")
        endpoint = s3_endpoint or os.environ.get("TYNDAU_ARCHIVE_S3_ENDPOINT") or None
        return S3Storage(parsed.netloc, unquote(parsed.path), endpoint=endpoint)
    if parsed.scheme == "":
        return LocalStorage(Path(url))
    raise ValueError(f"unsupported archive storage URL {url!r} (file:// or s3://)")
