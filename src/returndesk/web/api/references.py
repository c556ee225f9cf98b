"""The store's reference photos of its products (what a returned item should look like)."""

from __future__ import annotations

import tempfile
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from returndesk.domain.evidence import ReferencePhoto
from returndesk.services.references import (
    add_reference,
    list_references,
    reference_file,
    remove_reference,
)
from returndesk.web.api.evidence import serve_blob
from returndesk.web.deps import ContainerDep, PrincipalDep
from returndesk.web.schemas import iso

router = APIRouter(prefix="/api/v1", tags=["evidence"])
ReferenceId = Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$")]
MAX_BYTES = 30 * 1024 * 1024


def reference_out(photo: ReferencePhoto) -> dict[str, Any]:
    return {
        "id": photo.id,
        "sku": photo.sku,
        "sha256": photo.sha256,
        "media_type": photo.media_type,
        "filename": photo.filename,
        "created_by": photo.created_by,
        "created_at": iso(photo.created_at),
        "content_url": f"/api/v1/references/{photo.id}/content",
    }


@router.post("/references", status_code=201)
async def create_reference(
    request: Request,
    principal: PrincipalDep,
    container: ContainerDep,
    sku: Annotated[str, Query(min_length=1, max_length=100)],
    filename: Annotated[str, Query(max_length=255)] = "reference.jpg",
) -> dict[str, Any]:
    """The photo's bytes as the body (JPEG, PNG or WebP); `sku` says which product."""
    data = await request.body()
    with tempfile.TemporaryDirectory(prefix="reference-") as folder:
        source = FilePath(folder) / "photo"
        source.write_bytes(data)
        photo = await run_in_threadpool(
            lambda: add_reference(
                container.uow, container.clock, container.files, principal, sku=sku,
                source=source, filename=filename,
            )
        )  # fmt: skip
    return reference_out(photo)


@router.get("/references")
def references(principal: PrincipalDep, container: ContainerDep) -> dict[str, Any]:
    return {"items": [reference_out(p) for p in list_references(container.uow, principal)]}


@router.get("/references/{reference_id}/content")
async def reference_content(
    reference_id: ReferenceId, principal: PrincipalDep, container: ContainerDep
) -> Response:
    photo = reference_file(container.uow, principal, reference_id)
    return await serve_blob(container, photo.sha256, photo.filename, photo.media_type, False)


@router.delete("/references/{reference_id}", status_code=204)
def delete_reference(
    reference_id: ReferenceId, principal: PrincipalDep, container: ContainerDep
) -> Response:
    remove_reference(container.uow, principal, reference_id)
    return Response(status_code=204)
