"""Retrieval and answer quality per language, on a set of translated documents and questions.

A question set is a folder of documents (the same content in several languages, e.g.
``help-center.de.md``) and a ``questions.jsonl`` whose lines name each question's topic (shared
by its translations), language, the document and section that answer it, and a phrase the
answer must contain::

    {"topic": "password-link", "language": "de", "question": "...",
     "document": "help-center.de.md", "section": "Passwort zurücksetzen", "contains": "30 Minuten"}

Each language is measured in the layouts ``separate`` (an organization holding only that
language's document) and ``mixed`` (one organization holding every language's document, where a
question must find the section in its own language); ``cross`` asks every language's questions
of an organization holding only the reference (English) document. English, on the same content,
is the reference the other languages are read against.
"""

from __future__ import annotations

import json
import statistics
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ragkit.errors import ConfigurationError
from ragkit.retrieve import RetrievedChunk
from ragkit.settings import RETRIEVAL_MODES, RetrievalMode

LAYOUTS = ("separate", "mixed")
CROSS = "cross"
REFERENCE = "en"
DEPTH = 10


@dataclass(frozen=True)
class LanguageQuestion:
    """A question, and where (and with which phrase) its answer is."""

    topic: str
    language: str
    question: str
    document: str
    section: str
    contains: str


def load_questions(folder: Path) -> list[LanguageQuestion]:
    """The questions of a set; every document they name must be in the folder."""
    path = folder / "questions.jsonl"
    if not path.is_file():
        raise ConfigurationError(f"{folder} has no questions.jsonl")
    questions = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                questions.append(LanguageQuestion(**json.loads(line)))
            except (TypeError, ValueError) as error:
                raise ConfigurationError(f"{path}:{number}: {error}") from error
    missing = sorted({q.document for q in questions if not (folder / q.document).is_file()})
    if missing:
        raise ConfigurationError(f"{folder} lacks the documents {', '.join(missing)}")
    return questions


def rank_of(chunks: Sequence[RetrievedChunk], question: LanguageQuestion) -> int | None:
    """1-based rank of the first chunk from the question's document and section."""
    for rank, chunk in enumerate(chunks, 1):
        if Path(chunk.source).name == question.document and chunk.section_title == question.section:
            return rank
    return None


def retrieval_figures(ranks: Sequence[int | None]) -> dict[str, float]:
    """hit@1, hit@3 and MRR@10 of the ranks of the expected sections (None: not found)."""
    return {
        "hit@1": _mean([rank is not None and rank <= 1 for rank in ranks]),
        "hit@3": _mean([rank is not None and rank <= 3 for rank in ranks]),
        "mrr@10": _mean(
            [1 / rank if rank is not None and rank <= DEPTH else 0.0 for rank in ranks]
        ),
    }


def _mean(values: Sequence[float | bool]) -> float:
    return round(statistics.fmean(float(value) for value in values), 4) if values else 0.0


class LanguageEvaluation:
    """Ingests a question set's documents into throw-away organizations and measures them.

    Args:
        kit: the :class:`~ragkit.RagKit` to measure.
        folder: the question set.
        prefix: organization ids start with it (each run adds a random suffix).
    """

    def __init__(self, kit: Any, folder: Path, prefix: str = "languages") -> None:
        self.kit = kit
        self.folder = folder
        self.questions = load_questions(folder)
        self.languages = sorted({q.language for q in self.questions})
        run = uuid.uuid4().hex[:8]
        self.organizations = {
            "mixed": {language: f"{prefix}-{run}-mixed" for language in self.languages},
            "separate": {language: f"{prefix}-{run}-{language}" for language in self.languages},
            CROSS: {language: f"{prefix}-{run}-cross" for language in self.languages},
        }
        self.reference = {q.topic: q for q in self.questions if q.language == REFERENCE}

    def ingest(self, layouts: Sequence[str] = LAYOUTS) -> None:
        """Store each layout's documents: a language's own in ``separate``, all in ``mixed``,
        the reference language's in ``cross``."""
        documents = sorted({q.document for q in self.questions})
        for layout in layouts:
            for language, organization in self.organizations[layout].items():
                if layout == CROSS and language != REFERENCE:
                    continue  # one organization, stored with the reference language's turn
                wanted = REFERENCE if layout == CROSS else language
                own = [d for d in documents if self._language_of(d) == wanted]
                for document in documents if layout == "mixed" else own:
                    report = self.kit.ingest_path(self.folder / document, organization=organization)
                    if report.failed:
                        raise ConfigurationError(f"{document}: {report.failed[0].error}")

    def _language_of(self, document: str) -> str:
        return next(q.language for q in self.questions if q.document == document)

    def retrieval(self, layout: str, mode: RetrievalMode) -> dict[str, dict[str, float]]:
        """Figures per language of one layout and retrieval mode."""
        if mode not in RETRIEVAL_MODES:
            raise ConfigurationError(f"mode must be one of {', '.join(RETRIEVAL_MODES)}")

        def judge(question: LanguageQuestion, organization: str) -> dict[str, float]:
            found = self.kit.retrieve(question.question, organization, top_k=DEPTH, mode=mode)
            return retrieval_figures([rank_of(found, self.expected(layout, question))])

        return self._per_language(layout, judge)

    def expected(self, layout: str, question: LanguageQuestion) -> LanguageQuestion:
        """Whose document and section answer ``question`` in ``layout``."""
        return self.reference[question.topic] if layout == CROSS else question

    def answers(self, layout: str) -> dict[str, dict[str, float]]:
        """Per language: how often the answer was given, cited the right section, had the phrase."""

        def judge(question: LanguageQuestion, organization: str) -> dict[str, float]:
            answer = self.kit.ask(question.question, organization)
            cited = any(
                Path(c.source).name == question.document and c.section == question.section
                for c in answer.citations
            )
            return {
                "answered": float(not answer.abstained),
                "cited": float(cited),
                "contains": float(question.contains.lower() in answer.text.lower()),
            }

        return self._per_language(layout, judge)

    def _per_language(
        self, layout: str, judge: Callable[[LanguageQuestion, str], dict[str, float]]
    ) -> dict[str, dict[str, float]]:
        results: dict[str, dict[str, float]] = {}
        for language in self.languages:
            organization = self.organizations[layout][language]
            scores = [judge(q, organization) for q in self.questions if q.language == language]
            results[language] = {key: _mean([score[key] for score in scores]) for key in scores[0]}
            results[language]["questions"] = len(scores)
        return results

    def run(
        self, layouts: Sequence[str] = LAYOUTS, modes: Sequence[RetrievalMode] = RETRIEVAL_MODES
    ) -> dict[str, Any]:
        """Every layout's retrieval figures per mode and its answer figures, per language."""
        self.ingest(layouts)
        return {
            layout: {
                "retrieval": {mode: self.retrieval(layout, mode) for mode in modes},
                "answers": self.answers(layout),
            }
            for layout in layouts
        }
