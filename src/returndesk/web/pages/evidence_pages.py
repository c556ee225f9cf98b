"""Evidence in the portal and the console: tus uploads with the session cookie (and a CSRF
header), and the files of a case for whoever may read it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from starlette.concurrency import run_in_threadpool

from returndesk.domain.errors import AuthenticationFailed, ValidationFailed
from returndesk.services.evidence import evidence_file
from returndesk.services.principal import Principal
from returndesk.services.recordings import finish_recording, put_chunk, start_recording
from returndesk.web import uploads
from returndesk.web.api.evidence import export_response, file_response
from returndesk.web.pages.console import COOKIE as CONSOLE_COOKIE
from returndesk.web.pages.portal import COOKIE as PORTAL_COOKIE
from returndesk.web.pages.rendering import check_csrf
from returndesk.web.pages.sessions import container_of, cookie_session

router = APIRouter()
CaseId = Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$")]
ItemId = Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$")]
UploadId = Annotated[str, Path(pattern=uploads.UPLOAD_ID)]
RecordingId = Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$")]
Seq = Annotated[int, Path(ge=0, le=999_999)]
SESSIONS = {"portal": (PORTAL_COOKIE, "buyer"), "console": (CONSOLE_COOKIE, "staff")}


def _session(request: Request, area: str, *, write: bool) -> Principal:
    """The signed-in buyer (portal) or staff member (console); writes need the CSRF header."""
    cookie, kind = SESSIONS[area]
    session = cookie_session(request, cookie, kind)
    if session is None:
        raise AuthenticationFailed("sign in first", code="unauthenticated")
    principal, token = session
    secret = container_of(request).settings.secret_key
    if write and not check_csrf(secret, token, request.headers.get("x-csrf-token", "")):
        raise AuthenticationFailed("the page's CSRF token is missing", code="csrf_failed")
    return principal


def _routes(area: str) -> None:
    base = f"/{area}/uploads"

    @router.options(base, name=f"{area}_tus_options")
    def tus_options() -> Response:
        return uploads.options()

    @router.post(base, name=f"{area}_tus_create")
    async def tus_create(request: Request) -> Response:
        principal = _session(request, area, write=True)
        return await uploads.create(request, container_of(request), principal, base)

    @router.head(f"{base}/{{upload_id}}", name=f"{area}_tus_head")
    async def tus_head(request: Request, upload_id: UploadId) -> Response:
        principal = _session(request, area, write=False)
        return await uploads.head(request, container_of(request), principal, upload_id)

    @router.patch(f"{base}/{{upload_id}}", name=f"{area}_tus_patch")
    async def tus_patch(request: Request, upload_id: UploadId) -> Response:
        principal = _session(request, area, write=True)
        return await uploads.patch(request, container_of(request), principal, upload_id)

    @router.delete(f"{base}/{{upload_id}}", name=f"{area}_tus_delete")
    async def tus_delete(request: Request, upload_id: UploadId) -> Response:
        principal = _session(request, area, write=True)
        return await uploads.delete(request, container_of(request), principal, upload_id)


_routes("portal")
_routes("console")


async def _file(request: Request, area: str, case_id: str, item_id: str) -> Response:
    try:
        principal = _session(request, area, write=False)
    except AuthenticationFailed:
        return Response(status_code=401)
    container = container_of(request)
    download = request.query_params.get("download") == "1"
    # Staff download the original (what the chain hashes); everyone else gets what is shown.
    original = download and area == "console"
    item, sha = await run_in_threadpool(
        lambda: evidence_file(
            container.uow, container.files, principal, case_id, item_id, display=not original
        )
    )
    return await file_response(container, item, sha, attachment=download)


@router.get("/portal/returns/{case_id}/evidence/{item_id}")
async def portal_file(request: Request, case_id: CaseId, item_id: ItemId) -> Response:
    return await _file(request, "portal", case_id, item_id)


@router.get("/console/cases/{case_id}/evidence/{item_id}")
async def console_file(request: Request, case_id: CaseId, item_id: ItemId) -> Response:
    return await _file(request, "console", case_id, item_id)


def _recording_routes(area: str, cases: str) -> None:
    """Live recordings from the page (static/recorder.js), as on the API."""
    base = f"/{area}/{cases}/{{case_id}}/recordings"

    @router.post(base, status_code=201, name=f"{area}_recording_create")
    async def create(request: Request, case_id: CaseId) -> dict[str, Any]:
        principal = _session(request, area, write=True)
        container = container_of(request)
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ValidationFailed("send JSON: {mime_type, timeslice_ms}", code="invalid_body")
        recording = await run_in_threadpool(
            lambda: start_recording(
                container.uow, container.clock, principal, case_id=case_id,
                mime_type=str(body.get("mime_type") or "video/webm")[:100],
                timeslice_ms=_int(body.get("timeslice_ms"), 1000),
                device=request.headers.get("user-agent", ""),
            )
        )  # fmt: skip
        return {"id": recording.id, "timeslice_ms": recording.timeslice_ms}

    @router.put(f"{base}/{{recording_id}}/chunks/{{seq}}", name=f"{area}_recording_chunk")
    async def chunk(
        request: Request, case_id: CaseId, recording_id: RecordingId, seq: Seq
    ) -> dict[str, Any]:
        principal = _session(request, area, write=True)
        container = container_of(request)
        data = await request.body()
        receipt = await run_in_threadpool(
            lambda: put_chunk(
                container.uow, container.clock, container.files, principal, case_id=case_id,
                recording_id=recording_id, seq=seq, data=data,
            )
        )  # fmt: skip
        return {"seq": receipt.seq, "repeated": receipt.repeated}

    @router.post(f"{base}/{{recording_id}}/finish", status_code=201, name=f"{area}_recording_end")
    async def finish(
        request: Request, case_id: CaseId, recording_id: RecordingId
    ) -> dict[str, Any]:
        principal = _session(request, area, write=True)
        container = container_of(request)
        item = await run_in_threadpool(
            lambda: finish_recording(
                container.uow, container.clock, container.files, principal, case_id=case_id,
                recording_id=recording_id,
            )
        )  # fmt: skip
        return {"id": item.id, "live_attested": bool(item.details.get("live_attested"))}


def _int(value: Any, default: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        return default
    return value


_recording_routes("portal", "returns")
_recording_routes("console", "cases")


@router.get("/console/cases/{case_id}/evidence-package")
async def console_export(request: Request, case_id: CaseId) -> Response:
    """The dispute package as a download, from the console's case page."""
    try:
        principal = _session(request, "console", write=False)
    except AuthenticationFailed:
        return Response(status_code=401)
    return await export_response(container_of(request), principal, case_id)
