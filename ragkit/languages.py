"""Languages: which one a text is written in, how PostgreSQL stems it, and fixed texts in it.

Detection runs offline with ``py3langid`` (a naive Bayes model over byte n-grams that ships in
the package). Texts too short or too ambiguous to tell get ``None``; callers then fall back to
the knowledge base's configured language (:attr:`ragkit.Settings.text_search_config`).
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Sequence
from typing import Any

#: PostgreSQL's built-in Snowball text-search configurations, by ISO 639-1 code. A language not
#: listed here is indexed with ``simple`` (lower-cased words, no stemming, no stop words).
TEXT_SEARCH_CONFIGS: dict[str, str] = {
    "ar": "arabic",
    "hy": "armenian",
    "eu": "basque",
    "ca": "catalan",
    "da": "danish",
    "nl": "dutch",
    "en": "english",
    "et": "estonian",
    "fi": "finnish",
    "fr": "french",
    "de": "german",
    "el": "greek",
    "hi": "hindi",
    "hu": "hungarian",
    "id": "indonesian",
    "ga": "irish",
    "it": "italian",
    "lt": "lithuanian",
    "ne": "nepali",
    "no": "norwegian",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sr": "serbian",
    "es": "spanish",
    "sv": "swedish",
    "ta": "tamil",
    "tr": "turkish",
}
NEUTRAL_CONFIG = "simple"
#: Languages the detector chooses among: those PostgreSQL can stem, and widely used ones it
#: cannot (indexed with ``simple``). A smaller set makes short texts (questions) more reliable.
CANDIDATES: tuple[str, ...] = (
    *TEXT_SEARCH_CONFIGS,
    *("bg", "cs", "fa", "he", "hr", "ja", "ko", "lv", "pl", "sk", "sl", "th", "uk", "vi", "zh"),
)
#: A text needs this many letters, and its best language this probability, to be decided.
MIN_LETTERS = 12
MIN_CONFIDENCE = 0.8
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)

#: Fixed answer texts per language; English is the fallback for any other language.
FIXED_TEXTS: dict[str, dict[str, str]] = {
    "abstention": {
        "en": "I couldn't find this in the knowledge base.",
        "de": "Dazu habe ich in der Wissensdatenbank nichts gefunden.",
        "fr": "Je n'ai pas trouvé cette information dans la base de connaissances.",
        "es": "No he encontrado esta información en la base de conocimientos.",
        "it": "Non ho trovato questa informazione nella base di conoscenza.",
        "nl": "Ik heb dit niet in de kennisbank gevonden.",
        "pt": "Não encontrei esta informação na base de conhecimento.",
    },
    # Told to a language model with the sources, so that its reply follows the question.
    "reply_language": {
        "en": "Reply in English.",
        "de": "Antworte auf Deutsch.",
        "fr": "Réponds en français.",
        "es": "Responde en español.",
        "it": "Rispondi in italiano.",
        "nl": "Antwoord in het Nederlands.",
        "pt": "Responda em português.",
    },
}
DEFAULT_LANGUAGE = "en"


class _Detector:
    """The ``py3langid`` model, loaded on first use (about a second) and shared by threads."""

    def __init__(self) -> None:
        self._identifier: Any = None
        self._lock = threading.Lock()

    def load(self) -> Any:
        with self._lock:
            if self._identifier is None:
                from py3langid.langid import MODEL_FILE, LanguageIdentifier

                identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
                identifier.set_languages(list(CANDIDATES))
                self._identifier = identifier
            return self._identifier

    def rank(self, text: str) -> tuple[str, float]:
        identifier = self.load()
        with self._lock:
            language, probability = identifier.classify(text)
        return str(language), float(probability)


_detector = _Detector()


def load_detector() -> None:
    """Load the language model now (a process that forks workers shares it with them)."""
    _detector.load()


def detect_language(text: str, *, min_confidence: float = MIN_CONFIDENCE) -> str | None:
    """The ISO 639-1 code of the language ``text`` is written in, or None if it cannot be told.

    Args:
        text: any text; only its first 4,000 characters are read.
        min_confidence: the probability the best language needs; lower it for short texts
            such as questions, where a wrong guess costs less than no guess.
    """
    sample = text[:4000]
    if len(_LETTER.findall(sample)) < MIN_LETTERS:
        return None
    language, probability = _detector.rank(sample)
    return language if probability >= min_confidence else None


def detect_languages(texts: Sequence[str]) -> list[str | None]:
    """The language of each of a document's passages.

    A passage too short or ambiguous to tell is taken to be in the document's main language
    (the one most of its decided characters are in); it stays None if no passage is decided.
    """
    found = [detect_language(text) for text in texts]
    weights: Counter[str] = Counter()
    for text, language in zip(texts, found):
        if language is not None:
            weights[language] += len(text)
    main = weights.most_common(1)[0][0] if weights else None
    return [language or main for language in found]


def question_language(question: str) -> str | None:
    """The language of a question (short texts are decided on weaker evidence than passages)."""
    return detect_language(question, min_confidence=0.5)


def text_search_config(language: str | None, default: str) -> str:
    """The PostgreSQL text-search configuration for text in ``language``.

    Undecided text (None) gets ``default``, the knowledge base's configured language; a
    language PostgreSQL cannot stem gets the language-neutral ``simple``.
    """
    if language is None:
        return default
    return TEXT_SEARCH_CONFIGS.get(language, NEUTRAL_CONFIG)


def fixed_text(key: str, language: str | None) -> str:
    """A fixed answer text (``"abstention"``, ``"reply_language"``) in ``language``.

    Falls back to English for a language without a translation (or None).

    Raises:
        KeyError: ``key`` is not one of :data:`FIXED_TEXTS`.
    """
    texts = FIXED_TEXTS[key]
    return texts.get(language or DEFAULT_LANGUAGE, texts[DEFAULT_LANGUAGE])


def fixed_texts(key: str) -> frozenset[str]:
    """Every translation of a fixed text, e.g. to recognise an abstention in any language."""
    return frozenset(FIXED_TEXTS[key].values())
