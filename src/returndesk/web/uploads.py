"""Resumable uploads over tus 1.0.0 (core + creation, termination and checksum extensions).

Any tus client works (tus-js-client, tuspy, ...). The API endpoint is `/api/v1/uploads`
(bearer tokens); the portal and the console use the same protocol at `/portal/uploads` and
`/console/uploads` with their session cookie and an `X-CSRF-Token` header.

Crash safety: the bytes of an upload are appended to `uploads/<id>.part`, and the offset is
that file's size, so a server killed mid-PATCH resumes from what reached the disk: nothing
doubled (a client always continues from the offset HEAD reports) and nothing lost beyond the
unwritten tail. A PATCH with `Upload-Checksum` is written only once its checksum matches.
"""

from __future__ import annotations

import asyncio
import base64
import fcntl
import hashlib
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from fastapi import Request, Response
from starlette.concurrency import run_in_threadpool

from returndesk.bootstrap import Container
from returndesk.domain.errors import ValidationFailed
from returndesk.services.evidence import end_upload, finish_upload, get_upload, start_upload
from returndesk.services.ports import Upload
from returndesk.services.principal import Principal
from returndesk.web.problems import HttpProblem

TUS_VERSION = "1.0.0"
EXTENSIONS = "creation,termination,checksum"
CHECKSUMS: dict[str, Callable[[], Any]] = {
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
    "md5": hashlib.md5,
}
MAX_SIZE = 2 * 1024 * 1024 * 1024
UPLOAD_ID = r"^[0-9a-f-]{36}$"


def tus_headers(**extra: str) -> dict[str, str]:
    return {"Tus-Resumable": TUS_VERSION, "Cache-Control": "no-store", **extra}


def options() -> Response:
    return Response(
        status_code=204,
        headers=tus_headers(
            **{
                "Tus-Version": TUS_VERSION,
                "Tus-Extension": EXTENSIONS,
                "Tus-Max-Size": str(MAX_SIZE),
                "Tus-Checksum-Algorithm": ",".join(CHECKSUMS),
            }
        ),
    )


def _check_version(request: Request) -> None:
    if request.headers.get("tus-resumable") != TUS_VERSION:
        raise HttpProblem(
            412,
            "tus_version_unsupported",
            f"send Tus-Resumable: {TUS_VERSION}",
            headers={"Tus-Version": TUS_VERSION},
        )


def parse_metadata(header: str) -> dict[str, str]:
    """`key base64value,key2 base64value2`; a key may come without a value."""
    out: dict[str, str] = {}
    for pair in header.split(","):
        pair = pair.strip()
        if not pair:
            continue
        key, _, value = pair.partition(" ")
        try:
            out[key] = base64.b64decode(value, validate=True).decode() if value else ""
        except (ValueError, UnicodeDecodeError):
            raise ValidationFailed(
                f"Upload-Metadata {key!r} is not base64 UTF-8", code="invalid_upload_metadata"
            ) from None
    return out


def _whole_number(request: Request, header: str) -> int:
    raw = request.headers.get(header, "")
    if not raw.isdigit() or len(raw) > 15:
        raise HttpProblem(400, "invalid_upload_header", f"{header} must be a whole number")
    return int(raw)


async def create(
    request: Request, container: Container, principal: Principal, base: str
) -> Response:
    _check_version(request)
    if request.headers.get("upload-defer-length"):
        raise HttpProblem(400, "invalid_upload_header", "send Upload-Length (no deferred length)")
    length = _whole_number(request, "upload-length")
    if length > MAX_SIZE:
        raise HttpProblem(413, "file_too_large", f"at most {MAX_SIZE} bytes")
    meta = parse_metadata(request.headers.get("upload-metadata", ""))
    for key in ("case_id", "kind"):
        if not meta.get(key):
            raise ValidationFailed(f"Upload-Metadata needs {key}", code="invalid_upload_metadata")
    upload = await run_in_threadpool(
        start_upload,
        container.uow,
        container.clock,
        principal,
        case_id=meta["case_id"],
        kind=meta["kind"],
        filename=meta.get("filename") or meta.get("name") or "upload",
        length=length,
        device=request.headers.get("user-agent", ""),
    )
    await run_in_threadpool(_touch, container.files.upload_path(upload.id))
    return Response(
        status_code=201,
        headers=tus_headers(Location=f"{base}/{upload.id}", **{"Upload-Offset": "0"}),
    )


def _touch(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()


def _offset(container: Container, upload: Upload) -> int:
    if upload.status == "done":
        return upload.length
    path = container.files.upload_path(upload.id)
    return path.stat().st_size if path.exists() else 0


def _state(upload: Upload, offset: int) -> dict[str, str]:
    out = {"Upload-Offset": str(offset), "Upload-Length": str(upload.length)}
    if upload.evidence_id:
        out["X-Evidence-Id"] = upload.evidence_id
    return out


def _ended(upload: Upload) -> HttpProblem:
    return HttpProblem(410, upload.error or "upload_failed", "this upload was refused or ended")


async def head(
    request: Request, container: Container, principal: Principal, upload_id: str
) -> Response:
    upload = await run_in_threadpool(get_upload, container.uow, principal, upload_id)
    if upload.status == "failed":
        raise _ended(upload)
    offset = await run_in_threadpool(_offset, container, upload)
    return Response(status_code=200, headers=tus_headers(**_state(upload, offset)))


async def patch(
    request: Request, container: Container, principal: Principal, upload_id: str
) -> Response:
    _check_version(request)
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    if content_type != "application/offset+octet-stream":
        raise HttpProblem(415, "invalid_content_type", "send application/offset+octet-stream")
    offset = _whole_number(request, "upload-offset")
    upload = await run_in_threadpool(get_upload, container.uow, principal, upload_id)
    if upload.status == "done" and offset == upload.length:  # a retried last PATCH
        return Response(status_code=204, headers=tus_headers(**_state(upload, offset)))
    if upload.status != "open":
        raise _ended(upload)
    path = container.files.upload_path(upload.id)
    try:
        target = await run_in_threadpool(_lock, path)
    except FileNotFoundError:
        raise _ended(upload) from None
    try:
        # Under the lock: one request at a time appends, checks the offset and finishes.
        current = await run_in_threadpool(lambda: os.fstat(target.fileno()).st_size)
        if offset != current:
            raise HttpProblem(
                409, "offset_mismatch", f"the upload is at byte {current}",
                headers={"Upload-Offset": str(current)},
            )  # fmt: skip
        checksum = request.headers.get("upload-checksum")
        room = upload.length - current
        if checksum:
            RUNNING.take(upload.id, -1)  # the checked path does not keep a running hash
            await _append_checked(request, target, path, checksum, room)
        else:
            await _append(request, target, room, upload.id, current)
        new_offset = await run_in_threadpool(lambda: os.fstat(target.fileno()).st_size)
        headers = tus_headers(**{"Upload-Offset": str(new_offset)})
        if new_offset == upload.length:
            item = await run_in_threadpool(
                finish_upload, container.uow, container.clock, container.files, principal,
                upload, RUNNING.result(upload.id, upload.length),
            )  # fmt: skip
            headers["X-Evidence-Id"] = item.id
            quality = item.details.get("quality") or []
            if quality:  # the page asks for a better photo, in the buyer's language
                headers["X-Evidence-Quality"] = ",".join(quality)
    finally:
        await run_in_threadpool(target.close)  # closing releases the lock
    return Response(status_code=204, headers=headers)


def _lock(path: Path) -> BinaryIO:
    """The upload's file, open for appending and locked for this request alone (a lock the
    system drops if the process dies). A second request at the same time gets 423."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    target = os.fdopen(fd, "ab")
    try:
        fcntl.flock(target.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        target.close()
        raise HttpProblem(423, "upload_busy", "another request is writing this upload") from None
    return target


BUFFER = 4 * 1024 * 1024


class _Running:
    """The SHA-256 of each upload so far, kept while this process receives it, so finishing
    a large upload need not read it all again. Lost on restart or when another process took
    a chunk: then the file is hashed in full at the end."""

    def __init__(self) -> None:
        self._by_upload: dict[str, tuple[int, Any]] = {}
        self._lock = threading.Lock()

    def take(self, upload_id: str, offset: int) -> Any:
        with self._lock:
            held = self._by_upload.pop(upload_id, None)
        if held is not None and held[0] == offset:
            return held[1]
        return hashlib.sha256() if offset == 0 else None

    def keep(self, upload_id: str, offset: int, digest: Any) -> None:
        with self._lock:
            self._by_upload[upload_id] = (offset, digest)

    def result(self, upload_id: str, length: int) -> str | None:
        with self._lock:
            held = self._by_upload.pop(upload_id, None)
        return held[1].hexdigest() if held is not None and held[0] == length else None


RUNNING = _Running()


def _write(target: BinaryIO, data: bytes, running: Any) -> None:
    if running is not None:
        running.update(data)
    target.write(data)


async def _write_body(
    request: Request, target: BinaryIO, room: int, digest: Any = None, running: Any = None
) -> int:
    """Stream the body into `target`, never past `room`. Writing (and the running hash) happen
    in a worker thread, one buffer at a time, while the next buffer is being received.
    `digest` sees what arrives (a chunk checksum), `running` what is written."""
    loop = asyncio.get_running_loop()
    writing: asyncio.Future[None] | None = None
    pending: list[bytes] = []
    buffered = received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > room:
                raise HttpProblem(413, "upload_too_long", "more bytes than Upload-Length")
            if digest is not None:
                digest.update(chunk)
            pending.append(chunk)
            buffered += len(chunk)
            if buffered >= BUFFER:
                data, pending, buffered = b"".join(pending), [], 0
                if writing is not None:
                    await writing
                writing = loop.run_in_executor(None, _write, target, data, running)
    finally:
        if writing is not None:
            await writing
    if pending:
        await loop.run_in_executor(None, _write, target, b"".join(pending), running)
    return received


def _sync(target: BinaryIO) -> None:
    target.flush()
    os.fsync(target.fileno())


async def _append(
    request: Request, target: BinaryIO, room: int, upload_id: str, offset: int
) -> None:
    """What arrives is kept even if the client stops half-way: the offset is the file's size."""
    running = RUNNING.take(upload_id, offset)
    try:
        written = await _write_body(request, target, room, running=running)
    except BaseException:
        running = None  # what reached the file is unknown to it now: hash in full at the end
        raise
    finally:
        await run_in_threadpool(_sync, target)
        if running is not None:
            RUNNING.keep(upload_id, offset + written, running)


async def _append_checked(
    request: Request, target: BinaryIO, path: Path, header: str, room: int
) -> None:
    """The chunk goes to a side file first and joins the upload only if its checksum holds."""
    algorithm, _, encoded = header.strip().partition(" ")
    factory = CHECKSUMS.get(algorithm.lower())
    if factory is None:
        raise HttpProblem(
            400, "checksum_algorithm_unsupported", f"use one of {', '.join(CHECKSUMS)}"
        )
    try:
        expected = base64.b64decode(encoded, validate=True)
    except ValueError:
        raise HttpProblem(400, "invalid_upload_header", "Upload-Checksum must be base64") from None
    digest = factory()
    side = path.with_name(f"{path.name}.{os.getpid()}.{id(request)}.chunk")
    staged = await run_in_threadpool(side.open, "wb")
    try:
        try:
            await _write_body(request, staged, room, digest)
        finally:
            await run_in_threadpool(staged.close)
        if digest.digest() != expected:
            raise HttpProblem(460, "checksum_mismatch", "the chunk does not match its checksum")
        await run_in_threadpool(_join, side, target)
    finally:
        await run_in_threadpool(side.unlink, True)


def _join(side: Path, target: BinaryIO) -> None:
    with side.open("rb") as source:
        while block := source.read(BUFFER):
            target.write(block)
    _sync(target)


async def delete(
    request: Request, container: Container, principal: Principal, upload_id: str
) -> Response:
    _check_version(request)
    upload = await run_in_threadpool(get_upload, container.uow, principal, upload_id)
    if upload.status == "open":
        await run_in_threadpool(end_upload, container.uow, upload, "failed", "terminated")
        await run_in_threadpool(container.files.upload_path(upload.id).unlink, True)
    return Response(status_code=204, headers=tus_headers())
