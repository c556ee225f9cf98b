"""Training and held-out rows from the shared intent data and the project's own examples.

Each shared CSV has `id, text, lang, target_intent`; an empty target is ambiguous and left
out. A row is held out (never trained on) when a hash of its id says so, so the split is the
same on every machine; xSID's parallel translations share a key, so a sentence and its
translations fall on the same side. clinc150's validation file is held out whole.
"""

from __future__ import annotations

import csv
import hashlib
import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from returndesk.domain.assistant.intents import INTENTS

PROJECT_ROOT = Path(__file__).resolve().parents[4]
DEFAULT_SHARED = PROJECT_ROOT.parent / "shared" / "data"
DEFAULT_HANDWRITTEN = PROJECT_ROOT / "data" / "intents" / "handwritten"

# file (relative to the shared data folder) -> dataset name
SHARED_FILES = {
    "bitext_customer_support/bitext_cs_training_8k.csv": "bitext",
    "bitext_customer_support/bitext_llm_training_4514.csv": "bitext",
    "hint3/hint3_train.csv": "hint3",
    "clinc150/clinc150_train.csv": "clinc150",
    "clinc150/clinc150_val.csv": "clinc150",
    "banking77/banking77_train.csv": "banking77",
    "xsid/xsid_valid.csv": "xsid",
}
HELD_OUT_PERCENT = 20
# Source labels that merge several fine intents (intent_map.json "coarse_only").
COARSE_ONLY = {
    "delivery_period",
    "RETURN_EXCHANGE",
    "REFUNDS_RETURNS_REPLACEMENTS",
    "RESUME_DELIVERY",
}
# Most rows kept per dataset and intent for training, so one big source does not swamp the rest.
CAP = {"other": 1200}
DEFAULT_CAP = 450


@dataclass(frozen=True, slots=True)
class Row:
    text: str
    lang: str
    intent: str
    dataset: str
    key: str
    coarse_only: bool = False  # a merged source label: score it at coarse-group level only


@dataclass(frozen=True, slots=True)
class Corpus:
    train: tuple[Row, ...]
    held_out: tuple[Row, ...]
    sources: tuple[str, ...]


def _held_out(key: str) -> bool:
    digest = hashlib.sha256(key.encode()).digest()
    return int.from_bytes(digest[:4], "big") % 100 < HELD_OUT_PERCENT


def _split_key(dataset: str, row_id: str) -> str:
    if dataset == "xsid":  # xsid_valid_<lang>_<n>: the n is shared by the translations
        return "xsid:" + row_id.rsplit("_", 1)[-1]
    return f"{dataset}:{row_id}"


def read_csv(path: Path, dataset: str) -> Iterator[Row]:
    with path.open(newline="", encoding="utf-8") as handle:
        for number, record in enumerate(csv.DictReader(handle)):
            intent = (record.get("target_intent") or "").strip()
            text = (record.get("text") or "").strip()
            if not intent or not text:
                continue
            if intent not in INTENTS:
                raise ValueError(f"{path}: unknown intent {intent!r}")
            row_id = record.get("id") or f"{path.name}:{number}"
            label = (record.get("source_label") or "").strip()
            yield Row(
                text,
                (record.get("lang") or "en").strip(),
                intent,
                dataset,
                _split_key(dataset, row_id),
                label in COARSE_ONLY,
            )


def load(
    shared: Path = DEFAULT_SHARED, handwritten: Path | None = DEFAULT_HANDWRITTEN, seed: int = 13
) -> Corpus:
    if not shared.is_dir():
        raise FileNotFoundError(f"no shared intent data at {shared}")
    train: list[Row] = []
    held: list[Row] = []
    sources = []
    for relative, dataset in SHARED_FILES.items():
        path = shared / relative
        if not path.exists():
            continue
        whole_file_held = relative.endswith("clinc150_val.csv")
        sources.append(
            f"{dataset}: {relative}" + (" (held out, evaluation only)" if whole_file_held else "")
        )
        for row in read_csv(path, dataset):
            (held if whole_file_held or _held_out(row.key) else train).append(row)
    if handwritten is not None and handwritten.is_dir():
        for path in sorted(handwritten.glob("*.csv")):
            sources.append(f"handwritten: {path.name}")
            train.extend(read_csv(path, "handwritten"))
    return Corpus(tuple(_capped(train, seed)), tuple(held), tuple(sources))


def _capped(rows: list[Row], seed: int) -> list[Row]:
    groups: dict[tuple[str, str], list[Row]] = defaultdict(list)
    seen: set[str] = set()
    for row in rows:
        folded = row.text.casefold()
        if folded in seen:
            continue
        seen.add(folded)
        groups[(row.dataset, row.intent)].append(row)
    rng = random.Random(seed)  # noqa: S311 - sampling, not secrets
    kept: list[Row] = []
    for (dataset, intent), members in sorted(groups.items()):
        cap = CAP.get(intent, DEFAULT_CAP) if dataset != "handwritten" else len(members)
        if len(members) > cap:
            members = rng.sample(members, cap)
        kept.extend(members)
    return kept
