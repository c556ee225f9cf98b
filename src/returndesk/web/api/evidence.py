"""Evidence over the API: tus uploads (`/api/v1/uploads`), the case's items, files, verify."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path as Path_
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import FileResponse, RedirectResponse
from pydantic import Field
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from returndesk.bootstrap import Container
from returndesk.domain.access import Permission
from returndesk.domain.evidence import EvidenceItem, Hold
from returndesk.services.evidence import Verification, evidence_file, list_evidence, verify_case
from returndesk.services.exports import export_case
from returndesk.services.ports import Recording
from returndesk.services.recordings import finish_recording, put_chunk, start_recording
from returndesk.services.retention import erase_evidence, get_hold, place_hold, release_hold
from returndesk.services.returns import get_case
from returndesk.web import uploads
from returndesk.web.deps import ContainerDep, PrincipalDep
from returndesk.web.schemas import Body, iso

router = APIRouter(prefix="/api/v1", tags=["evidence"])
CaseId = Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$")]
ItemId = Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$")]
UploadId = Annotated[str, Path(pattern=uploads.UPLOAD_ID)]
BASE = "/api/v1/uploads"


async def export_response(container: Any, principal: Any, case_id: str) -> FileResponse:
    folder = Path_(tempfile.mkdtemp(prefix="export-"))
    out = folder / "evidence.zip"
    try:
        await run_in_threadpool(
            export_case, container.uow, container.clock, container.files, principal, case_id, out
        )
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    case = await run_in_threadpool(get_case, container.uow, principal, case_id)
    return FileResponse(
        out,
        media_type="application/zip",
        filename=f"evidence-{case.number}.zip",
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )


def item_out(item: EvidenceItem, content_url: str) -> dict[str, Any]:
    return {
        "id": item.id,
        "kind": item.kind.value,
        "media_type": item.media_type,
        "filename": item.filename,
        "size": item.size,
        "sha256": item.sha256,
        "captured_by": item.captured_by,
        "captured_by_name": item.captured_by_name,
        "captured_at": iso(item.captured_at),
        "device": item.device,
        "case_status": item.case_status,
        "chain": {"seq": item.seq, "prev_hash": item.prev_hash, "entry_hash": item.entry_hash},
        "details": item.details,
        "erased_at": iso(item.erased_at),
        "erased_reason": item.erased_reason,
        "content_url": None if item.erased_at else content_url,
    }


def verification_out(v: Verification) -> dict[str, Any]:
    return {
        "case_id": v.case_id,
        "case_number": v.case_number,
        "intact": v.intact,
        "items": v.items,
        "timestamped": v.timestamped,
        "checked_at": iso(v.checked_at),
        "problems": [
            {"item_id": p.item_id, "code": p.code, "detail": p.detail} for p in v.problems
        ],
    }


@router.options("/uploads")
def tus_options() -> Response:
    """What this tus server supports (no token needed)."""
    return uploads.options()


@router.post("/uploads", status_code=201)
async def tus_create(
    request: Request, principal: PrincipalDep, container: ContainerDep
) -> Response:
    """tus creation: `Upload-Length`, `Upload-Metadata` with `case_id`, `kind` (photo, video,
    document) and `filename`."""
    return await uploads.create(request, container, principal, BASE)


@router.head("/uploads/{upload_id}")
async def tus_head(
    upload_id: UploadId, request: Request, principal: PrincipalDep, container: ContainerDep
) -> Response:
    return await uploads.head(request, container, principal, upload_id)


@router.patch("/uploads/{upload_id}", status_code=204)
async def tus_patch(
    upload_id: UploadId, request: Request, principal: PrincipalDep, container: ContainerDep
) -> Response:
    """Append bytes at `Upload-Offset` (optionally with `Upload-Checksum`); the last one turns
    the upload into an evidence item (its id in `X-Evidence-Id`)."""
    return await uploads.patch(request, container, principal, upload_id)


@router.delete("/uploads/{upload_id}", status_code=204)
async def tus_delete(
    upload_id: UploadId, request: Request, principal: PrincipalDep, container: ContainerDep
) -> Response:
    return await uploads.delete(request, container, principal, upload_id)


@router.get("/returns/{case_id}/evidence")
def evidence(case_id: CaseId, principal: PrincipalDep, container: ContainerDep) -> dict[str, Any]:
    """The case's evidence in chain order, with hashes and what validation measured."""
    items = list_evidence(container.uow, principal, case_id)
    base = f"/api/v1/returns/{case_id}/evidence"
    return {"items": [item_out(i, f"{base}/{i.id}/content") for i in items]}


@router.get("/returns/{case_id}/evidence/{item_id}/content")
async def evidence_content(
    case_id: CaseId,
    item_id: ItemId,
    principal: PrincipalDep,
    container: ContainerDep,
    original: bool = False,
) -> Response:
    """The file as shown to people (a photo's location removed, a recording made playable);
    staff may ask for the `original` bytes, the ones hashed in the chain."""
    if original:
        principal.require(Permission.case_list)
    item, sha = await run_in_threadpool(
        lambda: evidence_file(
            container.uow, container.files, principal, case_id, item_id, display=not original
        )
    )
    return await file_response(container, item, sha, attachment=False)


async def file_response(
    container: Container, item: EvidenceItem, sha: str, *, attachment: bool
) -> Response:
    return await serve_blob(container, sha, item.filename, item.media_type, attachment)


async def serve_blob(
    container: Container, sha: str, filename: str, media_type: str, attachment: bool
) -> Response:
    """The bytes from this server, or (a bucket) a redirect to a five-minute signed URL."""
    url = await run_in_threadpool(
        container.files.download_url, sha, filename, media_type, attachment
    )
    if url is not None:
        return RedirectResponse(url, status_code=307, headers={"Cache-Control": "no-store"})
    path = container.files.local_path(sha)
    assert path is not None
    return FileResponse(
        path,
        media_type=media_type,
        filename=filename,
        content_disposition_type="attachment" if attachment else "inline",
        headers={"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )


@router.get("/returns/{case_id}/evidence/export")
async def evidence_export(
    case_id: CaseId, principal: PrincipalDep, container: ContainerDep
) -> FileResponse:
    """The dispute package (zip): files, signed manifest, chain, summary, VERIFY.md (staff)."""
    return await export_response(container, principal, case_id)


@router.get("/returns/{case_id}/evidence/verification")
async def evidence_verification(
    case_id: CaseId, principal: PrincipalDep, container: ContainerDep
) -> dict[str, Any]:
    """Re-hash every file and recompute the chain now (staff)."""
    principal.require(Permission.case_list)
    result = await run_in_threadpool(
        verify_case, container.uow, container.clock, container.files, principal, case_id
    )
    return verification_out(result)


class RecordingIn(Body):
    mime_type: Annotated[str, Field(min_length=1, max_length=100)] = "video/webm"
    timeslice_ms: Annotated[int, Field(ge=100, le=10_000)] = 1000


RecordingId = Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$")]
Seq = Annotated[int, Path(ge=0, le=999_999)]


def recording_out(recording: Recording, base: str) -> dict[str, Any]:
    url = f"{base}/{recording.id}"
    return {
        "id": recording.id,
        "case_id": recording.case_id,
        "mime_type": recording.mime_type,
        "timeslice_ms": recording.timeslice_ms,
        "status": recording.status,
        "chunk_url": f"{url}/chunks/{{seq}}",
        "finish_url": f"{url}/finish",
    }


@router.post("/returns/{case_id}/recordings", status_code=201)
def create_recording(
    case_id: CaseId, body: RecordingIn, request: Request, principal: PrincipalDep,
    container: ContainerDep,
) -> dict[str, Any]:  # fmt: skip
    """Start a live recording; then PUT each MediaRecorder chunk as it comes, then finish."""
    recording = start_recording(
        container.uow, container.clock, principal, case_id=case_id, mime_type=body.mime_type,
        timeslice_ms=body.timeslice_ms, device=request.headers.get("user-agent", ""),
    )  # fmt: skip
    return recording_out(recording, f"/api/v1/returns/{case_id}/recordings")


@router.put("/returns/{case_id}/recordings/{recording_id}/chunks/{seq}")
async def recording_chunk(
    case_id: CaseId, recording_id: RecordingId, seq: Seq, request: Request,
    principal: PrincipalDep, container: ContainerDep,
) -> dict[str, Any]:  # fmt: skip
    """One chunk, numbered from 0; sending it again with the same bytes is harmless."""
    data = await request.body()
    receipt = await run_in_threadpool(
        lambda: put_chunk(
            container.uow, container.clock, container.files, principal, case_id=case_id,
            recording_id=recording_id, seq=seq, data=data,
        )
    )  # fmt: skip
    return {"seq": receipt.seq, "sha256": receipt.sha256, "arrived_at": receipt.arrived_at,
            "repeated": receipt.repeated}  # fmt: skip


@router.post("/returns/{case_id}/recordings/{recording_id}/finish", status_code=201)
async def recording_finish(
    case_id: CaseId, recording_id: RecordingId, principal: PrincipalDep, container: ContainerDep
) -> dict[str, Any]:
    """Join the chunks, check the video, attest it, and add it to the case's evidence."""
    item = await run_in_threadpool(
        lambda: finish_recording(
            container.uow, container.clock, container.files, principal, case_id=case_id,
            recording_id=recording_id,
        )
    )  # fmt: skip
    return item_out(item, f"/api/v1/returns/{case_id}/evidence/{item.id}/content")


class ReasonIn(Body):
    reason: Annotated[str, Field(min_length=1, max_length=500)]


def hold_out(hold: Hold | None) -> dict[str, Any]:
    if hold is None:
        return {"held": False}
    return {"held": True, "reason": hold.reason, "placed_by": hold.placed_by,
            "placed_at": iso(hold.placed_at)}  # fmt: skip


@router.get("/returns/{case_id}/evidence/hold")
def evidence_hold(
    case_id: CaseId, principal: PrincipalDep, container: ContainerDep
) -> dict[str, Any]:
    return hold_out(get_hold(container.uow, principal, case_id))


@router.put("/returns/{case_id}/evidence/hold")
def put_evidence_hold(
    case_id: CaseId, body: ReasonIn, principal: PrincipalDep, container: ContainerDep
) -> dict[str, Any]:
    """A legal hold: no retention and no erasure until released (supervisors, admins)."""
    return hold_out(place_hold(container.uow, container.clock, principal, case_id, body.reason))


@router.delete("/returns/{case_id}/evidence/hold", status_code=204)
def delete_evidence_hold(
    case_id: CaseId, principal: PrincipalDep, container: ContainerDep
) -> Response:
    release_hold(container.uow, container.clock, principal, case_id)
    return Response(status_code=204)


@router.post("/returns/{case_id}/evidence/erasure")
async def evidence_erasure(
    case_id: CaseId, body: ReasonIn, principal: PrincipalDep, container: ContainerDep
) -> dict[str, Any]:
    """Delete the bytes of the case's evidence (an erasure request); the chain keeps each
    link, marked erased. Refused (409 legal_hold) while a legal hold is in place."""
    done = await run_in_threadpool(
        erase_evidence, container.uow, container.clock, container.files, principal, case_id,
        body.reason,
    )  # fmt: skip
    return {"erased": done.erased, "files_deleted": done.files_deleted}
