"""Which of the product's languages a message is written in (py3langid, plus script rules)."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

LANGUAGES = ("en", "es", "pt-BR", "ja", "de", "fr", "zh")
_LANGID_CODES = {
    "en": "en",
    "es": "es",
    "pt": "pt-BR",
    "ja": "ja",
    "de": "de",
    "fr": "fr",
    "zh": "zh",
}
_KANA = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f]")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LETTERS = re.compile(r"[^\W\d_]", re.UNICODE)
# Below this, a short Latin-script message says too little: keep the conversation's language.
MIN_CONFIDENCE = 0.6


@dataclass(frozen=True, slots=True)
class Detected:
    language: str
    confidence: float


class LanguageDetector:
    """Thread-safe; the model loads once (about 0.5 s) on first use."""

    def __init__(self) -> None:
        self._identifier: Any = None
        self._lock = threading.Lock()

    def _model(self) -> Any:
        with self._lock:
            if self._identifier is None:
                from py3langid.langid import MODEL_FILE, LanguageIdentifier

                identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
                identifier.set_languages(list(_LANGID_CODES))
                self._identifier = identifier
            return self._identifier

    def detect(self, text: str, fallback: str = "en") -> Detected:
        """Kana means Japanese and Han without kana Chinese; otherwise py3langid decides,
        and a message too short to tell keeps the fallback (the conversation's language)."""
        sample = text[:2000]
        letters = _LETTERS.findall(sample)
        if not letters:
            return Detected(fallback, 0.0)
        kana = len(_KANA.findall(sample))
        han = len(_HAN.findall(sample))
        if kana:
            return Detected("ja", 1.0)
        if han and han * 2 >= len(letters):
            return Detected("zh", 1.0)
        code, probability = self._model().classify(sample)
        language = _LANGID_CODES.get(str(code), fallback)
        if float(probability) < MIN_CONFIDENCE or len(letters) < 4:
            return Detected(fallback, float(probability))
        return Detected(language, float(probability))
