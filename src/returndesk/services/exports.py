"""The dispute package of a case: its evidence files, a signed manifest, the hash chain,
a readable summary, and a script that checks everything with `sha256sum` and `openssl` only.

    evidence-R-XXXXXXXX/
      VERIFY.md             how to check it by hand, step by step
      verify.sh             the same, as a POSIX shell script (sha256sum, openssl, sed)
      manifest.json         case, items, chain, checkpoints, timeline (what the store states)
      manifest.sig          the store's Ed25519 signature of manifest.json (raw, 64 bytes)
      store-public-key.pem  the key that signed it
      SHA256SUMS            one line per file, for `sha256sum -c`
      chain.txt             each link's canonical JSON, one per line: its SHA-256 is the link's
                            entry hash, and the next line's prev_hash
      chain-hashes.txt      the entry hashes, one per line
      files/                the original files, in chain order
      summary.html          the case, its timeline and the evidence with thumbnails
"""

from __future__ import annotations

import base64
import html
import json
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

from returndesk.domain.access import Permission
from returndesk.domain.evidence import GENESIS, EvidenceItem
from returndesk.services.evidence import list_evidence
from returndesk.services.ports import Clock, EvidenceFiles, UnitOfWorkFactory
from returndesk.services.principal import Principal
from returndesk.services.returns import get_case

VERIFY_SH = """#!/bin/sh
# Checks this evidence package with standard tools only: sha256sum, openssl, sed.
set -eu
cd "$(dirname "$0")"
fail() { echo "FAILED: $*" >&2; exit 1; }

echo "1. The store's signature on manifest.json"
openssl pkeyutl -verify -pubin -inkey store-public-key.pem -rawin \\
  -in manifest.json -sigfile manifest.sig >/dev/null ||
  fail "manifest.json is not what the store signed"

echo "2. Every file against its SHA-256"
sha256sum -c --quiet SHA256SUMS || fail "a file was changed"

echo "3. The hash chain, link by link"
prev={genesis}
n=0
m=0
while IFS= read -r link; do
  n=$((n + 1))
  hash=$(printf '%s' "$link" | sha256sum | cut -d' ' -f1)
  listed=$(sed -n "${n}p" chain-hashes.txt)
  [ "$hash" = "$listed" ] || fail "link $n was changed"
  case "$link" in
    *"\\"prev_hash\\":\\"$prev\\""*) ;;
    *) fail "link $n does not follow link $((n - 1))" ;;
  esac
  if grep -qx "$n" erased.txt; then
    echo "   link $n: its file was erased on purpose (see manifest.json)"
  else
    m=$((m + 1))
    file_hash=$(sed -n "${m}p" SHA256SUMS | cut -d' ' -f1)
    case "$link" in
      *"\\"sha256\\":\\"$file_hash\\""*) ;;
      *) fail "link $n does not commit to its file" ;;
    esac
  fi
  grep -q "$hash" manifest.json || fail "link $n is not in the signed manifest"
  prev=$hash
done < chain.txt
[ "$n" -eq "$(wc -l < chain-hashes.txt)" ] || fail "the chain has a missing or extra link"
count=$(grep -o '"item_count":[0-9]*' manifest.json | cut -d: -f2)
[ "$n" -eq "$count" ] || fail "the manifest lists $count link(s), the chain has $n"
grep -q "\\"head\\":\\"$prev\\"" manifest.json || fail "the last link is not the signed head"

stamps=0
if [ -f tsa-roots.pem ]; then
  echo "4. The time-stamping authority's timestamps of the checkpoints"
  for tsr in timestamps/*.tsr; do
    [ -e "$tsr" ] || continue
    openssl ts -verify -data "${tsr%.tsr}.json" -in "$tsr" -CAfile tsa-roots.pem >/dev/null 2>&1 ||
      fail "$tsr does not verify"
    stamped=$(sed 's/.*"entry_hash":"\\([0-9a-f]*\\)".*/\\1/' "${tsr%.tsr}.json")
    grep -qx "$stamped" chain-hashes.txt || fail "$tsr timestamps a link not in the chain"
    stamps=$((stamps + 1))
  done
fi

echo "OK: the signature, $n file(s), $n link(s) and $stamps timestamp(s) check out."
"""

VERIFY_MD = """# Verifying this evidence package

This package was exported by ReturnDesk for return {number} (order {order}) on {exported}.
It holds {count} evidence file(s) exactly as they were received, and the proof that none of
them was changed, removed, added or reordered since. You need no ReturnDesk to check it:
only `sha256sum` and `openssl` (3.0 or later), as on any Linux or macOS machine.

Quick check: `sh verify.sh` (it prints OK or the first problem it finds).

By hand:

1. **The store's signature.** `manifest.json` lists every file, its SHA-256 and every link of
   the chain. The store signed it with its Ed25519 key:

       openssl pkeyutl -verify -pubin -inkey store-public-key.pem -rawin \\
         -in manifest.json -sigfile manifest.sig

   prints `Signature Verified Successfully`. Key id: `{key_id}` (the first 16 bytes of the
   SHA-256 of the raw public key).

2. **The files.** `sha256sum -c SHA256SUMS` recomputes the SHA-256 of each file in `files/`.

3. **The chain.** Each line of `chain.txt` is one link, as canonical JSON (sorted keys, no
   spaces, times in UTC with microseconds). Its SHA-256 (`printf '%s' "$line" | sha256sum`)
   is the link's entry hash (`chain-hashes.txt`, same line) and appears as `prev_hash` in the
   next line; the first link's `prev_hash` is 64 zeros. Each link names its file's `sha256`,
   size, media type, who captured it (`buyer:<id>` or `staff:<id>`) and when.

4. **Checkpoints.** Each time a file was added, the store signed the chain's head: the
   `checkpoints` in `manifest.json` hold, for each, the statement's fields and the signature
   (base64). The statement is the canonical JSON of `case_id`, `seq`, `entry_hash` and
   `signed_at`.

5. **Timestamps** (when the store uses a time-stamping authority). `timestamps/NNNN.tsr` is an
   RFC 3161 timestamp of the checkpoint statement `timestamps/NNNN.json`:

       openssl ts -verify -data timestamps/0001.json -in timestamps/0001.tsr \
         -CAfile tsa-roots.pem

   prints `Verification: OK`; `openssl ts -reply -in timestamps/0001.tsr -text` shows the
   authority's time. A checkpoint cannot have been made later than that time.

`summary.html` shows the case, its timeline and the evidence with thumbnails.
Recordings marked "live attested" arrived chunk by chunk while they were being recorded: the
server noted each chunk's arrival (see `details` of the item in `manifest.json`).
"""


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _name(item: EvidenceItem) -> str:
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in item.filename)[:80]
    return f"files/{item.seq:04d}-{safe or 'file'}"


def export_case(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    files: EvidenceFiles,
    principal: Principal,
    case_id: str,
    out: Path,
) -> Path:
    """Write the package as a zip at `out` (staff only)."""
    principal.require(Permission.case_list)
    case = get_case(uow_factory, principal, case_id)
    items = list_evidence(uow_factory, principal, case_id)
    with uow_factory() as uow:
        timeline = uow.cases.timeline(case.id)
        checkpoints = uow.evidence.checkpoints(case.id)
    exported = clock()
    links = [item.link() for item in items]
    manifest: dict[str, Any] = {
        "format": "returndesk-evidence/1",
        "exported_at": exported.isoformat(),
        "case": {
            "id": case.id,
            "number": case.number,
            "order_number": case.order_number,
            "market": case.market,
            "status": case.status.value,
            "created_at": case.created_at.isoformat(),
        },
        "genesis": GENESIS,
        "item_count": len(items),
        "head": items[-1].entry_hash if items else GENESIS,
        "items": [
            {
                "seq": item.seq,
                "id": item.id,
                "file": _name(item),
                "filename": item.filename,
                "kind": item.kind.value,
                "media_type": item.media_type,
                "size": item.size,
                "sha256": item.sha256,
                "captured_by": item.captured_by,
                "captured_by_name": item.captured_by_name,
                "captured_at": item.captured_at.isoformat(),
                "device": item.device,
                "case_status": item.case_status,
                "prev_hash": item.prev_hash,
                "entry_hash": item.entry_hash,
                "details": item.details,
                "erased_at": item.erased_at.isoformat() if item.erased_at else None,
                "erased_reason": item.erased_reason,
            }
            for item in items
        ],
        "checkpoints": [
            {
                "seq": c.seq,
                "entry_hash": c.entry_hash,
                "signed_at": c.signed_at.isoformat(),
                "statement": c.statement().decode(),
                "key_id": c.key_id,
                "signature": c.signature,
                "timestamp": f"timestamps/{c.seq:04d}.tsr" if c.timestamp_token else None,
            }
            for c in checkpoints
        ],
        "timeline": [
            {
                "at": e.at.isoformat(),
                "kind": e.kind,
                "actor": e.actor.name,
                "from": e.from_status.value if e.from_status else None,
                "to": e.to_status.value if e.to_status else None,
                "evidence_id": e.data.get("evidence_id"),
            }
            for e in timeline
        ],
    }
    body = _canonical(manifest).encode()
    key_id, signature = files.sign(case.store_id, body)
    root = f"evidence-{case.number}"
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.tmp")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as package:

        def text(name: str, content: str | bytes, mode: int = 0o644) -> None:
            info = zipfile.ZipInfo(f"{root}/{name}", date_time=exported.timetuple()[:6])
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            package.writestr(info, content)

        present = [item for item in items if item.erased_at is None]
        for item in present:
            with files.local_copy(item.sha256) as path:
                package.write(path, f"{root}/{_name(item)}")
        text("manifest.json", body)
        text("manifest.sig", base64.b64decode(signature))
        text("store-public-key.pem", files.public_key_pem(case.store_id))
        text("SHA256SUMS", "".join(f"{i.sha256}  {_name(i)}\n" for i in present))
        text("erased.txt", "".join(f"{i.seq}\n" for i in items if i.erased_at is not None))
        text("chain.txt", "".join(link.canonical().decode() + "\n" for link in links))
        text("chain-hashes.txt", "".join(f"{i.entry_hash}\n" for i in items))
        text("verify.sh", VERIFY_SH.replace("{genesis}", GENESIS), 0o755)
        text(
            "VERIFY.md",
            VERIFY_MD.format(
                number=case.number, order=case.order_number, exported=exported.isoformat(),
                count=len(items), key_id=key_id,
            ),
        )  # fmt: skip
        text("summary.html", _summary(manifest, exported))
        for c in checkpoints:
            if c.timestamp_token:
                text(f"timestamps/{c.seq:04d}.json", c.statement())
                text(f"timestamps/{c.seq:04d}.tsr", base64.b64decode(c.timestamp_token))
        roots = files.tsa_roots_pem()
        if roots:
            text("tsa-roots.pem", roots)
    partial.replace(out)
    return out


def _summary(manifest: dict[str, Any], exported: datetime) -> str:
    case = manifest["case"]
    e = html.escape
    rows = []
    for item in manifest["items"]:
        media = item["media_type"]
        if media.startswith("image/"):
            preview = f'<img src="{e(item["file"])}" alt="" style="max-width:220px">'
        elif media.startswith("video/"):
            preview = f'<video controls src="{e(item["file"])}" style="max-width:320px"></video>'
        else:
            preview = f'<a href="{e(item["file"])}">{e(item["filename"])}</a>'
        live = " · live attested" if item["details"].get("live_attested") else ""
        rows.append(
            f"<tr><td>{item['seq']}</td><td>{preview}</td><td>{e(item['filename'])}<br>"
            f"{e(item['kind'])} · {item['size']} bytes{live}<br>{e(item['captured_by_name'])} "
            f"({e(item['captured_by'])})<br>{e(item['captured_at'])}</td>"
            f"<td><code>{e(item['sha256'])}</code></td></tr>"
        )
    events = "".join(
        f"<li>{e(t['at'])}: {e(t['kind'])} {e(t['from'] or '')} → {e(t['to'] or '')} "
        f"({e(t['actor'])})</li>"
        for t in manifest["timeline"]
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Evidence {e(case["number"])}</title>
<style>
body{{font-family:sans-serif;margin:2rem}}
td{{vertical-align:top;padding:.4rem;border-top:1px solid #ccc}}
code{{font-size:.75rem;word-break:break-all}}
</style>
</head><body>
<h1>Evidence for return {e(case["number"])}</h1>
<p>Order {e(case["order_number"])} · market {e(case["market"])} · status {e(case["status"])} ·
opened {e(case["created_at"])} · exported {e(exported.isoformat())}</p>
<h2>Evidence ({len(manifest["items"])})</h2>
<table><tr><th>#</th><th></th><th>File</th><th>SHA-256</th></tr>{"".join(rows)}</table>
<h2>Timeline</h2><ol>{events}</ol>
<p>See VERIFY.md to check this package.</p>
</body></html>
"""
