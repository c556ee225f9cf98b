"""The store's reference photos of its products, and how a returned item's photo compares.

Reference photos are catalogue data (admins add them per sku, e.g. from packing or the
product shoot). When a photo of a returned item arrives, it is compared with the references
of the returned skus; the best score and a verdict (`match`, `inconclusive`, `mismatch`) go to
the item, and a mismatch goes to the decision engine as a finding (a person then decides).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from returndesk.domain.access import Permission
from returndesk.domain.errors import NotFound, ValidationFailed
from returndesk.domain.evidence import EvidenceKind, ReferencePhoto, appearance_verdict
from returndesk.domain.ids import new_id
from returndesk.services.ports import Clock, EvidenceFiles, UnitOfWorkFactory
from returndesk.services.principal import Principal
from returndesk.services.stores import resolve_store


def add_reference(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    files: EvidenceFiles,
    principal: Principal,
    *,
    sku: str,
    source: Path,
    filename: str,
    store_slug: str | None = None,
) -> ReferencePhoto:
    principal.require(Permission.order_write)
    sku = sku.strip()
    if not sku or len(sku) > 100:
        raise ValidationFailed("give the product's sku", code="invalid_sku")
    inspection = files.inspect(source, EvidenceKind.photo)
    sha = files.sha256(source)
    files.store(source, sha)
    with uow_factory(write=True) as uow:
        store = resolve_store(uow, principal, store_slug)
        photo = ReferencePhoto(
            id=new_id(), store_id=store.id, sku=sku, sha256=sha,
            media_type=inspection.media_type, filename=filename[:255] or "reference",
            created_by=principal.actor().name, created_at=clock(),
        )  # fmt: skip
        uow.evidence.add_reference(photo)
        uow.commit()
        return photo


def list_references(
    uow_factory: UnitOfWorkFactory, principal: Principal, store_slug: str | None = None
) -> list[ReferencePhoto]:
    principal.require(Permission.case_list)
    with uow_factory() as uow:
        return uow.evidence.references(resolve_store(uow, principal, store_slug).id)


def reference_file(
    uow_factory: UnitOfWorkFactory, principal: Principal, reference_id: str
) -> ReferencePhoto:
    for photo in list_references(uow_factory, principal):
        if photo.id == reference_id:
            return photo
    raise NotFound("reference photo not found", code="reference_not_found")


def remove_reference(
    uow_factory: UnitOfWorkFactory, principal: Principal, reference_id: str
) -> None:
    principal.require(Permission.order_write)
    with uow_factory(write=True) as uow:
        store = resolve_store(uow, principal, None)
        if not uow.evidence.remove_reference(store.id, reference_id):
            raise NotFound("reference photo not found", code="reference_not_found")
        uow.commit()


def compare_with_references(
    uow_factory: UnitOfWorkFactory,
    files: EvidenceFiles,
    store_id: str,
    skus: list[str],
    photo: Path,
) -> dict[str, Any] | None:
    """The best match of `photo` among the references of `skus`; None without references."""
    with uow_factory() as uow:
        references = uow.evidence.references(store_id, skus)
    if not references:
        return None
    best: tuple[int, ReferencePhoto] | None = None
    for reference in references:
        with files.local_copy(reference.sha256) as path:
            score = files.match_score(path, photo)
        if best is None or score > best[0]:
            best = (score, reference)
    assert best is not None
    verdict = appearance_verdict(best[0])
    return {
        "reference_id": best[1].id,
        "sku": best[1].sku,
        "score": best[0],
        "verdict": verdict,
        "finding": "appearance_mismatch" if verdict == "mismatch" else None,
    }
