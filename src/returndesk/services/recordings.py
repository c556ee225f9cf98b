"""Live recordings: a browser records with MediaRecorder and sends each chunk (about one
second) while recording; the server notes when each arrived. Finishing joins the chunks in
order (the raw recording is the evidence), makes a playable copy, and attests whether the
chunks arrived at the pace of the recording (it was made live, not edited and uploaded).

Chunks may arrive twice or out of order: a repeated chunk with the same bytes is accepted
once, one with other bytes is refused, and the recording is joined by number.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from returndesk.domain.access import Permission
from returndesk.domain.cases.status import TERMINAL
from returndesk.domain.errors import Conflict, NotFound, ValidationFailed
from returndesk.domain.evidence import EvidenceItem, EvidenceKind, Inspection, attest
from returndesk.domain.ids import new_id
from returndesk.services.evidence import (
    Incoming,
    chain,
    principal_key,
    reconsider,
    timestamp_pending,
)
from returndesk.services.ports import (
    Chunk,
    Clock,
    EvidenceFiles,
    Recording,
    UnitOfWork,
    UnitOfWorkFactory,
)
from returndesk.services.principal import Principal
from returndesk.services.returns import get_case

MIME_TYPES = ("video/webm", "video/mp4")
MAX_CHUNK_BYTES = 16 * 1024 * 1024
MAX_CHUNKS = 3600
TIMESLICE_MS = (100, 10_000)


def start_recording(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    principal: Principal,
    *,
    case_id: str,
    mime_type: str,
    timeslice_ms: int,
    device: str,
) -> Recording:
    principal.require(Permission.evidence_write)
    base = mime_type.split(";")[0].strip().lower()
    if base not in MIME_TYPES:
        raise ValidationFailed(
            f"record as one of {', '.join(MIME_TYPES)}", code="unsupported_recording_type"
        )
    low, high = TIMESLICE_MS
    if not low <= timeslice_ms <= high:
        raise ValidationFailed(
            f"timeslice_ms must be between {low} and {high}", code="invalid_timeslice"
        )
    case = get_case(uow_factory, principal, case_id)
    if case.status in TERMINAL:
        raise Conflict(f"a {case.status.value} case takes no more evidence", code="case_closed")
    recording = Recording(
        id=new_id(),
        store_id=case.store_id,
        case_id=case.id,
        principal=principal_key(principal),
        principal_name=principal.actor().name,
        device=device[:300],
        mime_type=mime_type[:100],
        timeslice_ms=timeslice_ms,
        status="open",
        evidence_id=None,
        error=None,
        created_at=clock(),
    )
    with uow_factory(write=True) as uow:
        uow.evidence.add_recording(recording)
        uow.commit()
    return recording


def _recording(uow: UnitOfWork, principal: Principal, case_id: str, recording_id: str) -> Recording:
    recording = uow.evidence.get_recording(recording_id)
    if (
        recording is None
        or recording.case_id != case_id
        or recording.principal != principal_key(principal)
    ):
        raise NotFound("recording not found", code="recording_not_found")
    return recording


@dataclass(frozen=True, slots=True)
class ChunkReceipt:
    seq: int
    sha256: str
    arrived_at: str
    repeated: bool  # the same chunk had arrived before (a retry): nothing changed


def put_chunk(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    files: EvidenceFiles,
    principal: Principal,
    *,
    case_id: str,
    recording_id: str,
    seq: int,
    data: bytes,
) -> ChunkReceipt:
    principal.require(Permission.evidence_write)
    if not 0 <= seq < MAX_CHUNKS:
        raise ValidationFailed(
            f"chunk numbers run from 0 to {MAX_CHUNKS - 1}", code="invalid_chunk"
        )
    if not data:
        raise ValidationFailed("the chunk is empty", code="empty_chunk")
    if len(data) > MAX_CHUNK_BYTES:
        raise ValidationFailed(
            f"a chunk may be at most {MAX_CHUNK_BYTES} bytes", code="chunk_too_large"
        )
    arrived = clock()
    digest = hashlib.sha256(data).hexdigest()
    with uow_factory() as uow:
        recording = _recording(uow, principal, case_id, recording_id)
    if recording.status != "open":
        raise Conflict("this recording is finished", code="recording_finished")
    path = files.chunk_path(recording_id, seq)
    with uow_factory(write=True) as uow:
        existing = {c.seq: c for c in uow.evidence.chunks(recording_id)}
        if seq in existing:
            return _repeat(existing[seq], digest)
        # The bytes first, then the row: a row always has its file.
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".tmp")
        partial.write_bytes(data)
        partial.replace(path)
        chunk = Chunk(seq, len(data), digest, arrived)
        if not uow.evidence.add_chunk(recording_id, chunk):  # another request won the race
            uow.rollback()
            with uow_factory() as again:
                won = {c.seq: c for c in again.evidence.chunks(recording_id)}[seq]
            return _repeat(won, digest)
        uow.commit()
    return ChunkReceipt(seq, digest, arrived.isoformat(), repeated=False)


def _repeat(existing: Chunk, digest: str) -> ChunkReceipt:
    if existing.sha256 != digest:
        raise Conflict(
            f"chunk {existing.seq} arrived before with other bytes", code="chunk_conflict"
        )
    return ChunkReceipt(existing.seq, digest, existing.arrived_at.isoformat(), repeated=True)


def finish_recording(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    files: EvidenceFiles,
    principal: Principal,
    *,
    case_id: str,
    recording_id: str,
) -> EvidenceItem:
    principal.require(Permission.evidence_write)
    with uow_factory() as uow:
        recording = _recording(uow, principal, case_id, recording_id)
        chunks = uow.evidence.chunks(recording_id)
    if recording.status == "done" and recording.evidence_id:  # a retried finish
        with uow_factory() as uow:
            finished = uow.evidence.get(recording.evidence_id)
        if finished is not None:
            return finished
    if recording.status != "open":
        raise Conflict("this recording was refused or ended", code="recording_finished")
    if not chunks:
        raise ValidationFailed("nothing was recorded", code="empty_recording")
    missing = sorted(set(range(chunks[-1].seq + 1)) - {c.seq for c in chunks})
    if missing:
        raise ValidationFailed(
            f"chunks {missing[:20]} have not arrived", code="missing_chunks", missing=missing[:100]
        )
    folder = files.chunk_path(recording_id, 0).parent
    raw = folder / "raw.bin"
    playable = folder / "playable.bin"
    try:
        size = _join(files, recording_id, chunks, raw)
        inspection = files.inspect(raw, EvidenceKind.video)
        playable = folder / f"playable{_suffix(inspection.media_type)}"
        files.playable_copy(raw, playable)
        shown = files.inspect(playable, EvidenceKind.video)
    except ValidationFailed as exc:
        with uow_factory(write=True) as uow:
            uow.evidence.end_recording(recording_id, "failed", None, exc.code)
            uow.commit()
        raise
    duration = shown.details.get("duration_seconds")
    attestation = attest(
        [c.arrived_at for c in chunks],
        recording.timeslice_ms,
        float(duration) if duration is not None else None,
    )
    raw_sha = files.sha256(raw)
    shown_sha = files.sha256(playable)
    files.store(raw, raw_sha)
    files.store(playable, shown_sha)
    details = {
        **shown.details,
        **attestation.to_dict(),
        "timeslice_ms": recording.timeslice_ms,
        "chunk_sha256": [c.sha256 for c in chunks],
        "display_sha256": shown_sha,
        "started_at": chunks[0].arrived_at.isoformat(),
    }
    incoming = Incoming(
        case_id=recording.case_id,
        kind=EvidenceKind.video,
        filename=f"recording-{recording.created_at:%Y%m%d-%H%M%S}{_suffix(inspection.media_type)}",
        size=size,
        sha256=raw_sha,
        captured_by=recording.principal,
        captured_by_name=recording.principal_name,
        device=recording.device,
        inspection=Inspection(inspection.media_type, details),
    )

    def done(uow: UnitOfWork, item: EvidenceItem) -> None:
        uow.evidence.end_recording(recording_id, "done", item.id, None)

    item = chain(uow_factory, clock, files, principal, incoming, done)
    timestamp_pending(uow_factory, clock, files, limit=5)
    reconsider(uow_factory, clock, item)
    for path in (raw, playable, *(files.chunk_path(recording_id, c.seq) for c in chunks)):
        path.unlink(missing_ok=True)
    return item


def _suffix(media_type: str) -> str:
    return ".mp4" if media_type == "video/mp4" else ".webm"


def _join(files: EvidenceFiles, recording_id: str, chunks: list[Chunk], out: Path) -> int:
    """The chunks in order, each checked against the hash noted when it arrived."""
    size = 0
    with out.open("wb") as target:
        for chunk in chunks:
            data = files.chunk_path(recording_id, chunk.seq).read_bytes()
            if hashlib.sha256(data).hexdigest() != chunk.sha256:
                raise ValidationFailed(
                    f"chunk {chunk.seq} changed on disk since it arrived", code="chunk_altered"
                )
            target.write(data)
            size += len(data)
    return size
