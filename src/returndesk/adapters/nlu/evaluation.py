"""Scores for `returndesk assistant eval` and the benchmark: macro-F1, accuracy, per intent,
per language and per dataset, out-of-scope precision/recall, latency percentiles."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from returndesk.domain.assistant.intents import OUT_OF_SCOPE, coarse_group


@dataclass(frozen=True, slots=True)
class Scored:
    gold: str
    predicted: str
    lang: str = ""
    dataset: str = ""
    coarse_only: bool = False


def _f1(precision: float, recall: float) -> float:
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def per_intent(items: Sequence[Scored]) -> dict[str, dict[str, float]]:
    true_pos: dict[str, int] = defaultdict(int)
    predicted: dict[str, int] = defaultdict(int)
    gold: dict[str, int] = defaultdict(int)
    for item in items:
        gold[item.gold] += 1
        predicted[item.predicted] += 1
        if item.gold == item.predicted:
            true_pos[item.gold] += 1
    result = {}
    for intent in sorted(gold):
        p = true_pos[intent] / predicted[intent] if predicted[intent] else 0.0
        r = true_pos[intent] / gold[intent]
        result[intent] = {
            "precision": round(p, 4),
            "recall": round(r, 4),
            "f1": round(_f1(p, r), 4),
            "support": gold[intent],
        }
    return result


def summary(items: Sequence[Scored]) -> dict[str, Any]:
    """Macro-F1 is over the intents present in the gold labels (out-of-scope included)."""
    fine = [i for i in items if not i.coarse_only]
    intents = per_intent(fine)
    macro = sum(v["f1"] for v in intents.values()) / len(intents) if intents else 0.0
    accuracy = sum(i.gold == i.predicted for i in fine) / len(fine) if fine else 0.0
    oos_pred = [i for i in items if i.predicted == OUT_OF_SCOPE]
    oos_gold = [i for i in items if i.gold == OUT_OF_SCOPE]
    result: dict[str, Any] = {
        "n": len(fine),
        "macro_f1": round(macro, 4),
        "accuracy": round(accuracy, 4),
        "oos_precision": round(sum(i.gold == OUT_OF_SCOPE for i in oos_pred) / len(oos_pred), 4)
        if oos_pred
        else None,
        "oos_recall": round(sum(i.predicted == OUT_OF_SCOPE for i in oos_gold) / len(oos_gold), 4)
        if oos_gold
        else None,
    }
    coarse = [i for i in items if i.coarse_only]
    if coarse:
        hits = sum(coarse_group(i.gold) == coarse_group(i.predicted) for i in coarse)
        result["coarse_only_accuracy"] = round(hits / len(coarse), 4)
        result["coarse_only_n"] = len(coarse)
    return result


def report(items: Sequence[Scored]) -> dict[str, Any]:
    by_lang: dict[str, list[Scored]] = defaultdict(list)
    by_dataset: dict[str, list[Scored]] = defaultdict(list)
    for item in items:
        by_lang[item.lang].append(item)
        by_dataset[item.dataset].append(item)
    return {
        "overall": summary(items),
        "per_language": {k: summary(v) for k, v in sorted(by_lang.items()) if k},
        "per_dataset": {k: summary(v) for k, v in sorted(by_dataset.items()) if k},
        "per_intent": per_intent([i for i in items if not i.coarse_only]),
    }


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]
