"""Evidence files: content-addressed storage under RETURNDESK_HOME, inspection of what a file
really is (magic bytes, Pillow for images, ffprobe for video), and the evidence tables."""

from __future__ import annotations

import json
import logging
import subprocess
import warnings
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import Any

import puremagic
from PIL import Image, ImageFilter, ImageStat, UnidentifiedImageError
from sqlalchemy import Connection, Row, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from returndesk.adapters.blobs import Blobs, FolderBlobs, sha256_file
from returndesk.adapters.db.tables import (
    evidence_checkpoints,
    evidence_holds,
    evidence_items,
    recording_chunks,
    recordings,
    reference_photos,
    return_cases,
    uploads,
)
from returndesk.adapters.signing import Ed25519Keys
from returndesk.adapters.timestamps import Rfc3161Timestamper, TimestampFailed
from returndesk.adapters.vision import match_score
from returndesk.domain.errors import StaleVersion, ValidationFailed
from returndesk.domain.evidence import (
    MAX_BYTES,
    MAX_IMAGE_PIXELS,
    MAX_VIDEO_SECONDS,
    MEDIA_TYPES,
    Checkpoint,
    EvidenceItem,
    EvidenceKind,
    Hold,
    Inspection,
    ReferencePhoto,
)
from returndesk.services.ports import Chunk, Recording, Upload

log = logging.getLogger(__name__)
QUALITY_SIDE = 512
TOO_DARK, TOO_BRIGHT = 35, 245  # mean brightness, 0-255
BLURRED = 12  # the strongest edges' Laplacian below this: no crisp edge anywhere
LAPLACIAN = ImageFilter.Kernel((3, 3), [0, 1, 0, 1, -4, 1, 0, 1, 0], scale=1, offset=128)
GPS_IFD = 0x8825  # EXIF: where the photo was taken
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
FFPROBE_SECONDS = 60
OCR_SECONDS = 30
TRUNCATION_SLACK = 1.0  # seconds a container's duration may run past its last frame


class LocalEvidenceFiles:
    """Evidence files: uploads in progress in RETURNDESK_HOME/uploads/<id>.part, recordings'
    chunks beside them, and stored files named by their SHA-256 in `blobs` (a folder under
    RETURNDESK_HOME/evidence, or an S3 bucket): the same bytes are stored once, and a file's
    name says what it must hash to. Also the store's signing key and the timestamp authority."""

    def __init__(
        self,
        home: Path,
        timestamper: Rfc3161Timestamper | None = None,
        blobs: Blobs | None = None,
    ) -> None:
        self.home = home
        self.blobs: Blobs = blobs or FolderBlobs(home / "evidence")
        self.keys = Ed25519Keys(home / "keys")
        self.timestamper = timestamper

    @property
    def timestamps_enabled(self) -> bool:
        return self.timestamper is not None

    def timestamp(self, data: bytes) -> bytes | None:
        """The authority's token for `data`; None when none is configured or it failed."""
        if self.timestamper is None:
            return None
        try:
            return self.timestamper.stamp(data)
        except TimestampFailed as exc:
            log.warning("no timestamp this time: %s", exc)
            return None

    def check_timestamp(self, token: bytes, data: bytes) -> str | None:
        if self.timestamper is None:
            return "no time-stamping authority is configured to check this timestamp"
        return self.timestamper.check(token, data)

    def tsa_roots_pem(self) -> str | None:
        return self.timestamper.roots_pem() if self.timestamper is not None else None

    def sign(self, store_id: str, message: bytes) -> tuple[str, str]:
        return self.keys.sign(store_id, message)

    def verify_signature(self, store_id: str, key_id: str, message: bytes, signature: str) -> bool:
        return self.keys.verify(store_id, key_id, message, signature)

    def public_key_pem(self, store_id: str) -> str:
        return self.keys.public_key_pem(store_id)

    def upload_path(self, upload_id: str) -> Path:
        return self.home / "uploads" / f"{upload_id}.part"

    def path(self, sha256: str) -> Path:
        """Where a stored file is, for the folder backend (tests reach in through it)."""
        if not isinstance(self.blobs, FolderBlobs):
            raise TypeError("stored files are not in a folder here")
        return self.blobs.path(sha256)

    def inspect(self, path: Path, kind: EvidenceKind) -> Inspection:
        return inspect_file(path, kind)

    def sha256(self, path: Path) -> str:
        return sha256_file(path)

    def store(self, source: Path, sha256: str) -> None:
        """Put a finished file in (the source stays until its upload is recorded done); a
        no-op when those bytes are already stored."""
        self.blobs.put(source, sha256)

    def remove(self, sha256: str) -> None:
        """Delete stored bytes (erasure): the name stays known by its hash in the chain."""
        self.blobs.remove(sha256)

    def hash_of(self, sha256: str) -> str | None:
        """What the stored file hashes to now (None: it is gone)."""
        return self.blobs.hash_of(sha256)

    def exists(self, sha256: str) -> bool:
        return self.blobs.exists(sha256)

    def local_copy(self, sha256: str) -> AbstractContextManager[Path]:
        result: AbstractContextManager[Path] = self.blobs.local_copy(sha256)
        return result

    def local_path(self, sha256: str) -> Path | None:
        return self.blobs.local_path(sha256)

    def download_url(
        self, sha256: str, filename: str, media_type: str, attachment: bool
    ) -> str | None:
        return self.blobs.download_url(sha256, filename, media_type, attachment)

    def display_copy(self, path: Path, media_type: str) -> Path | None:
        """A copy of a photo without its location (EXIF GPS), for everyone else to see; None
        when there is nothing to remove. The original stays the evidence."""
        if media_type not in ("image/jpeg", "image/png", "image/webp"):
            return None
        with Image.open(path) as image:
            exif = image.getexif()
            if GPS_IFD not in exif:
                return None
            del exif[GPS_IFD]
            out = path.with_name(f"{path.name}.display")
            options: dict[str, Any] = {"exif": exif.tobytes()}
            if image.info.get("icc_profile"):
                options["icc_profile"] = image.info["icc_profile"]
            if image.format == "JPEG":
                options["quality"] = 95
            image.save(out, format=image.format, **options)
        return out

    def match_score(self, reference: Path, candidate: Path) -> int:
        return match_score(reference, candidate)

    def read_text(self, path: Path) -> str:
        """What OCR (Debian's tesseract) reads on a photo: labels, serial numbers, IMEIs."""
        try:
            done = subprocess.run(  # noqa: S603 - fixed arguments, our own file path
                ["tesseract", str(path), "-", "--psm", "11"],  # noqa: S607 - sparse text
                capture_output=True, timeout=OCR_SECONDS, check=False,
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.warning("OCR did not run: %s", exc)
            return ""
        return done.stdout.decode(errors="replace") if done.returncode == 0 else ""

    def chunk_path(self, recording_id: str, seq: int) -> Path:
        return self.home / "recordings" / recording_id / f"{seq:06d}.chunk"

    def playable_copy(self, raw: Path, out: Path) -> None:
        try:
            done = subprocess.run(  # noqa: S603 - fixed arguments, our own file paths
                ["ffmpeg", "-v", "error", "-y", "-i", str(raw), "-c", "copy",  # noqa: S607
                 str(out)],
                capture_output=True, timeout=FFPROBE_SECONDS * 5, check=False,
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise _refuse("invalid_video", f"the recording cannot be read: {exc}"[:200]) from None
        if done.returncode != 0 or not out.is_file():
            reason = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["?"]
            raise _refuse("invalid_video", f"the recording cannot be read: {reason[0]}"[:200])


def _refuse(code: str, detail: str, **data: Any) -> ValidationFailed:
    return ValidationFailed(detail, code=code, **data)


def inspect_file(path: Path, kind: EvidenceKind) -> Inspection:
    """What the file is by its content, checked against what `kind` may be."""
    size = path.stat().st_size
    if size == 0:
        raise _refuse("empty_file", "the file is empty")
    if size > MAX_BYTES[kind]:
        raise _refuse("file_too_large", f"a {kind.value} may be at most {MAX_BYTES[kind]} bytes")
    try:
        candidates = puremagic.magic_file(str(path))
    except (puremagic.PureError, ValueError, OSError):
        candidates = []
    allowed = MEDIA_TYPES[kind]
    media_type = next((c.mime_type for c in candidates if c.mime_type in allowed), None)
    matroska = any(c.extension in (".mkv", ".webm") for c in candidates)
    if media_type is None and kind is EvidenceKind.video and matroska:
        media_type = "video/webm"
    if media_type is None:
        seen = candidates[0].mime_type if candidates else "unknown"
        raise _refuse(
            "file_type_mismatch",
            f"this file is {seen or 'of an unknown type'}, not a {kind.value}",
            detected=seen,
        )
    if media_type.startswith("image/"):
        return Inspection(media_type, _image(path))
    if media_type.startswith("video/"):
        return Inspection(media_type, _video(path))
    return Inspection(media_type, _pdf(path))


def _image(path: Path) -> dict[str, Any]:
    try:
        with warnings.catch_warnings():
            # Pillow warns between its limit and twice that, and refuses above: both are ours.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return _read_image(path)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _refuse("image_too_large", f"the image is too large: {exc}"[:200]) from None


def _read_image(path: Path) -> dict[str, Any]:
    try:
        with Image.open(path) as image:
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:
                raise _refuse("image_too_large", f"the image has {width}x{height} pixels")
            image.verify()  # structure and checksums, without decoding every pixel
        with Image.open(path) as image:
            image.draft("L", (QUALITY_SIDE, QUALITY_SIDE))
            image.load()  # decodes (a truncated file fails here)
            quality = photo_quality(image)
    except ValidationFailed:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise _refuse("invalid_image", f"the image cannot be read: {exc}"[:200]) from None
    details: dict[str, Any] = {"width": width, "height": height}
    if quality:
        details["quality"] = quality
    return details


def photo_quality(image: Image.Image) -> list[str]:
    """What would make a person ask for another photo: too dark, too bright, blurred. Measured
    on a grey copy at most 512 px wide: mean brightness, and how strong the strongest edges
    are (the 99.8th percentile of the Laplacian; a sharp photo has some crisp edges)."""
    grey = image.convert("L")
    grey.thumbnail((QUALITY_SIDE, QUALITY_SIDE))
    found: list[str] = []
    brightness = ImageStat.Stat(grey).mean[0]
    if brightness < TOO_DARK:
        found.append("too_dark")
    elif brightness > TOO_BRIGHT:
        found.append("too_bright")
    width, height = grey.size
    if width > 8 and height > 8:
        laplacian = grey.filter(LAPLACIAN).crop((2, 2, width - 2, height - 2))
        counts = laplacian.histogram()
        strength = [0] * 129
        for value, count in enumerate(counts):
            strength[min(128, abs(value - 128))] += count
        total, seen, edge = sum(strength), 0, 0
        for magnitude in range(128, -1, -1):
            seen += strength[magnitude]
            if seen >= total * 0.002:
                edge = magnitude
                break
        if edge < BLURRED and "too_dark" not in found:
            found.append("blurred")
    return found


def _video(path: Path) -> dict[str, Any]:
    try:
        probe = subprocess.run(  # noqa: S603 - fixed arguments, our own file path
            ["ffprobe", "-v", "error", "-print_format", "json", "-show_format",  # noqa: S607
             "-show_streams", str(path)],
            capture_output=True, timeout=FFPROBE_SECONDS, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise _refuse("invalid_video", f"the video cannot be read: {exc}"[:200]) from None
    if probe.returncode != 0:
        reason = probe.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["unknown"]
        raise _refuse("invalid_video", f"the video cannot be read: {reason[0]}"[:200])
    info = json.loads(probe.stdout or b"{}")
    streams = info.get("streams") or []
    videos = [s for s in streams if s.get("codec_type") == "video"]
    if not videos:
        raise _refuse("invalid_video", "the file has no video stream")
    duration_text = (info.get("format") or {}).get("duration")
    duration = float(duration_text) if duration_text not in (None, "N/A") else None
    if duration is not None and duration > MAX_VIDEO_SECONDS:
        raise _refuse("video_too_long", f"a video may last at most {MAX_VIDEO_SECONDS} s")
    last = _last_packet_time(path, duration)
    if duration is not None and (last is None or last < duration - TRUNCATION_SLACK):
        raise _refuse(
            "invalid_video",
            f"the video is cut short: it says {duration:.1f} s, the data ends at {last or 0:.1f} s",
        )
    return {
        "duration_seconds": round(duration, 3) if duration is not None else None,
        "codecs": sorted({str(s.get("codec_name")) for s in streams if s.get("codec_name")}),
        "width": videos[0].get("width"),
        "height": videos[0].get("height"),
    }


def _last_packet_time(path: Path, duration: float | None) -> float | None:
    """When the video's last packet plays. Only the last seconds the container claims are
    read (demuxing, no decoding): a file cut short has no packets there."""
    window = ["-read_intervals", f"{max(0.0, duration - 5):.3f}%"] if duration else []
    try:
        probe = subprocess.run(  # noqa: S603 - fixed arguments, our own file path
            ["ffprobe", "-v", "error", *window, "-select_streams", "v:0",  # noqa: S607
             "-show_entries", "packet=pts_time", "-of", "csv=p=0", str(path)],
            capture_output=True, timeout=FFPROBE_SECONDS, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    times = [line.strip().rstrip(",") for line in probe.stdout.decode().splitlines()]
    values = [float(t) for t in times if t and t != "N/A"]
    return max(values) if values else None


def _pdf(path: Path) -> dict[str, Any]:
    with path.open("rb") as f:
        f.seek(max(0, path.stat().st_size - 2048))
        tail = f.read()
    if b"%%EOF" not in tail:
        raise _refuse("invalid_document", "the PDF is cut short (no end marker)")
    return {}


# --- the tables ------------------------------------------------------------------------------


def item_from_row(row: Row[Any]) -> EvidenceItem:
    return EvidenceItem(
        id=row.id,
        case_id=row.case_id,
        store_id=row.store_id,
        kind=EvidenceKind(row.kind),
        media_type=row.media_type,
        filename=row.filename,
        size=row.size,
        sha256=row.sha256,
        captured_by=row.captured_by,
        captured_by_name=row.captured_by_name,
        captured_at=row.captured_at,
        device=row.device,
        case_status=row.case_status,
        seq=row.seq,
        prev_hash=row.prev_hash,
        entry_hash=row.entry_hash,
        details=row.details,
        erased_at=row.erased_at,
        erased_reason=row.erased_reason,
    )


def _checkpoint(row: Row[Any]) -> Checkpoint:
    return Checkpoint(
        row.case_id, row.seq, row.entry_hash, row.signed_at, row.key_id, row.signature,
        row.timestamp_token, row.timestamped_at,
    )  # fmt: skip


def recording_from_row(row: Row[Any]) -> Recording:
    return Recording(
        id=row.id,
        store_id=row.store_id,
        case_id=row.case_id,
        principal=row.principal,
        principal_name=row.principal_name,
        device=row.device,
        mime_type=row.mime_type,
        timeslice_ms=row.timeslice_ms,
        status=row.status,
        evidence_id=row.evidence_id,
        error=row.error,
        created_at=row.created_at,
    )


def upload_from_row(row: Row[Any]) -> Upload:
    return Upload(
        id=row.id,
        store_id=row.store_id,
        case_id=row.case_id,
        kind=EvidenceKind(row.kind),
        filename=row.filename,
        length=row.length,
        principal=row.principal,
        principal_name=row.principal_name,
        device=row.device,
        status=row.status,
        evidence_id=row.evidence_id,
        error=row.error,
        created_at=row.created_at,
    )


class SqlEvidenceRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def for_case(self, case_id: str) -> list[EvidenceItem]:
        rows = self._conn.execute(
            select(evidence_items)
            .where(evidence_items.c.case_id == case_id)
            .order_by(evidence_items.c.seq)
        )
        return [item_from_row(r) for r in rows]

    def get(self, item_id: str) -> EvidenceItem | None:
        row = self._conn.execute(
            select(evidence_items).where(evidence_items.c.id == item_id)
        ).first()
        return item_from_row(row) if row else None

    def add(self, item: EvidenceItem) -> None:
        """A link at a place another writer took first is a stale read: StaleVersion."""
        try:
            with self._conn.begin_nested():
                self._insert(item)
        except IntegrityError:
            raise StaleVersion("another file was added to this case at the same time") from None

    def _insert(self, item: EvidenceItem) -> None:
        self._conn.execute(
            insert(evidence_items).values(
                id=item.id, case_id=item.case_id, store_id=item.store_id, kind=item.kind.value,
                media_type=item.media_type, filename=item.filename, size=item.size,
                sha256=item.sha256, captured_by=item.captured_by,
                captured_by_name=item.captured_by_name, captured_at=item.captured_at,
                device=item.device, case_status=item.case_status, seq=item.seq,
                prev_hash=item.prev_hash, entry_hash=item.entry_hash, details=item.details,
            )
        )  # fmt: skip

    def add_upload(self, upload: Upload) -> None:
        self._conn.execute(
            insert(uploads).values(
                id=upload.id, store_id=upload.store_id, case_id=upload.case_id,
                kind=upload.kind.value, filename=upload.filename, length=upload.length,
                principal=upload.principal, principal_name=upload.principal_name,
                device=upload.device, status=upload.status, evidence_id=upload.evidence_id,
                error=upload.error, created_at=upload.created_at,
            )
        )  # fmt: skip

    def get_upload(self, upload_id: str) -> Upload | None:
        row = self._conn.execute(select(uploads).where(uploads.c.id == upload_id)).first()
        return upload_from_row(row) if row else None

    def end_upload(
        self, upload_id: str, status: str, evidence_id: str | None, error: str | None
    ) -> None:
        self._conn.execute(
            update(uploads)
            .where(uploads.c.id == upload_id)
            .values(status=status, evidence_id=evidence_id, error=error)
        )

    def hold(self, case_id: str) -> Hold | None:
        row = self._conn.execute(
            select(evidence_holds).where(evidence_holds.c.case_id == case_id)
        ).first()
        return Hold(row.case_id, row.reason, row.placed_by, row.placed_at) if row else None

    def place_hold(self, hold: Hold) -> None:
        self._conn.execute(
            insert(evidence_holds).values(
                case_id=hold.case_id, reason=hold.reason, placed_by=hold.placed_by,
                placed_at=hold.placed_at,
            )
        )  # fmt: skip

    def release_hold(self, case_id: str) -> None:
        self._conn.execute(delete(evidence_holds).where(evidence_holds.c.case_id == case_id))

    def mark_erased(self, item_ids: Sequence[str], at: datetime, reason: str) -> None:
        e = evidence_items.c
        self._conn.execute(
            update(evidence_items)
            .where(e.id.in_(list(item_ids)), e.erased_at.is_(None))
            .values(erased_at=at, erased_reason=reason[:300])
        )

    def still_used(self, sha256: str) -> bool:
        """Whether an item not erased still has these bytes (files are stored once)."""
        e = evidence_items.c
        row = self._conn.execute(
            select(e.id).where(e.sha256 == sha256, e.erased_at.is_(None)).limit(1)
        ).first()
        return row is not None

    def retention_due(self, statuses: Sequence[str], before: datetime, limit: int) -> list[str]:
        """Cases in one of `statuses` since before `before`, with evidence to erase, no hold."""
        e, c = evidence_items.c, return_cases.c
        rows = self._conn.execute(
            select(c.id)
            .distinct()
            .join(evidence_items, e.case_id == c.id)
            .where(
                c.status.in_(list(statuses)),
                c.updated_at < before,
                e.erased_at.is_(None),
                c.id.not_in(select(evidence_holds.c.case_id)),
            )
            .limit(limit)
        )
        return [r.id for r in rows]

    def add_reference(self, photo: ReferencePhoto) -> None:
        self._conn.execute(
            insert(reference_photos).values(
                id=photo.id, store_id=photo.store_id, sku=photo.sku, sha256=photo.sha256,
                media_type=photo.media_type, filename=photo.filename,
                created_by=photo.created_by, created_at=photo.created_at,
            )
        )  # fmt: skip

    def references(self, store_id: str, skus: Sequence[str] | None = None) -> list[ReferencePhoto]:
        r = reference_photos.c
        query = select(reference_photos).where(r.store_id == store_id)
        if skus is not None:
            query = query.where(r.sku.in_(list(skus)))
        rows = self._conn.execute(query.order_by(r.sku, r.created_at))
        return [
            ReferencePhoto(x.id, x.store_id, x.sku, x.sha256, x.media_type, x.filename,
                           x.created_by, x.created_at)
            for x in rows
        ]  # fmt: skip

    def remove_reference(self, store_id: str, reference_id: str) -> bool:
        r = reference_photos.c
        done = self._conn.execute(
            delete(reference_photos).where(r.id == reference_id, r.store_id == store_id)
        )
        return bool(done.rowcount == 1)

    def add_checkpoint(self, checkpoint: Checkpoint) -> None:
        self._conn.execute(
            insert(evidence_checkpoints).values(
                case_id=checkpoint.case_id, seq=checkpoint.seq, entry_hash=checkpoint.entry_hash,
                signed_at=checkpoint.signed_at, key_id=checkpoint.key_id,
                signature=checkpoint.signature,
            )
        )  # fmt: skip

    def checkpoints(self, case_id: str) -> list[Checkpoint]:
        c = evidence_checkpoints.c
        rows = self._conn.execute(
            select(evidence_checkpoints).where(c.case_id == case_id).order_by(c.seq)
        )
        return [_checkpoint(r) for r in rows]

    def unstamped(self, limit: int) -> list[Checkpoint]:
        c = evidence_checkpoints.c
        rows = self._conn.execute(
            select(evidence_checkpoints)
            .where(c.timestamp_token.is_(None))
            .order_by(c.signed_at)
            .limit(limit)
        )
        return [_checkpoint(r) for r in rows]

    def set_timestamp(self, case_id: str, seq: int, token: str, at: datetime) -> None:
        c = evidence_checkpoints.c
        self._conn.execute(
            update(evidence_checkpoints)
            .where(c.case_id == case_id, c.seq == seq)
            .values(timestamp_token=token, timestamped_at=at)
        )

    def add_recording(self, recording: Recording) -> None:
        self._conn.execute(
            insert(recordings).values(
                id=recording.id, store_id=recording.store_id, case_id=recording.case_id,
                principal=recording.principal, principal_name=recording.principal_name,
                device=recording.device, mime_type=recording.mime_type,
                timeslice_ms=recording.timeslice_ms, status=recording.status,
                evidence_id=recording.evidence_id, error=recording.error,
                created_at=recording.created_at,
            )
        )  # fmt: skip

    def get_recording(self, recording_id: str) -> Recording | None:
        row = self._conn.execute(select(recordings).where(recordings.c.id == recording_id)).first()
        return recording_from_row(row) if row else None

    def end_recording(
        self, recording_id: str, status: str, evidence_id: str | None, error: str | None
    ) -> None:
        self._conn.execute(
            update(recordings)
            .where(recordings.c.id == recording_id)
            .values(status=status, evidence_id=evidence_id, error=error)
        )

    def chunks(self, recording_id: str) -> list[Chunk]:
        rows = self._conn.execute(
            select(recording_chunks)
            .where(recording_chunks.c.recording_id == recording_id)
            .order_by(recording_chunks.c.seq)
        )
        return [Chunk(r.seq, r.size, r.sha256, r.arrived_at) for r in rows]

    def add_chunk(self, recording_id: str, chunk: Chunk) -> bool:
        try:
            with self._conn.begin_nested():
                self._conn.execute(
                    insert(recording_chunks).values(
                        recording_id=recording_id, seq=chunk.seq, size=chunk.size,
                        sha256=chunk.sha256, arrived_at=chunk.arrived_at,
                    )
                )  # fmt: skip
        except IntegrityError:
            return False
        return True
