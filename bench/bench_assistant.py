"""The assistant's intent model: quality next to a TF-IDF baseline, and latency per message.

Both models learn from exactly the same rows (the shared intent data minus its held-out part,
plus the project's hand-written examples); the shipped e5 model is the artefact
`returndesk assistant train` wrote, the baseline (TF-IDF words + character 2-4-grams, logistic
regression, same sample weights) is trained here. They are scored side by side on
1. the held-out part of each shared dataset (never trained on), and
2. bench/data/assistant_eval.csv: hand-written messages in 7 languages, never trained on.
Goals: p50 under 30 ms and p99 under 100 ms per message on this machine (language ID,
embedding, classifier, mentions: what the assistant runs per message); macro-F1 clearly ahead
of the baseline in every language; out-of-scope precision at least 0.9.

    .venv/bin/python bench/bench_assistant.py [--shared ../shared/data] [--other-cap 600]
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

from returndesk.adapters.nlu import corpus  # noqa: E402
from returndesk.adapters.nlu.evaluation import Scored, percentile, report  # noqa: E402
from returndesk.adapters.nlu.model import DEFAULT_MODEL, IntentClassifier, LinearIntents  # noqa: E402
from returndesk.adapters.nlu.training import TfidfBaseline  # noqa: E402


def held_out_sample(rows: tuple[corpus.Row, ...], other_cap: int) -> list[corpus.Row]:
    """Every in-scope held-out row; out-of-scope capped per dataset (clinc150 has thousands)."""
    by_dataset: dict[str, list[corpus.Row]] = defaultdict(list)
    kept = []
    for row in rows:
        if row.intent == "other":
            by_dataset[row.dataset].append(row)
        else:
            kept.append(row)
    rng = random.Random(7)
    for dataset in sorted(by_dataset):
        others = by_dataset[dataset]
        kept.extend(rng.sample(others, min(other_cap, len(others))))
    return kept


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared", type=Path, default=corpus.DEFAULT_SHARED)
    parser.add_argument("--eval", type=Path, default=ROOT / "bench" / "data" / "assistant_eval.csv")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--other-cap", type=int, default=600)
    args = parser.parse_args()

    data = corpus.load(args.shared)
    model = LinearIntents.load(args.model)
    classifier = IntentClassifier(model)
    started = time.perf_counter()
    baseline = TfidfBaseline().fit(data.train)
    baseline_train_s = time.perf_counter() - started

    with args.eval.open(newline="", encoding="utf-8") as handle:
        hand = [
            corpus.Row(r["text"], r["lang"], r["target_intent"], "handwritten_eval", f"eval:{i}")
            for i, r in enumerate(csv.DictReader(handle))
        ]
    sets = {
        "held_out_shared": held_out_sample(data.held_out, args.other_cap),
        "handwritten_eval": hand,
    }

    result: dict[str, object] = {
        "machine": f"{platform.machine()}, {platform.python_version()}",
        "model": model.meta.get("version"),
        "model_trained_at": model.meta.get("trained_at"),
        "train_rows": len(data.train),
        "baseline_train_s": round(baseline_train_s, 2),
    }
    for name, rows in sets.items():
        texts = [r.text for r in rows]
        ours: list[Scored] = []
        latencies: list[float] = []
        for row in rows:  # one message at a time, as in a conversation
            t0 = time.perf_counter()
            got = classifier.understand(row.text)
            latencies.append((time.perf_counter() - t0) * 1000)
            ours.append(Scored(row.intent, got.intent, row.lang, row.dataset, row.coarse_only))
        t0 = time.perf_counter()
        predicted = baseline.predict(texts)
        baseline_ms = (time.perf_counter() - t0) * 1000 / max(1, len(texts))
        theirs = [
            Scored(r.intent, p[0], r.lang, r.dataset, r.coarse_only)
            for r, p in zip(rows, predicted, strict=True)
        ]
        ours_report, theirs_report = report(ours), report(theirs)
        result[name] = {
            "n": len(rows),
            "e5_linear": {k: ours_report[k] for k in ("overall", "per_language", "per_dataset")},
            "tfidf_baseline": {
                k: theirs_report[k] for k in ("overall", "per_language", "per_dataset")
            },
            "e5_per_intent_f1": {k: v["f1"] for k, v in ours_report["per_intent"].items()},
            "latency_ms": {
                "p50": round(percentile(latencies, 50), 2),
                "p99": round(percentile(latencies, 99), 2),
                "baseline_batch_mean": round(baseline_ms, 3),
            },
        }
    json.dump(result, sys.stdout, indent=2, ensure_ascii=False)
    print()


if __name__ == "__main__":
    main()
