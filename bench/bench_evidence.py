"""Evidence ingest and verification.

1. Ingest: a 500 MB WebM video through the tus endpoint of an app process over loopback
   (PATCH in 64 MB chunks, then the server's inspection with ffprobe, SHA-256 and storage),
   against
   `sha256sum` of the same file in the same run. Goal: at least 0.5x sha256sum's throughput.
2. Verification of a case holding about 1 GB of evidence (two 500 MB videos): every stored
   file re-hashed and every chain link recomputed. Goal: under 10 s.

    .venv/bin/python bench/bench_evidence.py [--mb 500]
"""

from __future__ import annotations

import argparse
import base64
import json
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from returndesk.adapters.auth.passwords import Argon2Hasher  # noqa: E402
from returndesk.adapters.db.migrate import upgrade  # noqa: E402
from returndesk.bootstrap import Container, bootstrap  # noqa: E402
from returndesk.config import Settings  # noqa: E402
from returndesk.domain.cases.model import LineRequest  # noqa: E402
from returndesk.domain.cases.reasons import ReasonCode  # noqa: E402
from returndesk.domain.cases.status import Resolution  # noqa: E402
from returndesk.domain.ids import new_id  # noqa: E402
from returndesk.services.evidence import verify_case  # noqa: E402
from returndesk.services.orders import LineInput, OrderInput, ShipmentInput, upsert_order  # noqa: E402
from returndesk.services.principal import SYSTEM  # noqa: E402
from returndesk.services.returns import OpenReturn, open_return  # noqa: E402
from returndesk.services.stores import ensure_default_store  # noqa: E402
from servers.app_process import AppProcess  # noqa: E402

CHUNK = 64 * 1024 * 1024


def make_video(folder: Path, megabytes: int, name: str, seed: int) -> Path:
    """A real WebM of about `megabytes`: a short high-bitrate clip looped by stream copy."""
    clip = folder / f"clip-{seed}.webm"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
         f"testsrc2=size=1280x720:rate=30,noise=alls={20 + seed}:allf=t", "-t", "4",
         "-c:v", "libvpx", "-b:v", "40M", "-deadline", "realtime", "-cpu-used", "8", str(clip)],
        check=True,
    )  # fmt: skip
    loops = max(1, megabytes * 1024 * 1024 // clip.stat().st_size)
    out = folder / name
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-stream_loop", str(loops - 1), "-i", str(clip),
         "-c", "copy", str(out)],
        check=True,
    )  # fmt: skip
    return out


def open_case(container: Container) -> str:
    now = datetime.now(UTC)
    upsert_order(
        container.uow, SYSTEM,
        OrderInput(
            number="B-1", email="bench@example.com", buyer_name="Bench", market="US",
            currency="USD", language="en", placed_at=now - timedelta(days=3),
            lines=(LineInput(sku="TV-1", title="TV", quantity=1, unit_price=50000,
                             paid_amount=50000, category="electronics"),),
            shipments=(ShipmentInput(carrier="UPS", tracking_number="1Z",
                                     shipped_at=now - timedelta(days=2),
                                     delivered_at=now - timedelta(days=1)),),
        ),
        None,
    )  # fmt: skip
    opened = open_return(
        container.uow, container.clock, SYSTEM,
        OpenReturn("B-1", (LineRequest("TV-1", 1, ReasonCode.defective),), Resolution.refund),
    )  # fmt: skip
    return opened.case.id


def tus_upload(base: str, token: str, case_id: str, path: Path) -> float:
    size = path.stat().st_size
    meta = ",".join(
        f"{k} {base64.b64encode(v.encode()).decode()}"
        for k, v in {"case_id": case_id, "kind": "video", "filename": path.name}.items()
    )
    headers = {"Authorization": f"Bearer {token}", "Tus-Resumable": "1.0.0"}
    began = time.perf_counter()
    with httpx.Client(base_url=base, timeout=600, headers=headers) as client:
        made = client.post(
            "/api/v1/uploads", headers={"Upload-Length": str(size), "Upload-Metadata": meta}
        )
        made.raise_for_status()
        location = made.headers["location"]
        offset = 0
        with path.open("rb") as f:
            while offset < size:
                body = f.read(CHUNK)
                sent = client.patch(
                    location, content=body,
                    headers={"Upload-Offset": str(offset),
                             "Content-Type": "application/offset+octet-stream"},
                )  # fmt: skip
                if sent.status_code != 204:
                    raise RuntimeError(sent.text)
                offset = int(sent.headers["upload-offset"])
    return time.perf_counter() - began


def sha256sum_seconds(path: Path) -> float:
    began = time.perf_counter()
    subprocess.run(["sha256sum", str(path)], check=True, capture_output=True)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        first = make_video(folder, args.mb, "first.webm", 1)
        second = make_video(folder, args.mb, "second.webm", 2)
        settings = Settings(
            home=folder / "home", database_url=f"sqlite:///{folder / 'b.sqlite3'}",
            secret_key="bench-" + "x" * 40, dispatch=False,
        )  # fmt: skip
        container = bootstrap(settings, hasher=Argon2Hasher(fast=True))
        upgrade(container.engine)
        ensure_default_store(container.uow, container.clock)
        case_id = open_case(container)
        token = container.tokens.issue(
            SYSTEM.__class__("staff", new_id(), SYSTEM.role, None, "bench"),
            container.clock(), 3600,
        )  # fmt: skip
        env = {
            "RETURNDESK_DATABASE_URL": settings.database_url,
            "RETURNDESK_SECRET_KEY": settings.secret_key,
            "RETURNDESK_DISPATCH": "0",
        }
        # The app in a process of its own, as in production: the client does not share its GIL.
        with AppProcess(settings.home, env) as server:
            baseline = sha256sum_seconds(first)  # also warms the page cache for both runs
            baseline = min(baseline, sha256sum_seconds(first))
            ingest = tus_upload(server.url, token, case_id, first)
            tus_upload(server.url, token, case_id, second)
        size = first.stat().st_size
        began = time.perf_counter()
        result = verify_case(container.uow, container.clock, container.files, SYSTEM, case_id)
        verify_seconds = time.perf_counter() - began
        assert result.intact, result.problems
        total = first.stat().st_size + second.stat().st_size
        container.close()
    mb = size / 1024 / 1024
    print(json.dumps({
        "benchmark": "evidence",
        "python": platform.python_version(),
        "ingest": {
            "file_mb": round(mb, 1),
            "tus_seconds": round(ingest, 2),
            "tus_mb_per_second": round(mb / ingest, 1),
            "sha256sum_seconds": round(baseline, 2),
            "sha256sum_mb_per_second": round(mb / baseline, 1),
            "ratio_to_sha256sum": round(baseline / ingest, 2),
        },
        "verify": {
            "items": result.items,
            "evidence_mb": round(total / 1024 / 1024, 1),
            "seconds": round(verify_seconds, 2),
        },
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
