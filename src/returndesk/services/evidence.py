"""Evidence on a case: resumable uploads, finishing them into chained items, reading, verifying.

The bytes of an upload in progress live in a file (`EvidenceFiles.upload_path`); this module
keeps the records. Finishing an upload inspects what the file really is, stores it by its
SHA-256, and appends it to the case's hash chain in one unit of work with an `evidence_added`
timeline event (so it is pushed live and to webhooks like any change).
"""

from __future__ import annotations

import base64
import logging
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from returndesk.domain.access import Permission
from returndesk.domain.cases.status import TERMINAL
from returndesk.domain.errors import (
    Conflict,
    DomainError,
    Gone,
    NotFound,
    StaleVersion,
    ValidationFailed,
)
from returndesk.domain.evidence import (
    MAX_BYTES,
    Checkpoint,
    EvidenceItem,
    EvidenceKind,
    Inspection,
    Problem,
    check_serials,
    checkpoint_statement,
    next_link,
    verify_chain,
    verify_checkpoints,
)
from returndesk.domain.ids import new_id
from returndesk.domain.policy.decision import EvidenceKind as DecisionEvidence
from returndesk.services.ports import Clock, EvidenceFiles, UnitOfWork, UnitOfWorkFactory, Upload
from returndesk.services.principal import SYSTEM, Principal
from returndesk.services.references import compare_with_references
from returndesk.services.returns import REDECIDABLE, Redecide, get_case, redecide
from returndesk.services.work import keep_up

log = logging.getLogger(__name__)
MAX_FILENAME = 255


def principal_key(principal: Principal) -> str:
    return f"{principal.kind}:{principal.id}"[:80]


def start_upload(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    principal: Principal,
    *,
    case_id: str,
    kind: str,
    filename: str,
    length: int,
    device: str,
) -> Upload:
    principal.require(Permission.evidence_write)
    try:
        evidence_kind = EvidenceKind(kind)
    except ValueError:
        raise ValidationFailed(
            "kind must be photo, video or document", code="invalid_evidence_kind"
        ) from None
    name = filename.strip().replace("/", "_").replace("\\", "_")[:MAX_FILENAME] or "upload"
    if length < 0:
        raise ValidationFailed("Upload-Length must be a whole number", code="invalid_length")
    if length == 0:
        raise ValidationFailed("the file is empty", code="empty_file")
    if length > MAX_BYTES[evidence_kind]:
        raise ValidationFailed(
            f"a {evidence_kind.value} may be at most {MAX_BYTES[evidence_kind]} bytes",
            code="file_too_large",
        )
    case = get_case(uow_factory, principal, case_id)
    if case.status in TERMINAL:
        raise Conflict(f"a {case.status.value} case takes no more evidence", code="case_closed")
    upload = Upload(
        id=new_id(),
        store_id=case.store_id,
        case_id=case.id,
        kind=evidence_kind,
        filename=name,
        length=length,
        principal=principal_key(principal),
        principal_name=principal.actor().name,
        device=device[:300],
        status="open",
        evidence_id=None,
        error=None,
        created_at=clock(),
    )
    with uow_factory(write=True) as uow:
        uow.evidence.add_upload(upload)
        uow.commit()
    return upload


def get_upload(uow_factory: UnitOfWorkFactory, principal: Principal, upload_id: str) -> Upload:
    """Only whoever started an upload may see or continue it."""
    principal.require(Permission.evidence_write)
    with uow_factory() as uow:
        upload = uow.evidence.get_upload(upload_id)
    if upload is None or upload.principal != principal_key(principal):
        raise NotFound("upload not found", code="upload_not_found")
    return upload


def add_file(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    files: EvidenceFiles,
    principal: Principal,
    *,
    case_id: str,
    kind: str,
    source: Path,
    filename: str = "",
    device: str = "",
) -> EvidenceItem:
    """A file already at hand (CLI, imports, demo data), through the same checks as uploads."""
    upload = start_upload(
        uow_factory, clock, principal, case_id=case_id, kind=kind,
        filename=filename or source.name, length=source.stat().st_size, device=device,
    )  # fmt: skip
    part = files.upload_path(upload.id)
    part.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, part)
    return finish_upload(uow_factory, clock, files, principal, upload)


def end_upload(
    uow_factory: UnitOfWorkFactory, upload: Upload, status: str, error: str | None
) -> None:
    with uow_factory(write=True) as uow:
        uow.evidence.end_upload(upload.id, status, None, error)
        uow.commit()


@dataclass(frozen=True, slots=True)
class Incoming:
    """A finished file, stored, about to become a link of its case's chain."""

    case_id: str
    kind: EvidenceKind
    filename: str
    size: int
    sha256: str
    captured_by: str
    captured_by_name: str
    device: str
    inspection: Inspection


def finish_upload(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    files: EvidenceFiles,
    principal: Principal,
    upload: Upload,
    sha256: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> EvidenceItem:
    """The last byte arrived: check the file, store it, chain it. A refused file ends the
    upload with the reason (and its bytes are dropped). `sha256`: the hash the receiver
    computed as it wrote the file, if it saw all of it (else the file is hashed here).
    `extra`: where the file came from, kept in its details (e.g. the video call)."""
    part = files.upload_path(upload.id)
    try:
        inspection = files.inspect(part, upload.kind)
    except ValidationFailed as exc:
        end_upload(uow_factory, upload, "failed", exc.code)
        part.unlink(missing_ok=True)
        raise
    sha256 = sha256 or files.sha256(part)
    details = {**inspection.details, **(extra or {})}
    shown = files.display_copy(part, inspection.media_type)
    if upload.kind is EvidenceKind.photo:  # what the photo shows, against what was shipped
        details.update(_photo_checks(uow_factory, files, upload.case_id, part, shown or part))
    if shown is not None:  # a photo with its location: others see a copy without it
        shown_sha = files.sha256(shown)
        files.store(shown, shown_sha)
        shown.unlink(missing_ok=True)
        details.update(display_sha256=shown_sha, location_removed=True)
    inspection = Inspection(inspection.media_type, details)
    files.store(part, sha256)  # a link or copy: the upload stays resumable until the commit
    incoming = Incoming(
        upload.case_id, upload.kind, upload.filename, upload.length, sha256, upload.principal,
        upload.principal_name, upload.device, inspection,
    )  # fmt: skip

    def done(uow: UnitOfWork, item: EvidenceItem) -> None:
        uow.evidence.end_upload(upload.id, "done", item.id, None)

    item = chain(uow_factory, clock, files, principal, incoming, done)
    part.unlink(missing_ok=True)
    timestamp_pending(uow_factory, clock, files, limit=5)
    reconsider(uow_factory, clock, item)
    return item


def _photo_checks(
    uow_factory: UnitOfWorkFactory,
    files: EvidenceFiles,
    case_id: str,
    photo: Path,
    shown: Path,
) -> dict[str, Any]:
    """A photo of the returned item: its label read against the serial numbers shipped with
    the returned lines (on the copy shown, without location), and its look against the store's
    reference photos of their skus. Only what could be checked is in the answer."""
    with uow_factory() as uow:
        case = uow.cases.get(case_id)
        order = uow.orders.get(case.order_id) if case else None
    if case is None or order is None:
        return {}
    checks: dict[str, Any] = {}
    returned = {line.sku for line in case.lines}
    shipped = [sn for line in order.lines if line.sku in returned for sn in line.serial_numbers]
    if shipped:
        serials = check_serials(files.read_text(shown), shipped)
        if serials is not None:
            checks["serials"] = serials.to_dict()
    appearance = compare_with_references(uow_factory, files, case.store_id, sorted(returned), photo)
    if appearance is not None:
        checks["appearance"] = appearance
    return checks


# What evidence of each kind counts as for the decision engine.
DECISION_EVIDENCE = {
    EvidenceKind.photo: DecisionEvidence.photo,
    EvidenceKind.video: DecisionEvidence.unboxing_video,
}
# What a check of the evidence tells the decision engine.
DECISION_FINDINGS = {"serial_mismatch": "item_swapped", "appearance_mismatch": "item_swapped"}


def reconsider(uow_factory: UnitOfWorkFactory, clock: Clock, item: EvidenceItem) -> None:
    """New evidence (or what it revealed) goes to the decision engine: a case still being
    decided is decided again with it, as a person would with "decide again". Only when it adds
    something the last decision did not know; a case past deciding is left to its people."""
    evidence = DECISION_EVIDENCE.get(item.kind)
    found = [(item.details.get(check) or {}).get("finding") for check in ("serials", "appearance")]
    finding = next((DECISION_FINDINGS[f] for f in found if f in DECISION_FINDINGS), None)
    with uow_factory() as uow:
        case = uow.cases.get(item.case_id)
    if case is None or case.decision is None or case.status not in REDECIDABLE:
        return
    inputs = case.decision.get("inputs") or {}
    new_evidence = evidence is not None and evidence.value not in inputs.get("evidence", [])
    new_finding = finding is not None and finding not in inputs.get("findings", [])
    if not (new_evidence or new_finding):
        return
    command = Redecide(
        case.id,
        case.version,
        evidence=frozenset({evidence}) if evidence else frozenset(),
        findings=frozenset({finding}) if finding else frozenset(),
    )
    try:
        redecide(uow_factory, clock, SYSTEM, command)
    except DomainError as exc:  # the case moved meanwhile: its people decide
        log.info("evidence %s: no new decision (%s)", item.id, exc.code)


def chain(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    files: EvidenceFiles,
    principal: Principal,
    incoming: Incoming,
    also: Callable[[UnitOfWork, EvidenceItem], None],
) -> EvidenceItem:
    """Append a stored file to its case's chain, with its timeline event, in one unit of work
    (and `also`, e.g. marking its upload done). Retried when another file of the same case
    was chained at the same moment."""
    for _ in range(10):
        try:
            return _chain(uow_factory, clock, files, principal, incoming, also)
        except StaleVersion:
            continue
    raise Conflict("the case is busy: try again", code="case_busy")


def _chain(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    files: EvidenceFiles,
    principal: Principal,
    incoming: Incoming,
    also: Callable[[UnitOfWork, EvidenceItem], None],
) -> EvidenceItem:
    now = clock()
    with uow_factory(write=True) as uow:
        case = uow.cases.get(incoming.case_id)
        if case is None:
            raise NotFound("case not found", code="case_not_found")
        links = uow.evidence.for_case(case.id)
        previous = links[-1] if links else None
        item_id = new_id()
        link = next_link(
            previous, case_id=case.id, item_id=item_id, sha256=incoming.sha256,
            size=incoming.size, media_type=incoming.inspection.media_type,
            captured_by=incoming.captured_by, captured_at=now,
        )  # fmt: skip
        item = EvidenceItem(
            id=item_id,
            case_id=case.id,
            store_id=case.store_id,
            kind=incoming.kind,
            media_type=incoming.inspection.media_type,
            filename=incoming.filename,
            size=incoming.size,
            sha256=incoming.sha256,
            captured_by=incoming.captured_by,
            captured_by_name=incoming.captured_by_name,
            captured_at=now,
            device=incoming.device,
            case_status=case.status.value,
            seq=link.seq,
            prev_hash=link.prev_hash,
            entry_hash=link.hash(),
            details=incoming.inspection.details,
        )
        uow.evidence.add(item)
        statement = checkpoint_statement(case.id, item.seq, item.entry_hash, now)
        key_id, signature = files.sign(case.store_id, statement)
        uow.evidence.add_checkpoint(
            Checkpoint(case.id, item.seq, item.entry_hash, now, key_id, signature)
        )
        case.record_evidence(
            {
                "evidence_id": item.id,
                "kind": item.kind.value,
                "filename": item.filename,
                "sha256": item.sha256,
                "seq": item.seq,
                "entry_hash": item.entry_hash,
                "live_attested": bool(item.details.get("live_attested")),
                "finding": (item.details.get("serials") or {}).get("finding")
                or (item.details.get("appearance") or {}).get("finding"),
            },
            principal.actor(),
            now,
        )
        keep_up(uow, case)
        uow.cases.save(case, case.version)
        also(uow, item)
        uow.commit()
        return item


def list_evidence(
    uow_factory: UnitOfWorkFactory, principal: Principal, case_id: str
) -> list[EvidenceItem]:
    get_case(uow_factory, principal, case_id)  # who may read the case may see its evidence
    with uow_factory() as uow:
        return uow.evidence.for_case(case_id)


def evidence_file(
    uow_factory: UnitOfWorkFactory,
    files: EvidenceFiles,
    principal: Principal,
    case_id: str,
    item_id: str,
    *,
    display: bool = False,
) -> tuple[EvidenceItem, str]:
    """The item and the SHA-256 of the bytes to give: the stored original, or with `display`
    the copy made for viewing when there is one (a photo without its location, a browser
    recording remuxed so players know its length)."""
    for item in list_evidence(uow_factory, principal, case_id):
        if item.id == item_id:
            if item.erased_at is not None:
                raise Gone(f"erased: {item.erased_reason}", code="evidence_erased")
            shown = item.details.get("display_sha256") if display else None
            sha = str(shown) if shown else item.sha256
            if not files.exists(sha):
                raise NotFound("the file is missing from storage", code="evidence_file_missing")
            return item, sha
    raise NotFound("evidence not found", code="evidence_not_found")


def timestamp_pending(
    uow_factory: UnitOfWorkFactory, clock: Clock, files: EvidenceFiles, limit: int = 50
) -> int:
    """Ask the time-stamping authority to timestamp checkpoints that have none yet (right after
    they are made, and again from the dispatcher while the authority is unreachable)."""
    if not files.timestamps_enabled:
        return 0
    with uow_factory() as uow:
        pending = uow.evidence.unstamped(limit)
    done = 0
    for checkpoint in pending:
        token = files.timestamp(checkpoint.statement())
        if token is None:
            break  # the authority is down: the next round tries again
        with uow_factory(write=True) as uow:
            uow.evidence.set_timestamp(
                checkpoint.case_id, checkpoint.seq, base64.b64encode(token).decode(), clock()
            )
            uow.commit()
        done += 1
    return done


@dataclass(frozen=True, slots=True)
class Verification:
    case_id: str
    case_number: str
    items: int
    checked_at: datetime
    problems: tuple[Problem, ...]
    timestamped: int = 0  # checkpoints with a valid RFC 3161 timestamp

    @property
    def intact(self) -> bool:
        return not self.problems


def verify_case(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    files: EvidenceFiles,
    principal: Principal,
    case_id: str,
) -> Verification:
    """Re-hash every stored file and recompute every link; compare with the timeline."""
    case = get_case(uow_factory, principal, case_id)
    with uow_factory() as uow:
        items = uow.evidence.for_case(case.id)
        announced = [
            str(e.data.get("evidence_id"))
            for e in uow.cases.timeline(case.id)
            if e.kind == "evidence_added"
        ]
        checkpoints = uow.evidence.checkpoints(case.id)
    hashes = {item.id: files.hash_of(item.sha256) for item in items if item.erased_at is None}
    problems = verify_chain(items, hashes, announced)

    def holds(checkpoint: Checkpoint) -> bool:
        return files.verify_signature(
            case.store_id, checkpoint.key_id, checkpoint.statement(), checkpoint.signature
        )

    problems += verify_checkpoints(items, checkpoints, holds)
    timestamped = 0
    for checkpoint in checkpoints:
        if checkpoint.timestamp_token is None:
            continue
        wrong = files.check_timestamp(
            base64.b64decode(checkpoint.timestamp_token), checkpoint.statement()
        )
        if wrong is None:
            timestamped += 1
        else:
            problems.append(
                Problem(None, "timestamp_invalid", f"checkpoint #{checkpoint.seq}: {wrong}")
            )
    return Verification(case.id, case.number, len(items), clock(), tuple(problems), timestamped)
