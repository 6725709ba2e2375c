"""Answers with citations: extractive by default (offline), or from a configured LLM.

Both answerers see the same numbered sources and return an :class:`Answer` whose citations
point at the chunks, and the exact passages, that support it. Both abstain when retrieval
found nothing close enough to the question.
"""

from __future__ import annotations

import itertools
import math
import re
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from ragkit.embeddings import EmbeddingModel
from ragkit.retrieve import RetrievedChunk
from ragkit.settings import Settings

ABSTENTION = "I couldn't find this in the knowledge base."
EXTRACTIVE_MODEL = "extractive"
# A sentence ends at . ! or ? before a space, at a blank line, or before a list item, heading or
# table row; a single line break inside a paragraph (as PDFs have) does not end it.
_BOUNDARY = re.compile(
    r"(?<=[.!?])[\"')\]*]*(?:[ \t]+|[ \t]*\n[ \t]*)(?=\S)"
    r"|\n[ \t]*\n\s*"
    r"|\n(?=[ \t]*(?:[-*•–]\s|\d+[.)]\s|#|\|))"
)
_LIST_ITEM = re.compile(r"\s*(?:[-*•–]|\d+[.)])\s|\s*\|")
_MARKUP = re.compile(r"\*\*|__|^\s*(?:[-*•–]|#+|\d+[.)])\s+")
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'\-]*")


@dataclass(frozen=True)
class Citation:
    """A source passage an answer relies on; ``n`` is the number used in the answer text."""

    n: int
    chunk_id: uuid.UUID
    document_id: uuid.UUID
    title: str
    source: str
    page: int | None
    section: str | None
    quote: str
    score: float

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["chunk_id"] = str(self.chunk_id)
        data["document_id"] = str(self.document_id)
        data["score"] = round(self.score, 4)
        return data


@dataclass(frozen=True)
class Answer:
    """The reply to a question: text with ``[n]`` markers, and the citations they refer to."""

    text: str
    citations: list[Citation] = field(default_factory=list)
    abstained: bool = False
    model: str = EXTRACTIVE_MODEL
    question: str = ""
    search_query: str = ""
    elapsed: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """The ``ragkit ask --json`` shape."""
        return {
            "answer": self.text,
            "abstained": self.abstained,
            "citations": [citation.to_json() for citation in self.citations],
        }


@dataclass(frozen=True)
class Turn:
    """One message of a conversation, for follow-up questions."""

    role: str  # "user" or "assistant"
    content: str


class Answerer(Protocol):
    model_name: str
    # True when search_query rewrites follow-ups itself (an LLM condensing them); else the
    # conversation module resolves them from the retrieval evidence.
    rewrites_follow_ups: bool

    def search_query(self, question: str, history: Sequence[Turn]) -> str: ...

    def answer(
        self,
        question: str,
        chunks: Sequence[RetrievedChunk],
        query_embedding: Sequence[float],
        model: EmbeddingModel,
    ) -> Answer: ...

    def stream(
        self,
        question: str,
        chunks: Sequence[RetrievedChunk],
        query_embedding: Sequence[float],
        model: EmbeddingModel,
    ) -> Iterator[str | Answer]: ...


@dataclass(frozen=True)
class Sentence:
    chunk_rank: int
    start: int
    end: int
    text: str


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Spans of the sentences (or list items) of ``text``, whitespace trimmed.

    A short line without final punctuation (a heading, as PDFs flatten them) stands alone, and a
    sentence that introduces a list (ends with a colon) keeps the list with it.
    """
    cuts = {0, len(text)}
    cuts.update(match.end() for match in _BOUNDARY.finditer(text))
    position = 0
    for line in text.split("\n"):
        end = position + len(line)
        stripped = line.strip()
        if 0 < len(stripped) < 60 and not stripped.endswith((".", ",", ";", ":", "!", "?")):
            cuts.update((position, end + 1))
        position = end + 1
    ordered = sorted(cut for cut in cuts if cut <= len(text))
    spans = [_trim(text, start, end) for start, end in itertools.pairwise(ordered)]
    spans = [(start, end) for start, end in spans if end > start]
    merged: list[tuple[int, int]] = []
    absorbing = False
    for start, end in spans:
        item = text[start:end]
        is_list_item = bool(_LIST_ITEM.match(item))
        follows_intro = is_list_item or text[merged[-1][1] - 1] == ":" if merged else False
        if absorbing and follows_intro and end - merged[-1][0] < 500:
            merged[-1] = (merged[-1][0], end)
            continue
        merged.append((start, end))
        absorbing = item.endswith(":") or (absorbing and is_list_item)
    return merged


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def scoring_text(sentence: str) -> str:
    """What a sentence is compared with the question by: a list's introduction stands for it.

    "To fix a sync conflict:" says what the steps under it are for; embedded with the steps, the
    introduction's meaning is diluted by their details.
    """
    head, colon, rest = sentence.partition(":\n")
    if colon and _LIST_ITEM.match(rest):
        return head + ":"
    return sentence


def display_text(passage: str) -> str:
    """A quoted passage as answer text: one line, without Markdown emphasis or list markers."""
    lines = [_MARKUP.sub("", line).strip() for line in passage.splitlines()]
    return " ".join(line for line in lines if line).replace("**", "")


def content_words(text: str) -> set[str]:
    return {word.lower() for word in _WORD.findall(text) if word.lower() not in STOPWORDS}


def cosine(left: Sequence[float], right: Sequence[float]) -> float:
    dot = sum(a * b for a, b in zip(left, right))
    norm = math.sqrt(sum(a * a for a in left)) * math.sqrt(sum(b * b for b in right))
    return dot / norm if norm else 0.0


class ExtractiveAnswerer:
    """Composes the answer from the retrieved sentences that best support the question.

    Every sentence of the retrieved chunks is embedded and compared with the question; the best
    few (from any chunk) form the answer, each followed by its source's number. If even the best
    sentence is not similar enough to the question, it abstains.
    """

    model_name = EXTRACTIVE_MODEL
    rewrites_follow_ups = False

    def __init__(self, settings: Settings, max_sentences: int = 3) -> None:
        self.threshold = settings.abstain_threshold
        self.max_sentences = max_sentences
        self.max_chars = 700

    def search_query(self, question: str, history: Sequence[Turn]) -> str:
        """An elliptical follow-up is searched with the previous exchange; others alone."""
        from ragkit.conversation import resolve

        return resolve(question, history).search_query

    def answer(
        self,
        question: str,
        chunks: Sequence[RetrievedChunk],
        query_embedding: Sequence[float],
        model: EmbeddingModel,
    ) -> Answer:
        """Compose an answer from the chunks' best sentences, or abstain.

        ``model`` must be the one that embedded ``query_embedding``.
        """
        sentences = self._candidates(chunks)
        if not sentences:
            return abstain(question, self.model_name)
        vectors = model.embed_texts([scoring_text(sentence.text) for sentence in sentences])
        question_words = content_words(question)
        top_score = max(chunk.score for chunk in chunks) or 1.0
        scored = []
        for sentence, vector in zip(sentences, vectors):
            similarity = cosine(query_embedding, vector)
            overlap = len(question_words & content_words(sentence.text))
            support = max(chunks[sentence.chunk_rank].score, 0.0) / top_score
            combined = similarity + 0.2 * support + 0.02 * min(overlap, 3)
            scored.append((combined, similarity, sentence))
        scored.sort(key=lambda item: -item[0])
        if max(similarity for _, similarity, _ in scored) < self.threshold:
            return abstain(question, self.model_name)
        chosen = self._choose(scored, floor=scored[0][0] - 0.15)
        return compose(question, chunks, chosen, self.model_name)

    def stream(
        self,
        question: str,
        chunks: Sequence[RetrievedChunk],
        query_embedding: Sequence[float],
        model: EmbeddingModel,
    ) -> Iterator[str | Answer]:
        answer = self.answer(question, chunks, query_embedding, model)
        yield from re.findall(r"\S+\s*", answer.text)
        yield answer

    def _candidates(self, chunks: Sequence[RetrievedChunk]) -> list[Sentence]:
        seen: set[str] = set()
        found = []
        for rank, chunk in enumerate(chunks):
            for start, end in split_sentences(chunk.content):
                text = chunk.content[start:end]
                key = " ".join(text.lower().split())
                if len(_WORD.findall(text)) < 4 or key in seen or _is_heading(text, chunk):
                    continue
                seen.add(key)
                found.append(Sentence(rank, start, end, text))
        return found

    def _choose(self, scored: list[tuple[float, float, Sentence]], floor: float) -> list[Sentence]:
        chosen: list[Sentence] = []
        length = 0
        for combined, similarity, sentence in scored:
            if len(chosen) == self.max_sentences or combined < floor:
                break
            if similarity < self.threshold:
                continue
            if chosen and length + len(sentence.text) > self.max_chars:
                continue
            chosen.append(sentence)
            length += len(sentence.text)
        return sorted(chosen, key=lambda sentence: (sentence.chunk_rank, sentence.start))


def _is_heading(text: str, chunk: RetrievedChunk) -> bool:
    """Headings name a topic without saying anything about it: never an answer."""
    stripped = text.strip().lstrip("#").strip()
    if text.lstrip().startswith("#") or stripped == (chunk.section_title or "").strip():
        return True
    untermed = not stripped.endswith((".", "!", "?", ":", "|"))
    factual = any(character.isdigit() for character in stripped)
    return untermed and len(stripped) < 60 and not factual and not _LIST_ITEM.match(text)


def abstain(question: str, model_name: str) -> Answer:
    return Answer(text=ABSTENTION, abstained=True, model=model_name, question=question)


def compose(
    question: str,
    chunks: Sequence[RetrievedChunk],
    sentences: Sequence[Sentence],
    model_name: str,
) -> Answer:
    """Join the chosen sentences, numbering their chunks in order of first use."""
    numbers: dict[int, int] = {}
    spans: dict[int, tuple[int, int]] = {}
    parts = []
    for sentence in sentences:
        number = numbers.setdefault(sentence.chunk_rank, len(numbers) + 1)
        start, end = spans.get(sentence.chunk_rank, (sentence.start, sentence.end))
        spans[sentence.chunk_rank] = (min(start, sentence.start), max(end, sentence.end))
        text = display_text(sentence.text).rstrip(" ,;")
        if not text.endswith((".", "!", "?", ":", "|")):
            text += "."
        parts.append(f"{text} [{number}]")
    citations = [
        make_citation(number, chunks[rank], *spans[rank]) for rank, number in numbers.items()
    ]
    return Answer(text=" ".join(parts), citations=citations, model=model_name, question=question)


def make_citation(number: int, chunk: RetrievedChunk, start: int, end: int) -> Citation:
    return Citation(
        n=number,
        chunk_id=chunk.chunk_id,
        document_id=chunk.document_id,
        title=chunk.title,
        source=chunk.source,
        page=chunk.page_number,
        section=chunk.section_title,
        quote=chunk.content[start:end],
        score=chunk.score,
    )


STOPWORDS = frozenset(
    {
        *("a", "an", "and", "are", "as", "at", "be", "by", "can", "could", "do", "does", "for"),
        *("from", "how", "i", "if", "in", "is", "it", "its", "me", "my", "of", "on", "or", "our"),
        *("should", "so", "that", "the", "their", "there", "this", "to", "was", "we", "what"),
        *("when", "where", "which", "who", "why", "will", "with", "you", "your", "yours"),
    }
)
