"""Evidence on a case and the append-only hash chain that makes it tamper-evident.

Every evidence item is one link of its case's chain. A link commits to the previous link's
hash, to the file's SHA-256 and size, to who captured it and when: changing a stored byte,
deleting an item or reordering the chain breaks a hash that `verify_chain` recomputes.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

GENESIS = "0" * 64


class EvidenceKind(StrEnum):
    photo = "photo"
    video = "video"
    document = "document"


# What each kind may be (by content, not by name), and how large or long.
MEDIA_TYPES: dict[EvidenceKind, frozenset[str]] = {
    EvidenceKind.photo: frozenset({"image/jpeg", "image/png", "image/webp"}),
    EvidenceKind.video: frozenset({"video/webm", "video/mp4", "video/quicktime"}),
    EvidenceKind.document: frozenset({"application/pdf", "image/jpeg", "image/png"}),
}
MAX_BYTES: dict[EvidenceKind, int] = {
    EvidenceKind.photo: 30 * 1024 * 1024,
    EvidenceKind.video: 2 * 1024 * 1024 * 1024,
    EvidenceKind.document: 30 * 1024 * 1024,
}
MAX_VIDEO_SECONDS = 15 * 60
MAX_IMAGE_PIXELS = 60_000_000  # a 60-megapixel photo; more is a decompression bomb


@dataclass(frozen=True, slots=True)
class Inspection:
    """What a file turned out to be: its media type by content, and what was measured."""

    media_type: str
    details: dict[str, Any]


@dataclass(frozen=True, slots=True)
class EvidenceItem:
    id: str
    case_id: str
    store_id: str
    kind: EvidenceKind
    media_type: str
    filename: str
    size: int
    sha256: str  # of the file as received (the original)
    captured_by: str  # "buyer:<order id>" or "staff:<user id>": who sent it
    captured_by_name: str
    captured_at: datetime  # when the server had all of it
    device: str  # the browser or client that sent it (User-Agent)
    case_status: str  # the case step it belongs to
    seq: int  # its place in the case's chain, from 1
    prev_hash: str
    entry_hash: str
    details: dict[str, Any]  # what validation found: dimensions, duration, codecs
    erased_at: datetime | None = None  # the bytes were deleted (retention, erasure request)
    erased_reason: str | None = None

    def link(self) -> Link:
        return Link(
            case_id=self.case_id,
            seq=self.seq,
            prev_hash=self.prev_hash,
            item_id=self.id,
            sha256=self.sha256,
            size=self.size,
            media_type=self.media_type,
            captured_by=self.captured_by,
            captured_at=self.captured_at,
        )


@dataclass(frozen=True, slots=True)
class Link:
    """What one chain entry commits to."""

    case_id: str
    seq: int
    prev_hash: str
    item_id: str
    sha256: str
    size: int
    media_type: str
    captured_by: str
    captured_at: datetime

    def canonical(self) -> bytes:
        """Sorted-key compact JSON, UTC times with microseconds: what the hash is taken of
        (documented in the export's VERIFY.md so anyone can recompute it)."""
        body = {
            "case_id": self.case_id,
            "seq": self.seq,
            "prev_hash": self.prev_hash,
            "item_id": self.item_id,
            "sha256": self.sha256,
            "size": self.size,
            "media_type": self.media_type,
            "captured_by": self.captured_by,
            "captured_at": self.captured_at.astimezone(UTC).isoformat(timespec="microseconds"),
        }
        return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()

    def hash(self) -> str:
        return hashlib.sha256(self.canonical()).hexdigest()


def next_link(
    previous: EvidenceItem | None,
    *,
    case_id: str,
    item_id: str,
    sha256: str,
    size: int,
    media_type: str,
    captured_by: str,
    captured_at: datetime,
) -> Link:
    return Link(
        case_id=case_id,
        seq=previous.seq + 1 if previous else 1,
        prev_hash=previous.entry_hash if previous else GENESIS,
        item_id=item_id,
        sha256=sha256,
        size=size,
        media_type=media_type,
        captured_by=captured_by,
        captured_at=captured_at,
    )


@dataclass(frozen=True, slots=True)
class Problem:
    item_id: str | None
    code: str  # entry_altered | chain_broken | out_of_order | missing_item | file_missing |
    # file_altered
    detail: str


def verify_chain(
    items: Sequence[EvidenceItem],
    file_hashes: dict[str, str | None],
    announced: Sequence[str] = (),
) -> list[Problem]:
    """Every problem with a case's evidence; empty means intact.

    `items` in stored order (by seq); `file_hashes` maps each item id to the SHA-256 of its
    stored file as read now (None: the file is gone); `announced` lists the item ids the
    append-only timeline says were added, in order (so a deleted last item is noticed).
    """
    problems: list[Problem] = []
    previous_hash = GENESIS
    for expected_seq, item in enumerate(items, start=1):
        if item.seq != expected_seq:
            problems.append(
                Problem(
                    item.id,
                    "out_of_order",
                    f"item {item.id} is #{item.seq}, expected #{expected_seq}",
                )
            )
        if item.prev_hash != previous_hash:
            problems.append(
                Problem(
                    item.id, "chain_broken", f"item #{item.seq} does not follow #{item.seq - 1}"
                )
            )
        if item.link().hash() != item.entry_hash:
            problems.append(
                Problem(item.id, "entry_altered", f"item #{item.seq}'s record was changed")
            )
        on_disk = file_hashes.get(item.id)
        if item.erased_at is not None:
            pass  # erased on purpose, on the timeline: the link stays, the bytes are gone
        elif on_disk is None:
            problems.append(Problem(item.id, "file_missing", f"item #{item.seq}'s file is gone"))
        elif on_disk != item.sha256:
            problems.append(
                Problem(item.id, "file_altered", f"item #{item.seq}'s file does not match its hash")
            )
        previous_hash = item.entry_hash
    present = {item.id for item in items}
    for item_id in announced:
        if item_id not in present:
            problems.append(Problem(item_id, "missing_item", f"item {item_id} was removed"))
    order = [i for i in announced if i in present]
    if order != [item.id for item in items if item.id in set(announced)]:
        problems.append(Problem(None, "out_of_order", "the items are not in the order they came"))
    return problems


@dataclass(frozen=True, slots=True)
class Attestation:
    """Whether a browser recording arrived as it was being made (not edited and uploaded
    afterwards): its chunks reached the server at the pace of its own duration."""

    live: bool
    reason: str  # live | arrived_faster_than_recorded | too_short | gaps
    chunks: int
    arrival_span_seconds: float
    recorded_seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "live_attested": self.live,
            "attestation": self.reason,
            "chunks": self.chunks,
            "arrival_span_seconds": round(self.arrival_span_seconds, 3),
            "recorded_seconds": round(self.recorded_seconds, 3),
        }


# A chunk may arrive this much earlier than real time allows (clock jitter, buffering).
ATTEST_SLACK_SECONDS = 2.0
ATTEST_SLACK_SHARE = 0.1


def attest(
    arrivals: Sequence[datetime], timeslice_ms: int, duration_seconds: float | None
) -> Attestation:
    """`arrivals[i]`: when chunk i reached the server. A live recording cannot deliver chunk
    i before i timeslices have passed since chunk 0, and the whole takes about as long to
    arrive as it lasts; a finished file uploaded afterwards arrives much faster."""
    count = len(arrivals)
    slice_seconds = timeslice_ms / 1000
    recorded = duration_seconds if duration_seconds is not None else (count - 1) * slice_seconds
    if count < 2:
        return Attestation(False, "too_short", count, 0.0, recorded)
    start = arrivals[0]
    span = (arrivals[-1] - start).total_seconds()

    def slack(seconds: float) -> float:
        return ATTEST_SLACK_SECONDS + ATTEST_SLACK_SHARE * seconds

    ahead = any(
        (arrived - start).total_seconds() < i * slice_seconds - slack(i * slice_seconds)
        for i, arrived in enumerate(arrivals)
    )
    # The last chunk is flushed at stop: the span covers the recording less one timeslice.
    expected = max(0.0, recorded - slice_seconds)
    if ahead or span < expected - slack(expected):
        return Attestation(False, "arrived_faster_than_recorded", count, span, recorded)
    return Attestation(True, "live", count, span, recorded)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The store's signature over a case's chain head, made each time the chain grows."""

    case_id: str
    seq: int
    entry_hash: str
    signed_at: datetime
    key_id: str
    signature: str  # base64
    timestamp_token: str | None = None  # base64 DER RFC 3161 response over the statement
    timestamped_at: datetime | None = None

    def statement(self) -> bytes:
        return checkpoint_statement(self.case_id, self.seq, self.entry_hash, self.signed_at)


def checkpoint_statement(case_id: str, seq: int, entry_hash: str, signed_at: datetime) -> bytes:
    """What a checkpoint signs: sorted-key compact JSON (recomputable with any tool)."""
    body = {
        "case_id": case_id,
        "seq": seq,
        "entry_hash": entry_hash,
        "signed_at": signed_at.astimezone(UTC).isoformat(timespec="microseconds"),
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def verify_checkpoints(
    items: Sequence[EvidenceItem],
    checkpoints: Sequence[Checkpoint],
    signature_holds: Callable[[Checkpoint], bool],
) -> list[Problem]:
    """Each checkpoint's signature holds and names the link at its place; every link is
    covered by a checkpoint (the head is signed). A chain rewritten or extended by someone
    without the store's key fails here even if its hashes were recomputed."""
    problems: list[Problem] = []
    by_seq = {item.seq: item for item in items}
    for checkpoint in checkpoints:
        if not signature_holds(checkpoint):
            problems.append(
                Problem(None, "bad_signature", f"checkpoint #{checkpoint.seq}'s signature fails")
            )
            continue
        item = by_seq.get(checkpoint.seq)
        if item is None or item.entry_hash != checkpoint.entry_hash:
            problems.append(
                Problem(
                    item.id if item else None,
                    "checkpoint_mismatch",
                    f"link #{checkpoint.seq} is not the one the store signed",
                )
            )
    signed = max((c.seq for c in checkpoints), default=0)
    for item in items:
        if item.seq > signed:
            problems.append(
                Problem(item.id, "unsigned_item", f"item #{item.seq} has no store signature")
            )
    return problems


# Serial numbers and IMEIs as labels print them: letters and digits, at least three digits.
SERIAL_TOKEN = re.compile(r"[A-Z0-9][A-Z0-9-]{4,}[A-Z0-9]")
_OCR_SAME = str.maketrans("OIL", "011")  # letters OCR confuses with digits, read as digits


def _serial_key(text: str) -> str:
    return text.upper().replace("-", "").translate(_OCR_SAME)


@dataclass(frozen=True, slots=True)
class SerialCheck:
    """What a photo's label says against the serial numbers shipped with the order's lines."""

    read: tuple[str, ...]
    matched: tuple[str, ...]  # shipped serials found on the photo

    @property
    def finding(self) -> str | None:
        return None if self.matched else "serial_mismatch"

    def to_dict(self) -> dict[str, Any]:
        return {"read": list(self.read), "matched": list(self.matched), "finding": self.finding}


def check_serials(text: str, shipped: Sequence[str]) -> SerialCheck | None:
    """None when there is nothing to compare (no serials shipped, or none legible); a check
    with `finding == "serial_mismatch"` when serial-like text was read and none of it is a
    shipped serial (a swapped item, or another unit)."""
    if not shipped:
        return None
    tokens = sorted(
        {t for t in SERIAL_TOKEN.findall(text.upper()) if sum(c.isdigit() for c in t) >= 3}
    )
    if not tokens:
        return None
    keys = {_serial_key(s): s for s in shipped}
    matched = sorted(
        {
            original
            for token in tokens
            for key, original in keys.items()
            if key in _serial_key(token) or (_serial_key(token) in key and len(token) >= 6)
        }
    )
    lengths = {len(k) for k in keys}
    serial_like = [t for t in tokens if any(abs(len(_serial_key(t)) - n) <= 3 for n in lengths)]
    if not matched and not serial_like:
        return None  # text, but nothing that could be one of these serials
    return SerialCheck(tuple(tokens), tuple(matched))


@dataclass(frozen=True, slots=True)
class Hold:
    """A legal hold: the case's evidence outlives retention and erasure requests until released
    (GDPR Art. 17(3)(e): data needed for legal claims)."""

    case_id: str
    reason: str
    placed_by: str
    placed_at: datetime


@dataclass(frozen=True, slots=True)
class ReferencePhoto:
    """The store's photo of a product as it leaves (what a returned item should look like)."""

    id: str
    store_id: str
    sku: str
    sha256: str
    media_type: str
    filename: str
    created_by: str
    created_at: datetime


# Feature-match inliers (adapters/vision.py) between a reference and a returned item's photo:
# the same object scores in the hundreds from any angle, another one near zero.
APPEARANCE_MATCH = 40
APPEARANCE_MISMATCH = 15


def appearance_verdict(best_score: int) -> str:
    if best_score >= APPEARANCE_MATCH:
        return "match"
    if best_score < APPEARANCE_MISMATCH:
        return "mismatch"
    return "inconclusive"
