"""What answering a question produces: cited answers, and the events that stream them.

Both answerers (:mod:`ragkit.extractive`, offline, and :mod:`ragkit.llm`) see the same
numbered sources and return an :class:`Answer` whose citations point at the chunks, and the
exact passages, that support it. Both abstain when retrieval found nothing close enough to the
question. ``RagKit.stream`` produces :data:`AnswerEvent` values; :func:`final_answer` drains
them to the answer.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, TypeAlias

from ragkit.embeddings import EmbeddingModel
from ragkit.errors import AnswerError
from ragkit.languages import fixed_text, question_language
from ragkit.retrieve import RetrievedChunk

ABSTENTION = "I couldn't find this in the knowledge base."
EXTRACTIVE_MODEL = "extractive"


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

    @classmethod
    def from_chunk(
        cls,
        n: int,
        chunk: RetrievedChunk,
        span: tuple[int, int] | None = None,
        score: float | None = None,
    ) -> Citation:
        """A citation of ``chunk.content[start:end]`` for ``span`` (the whole chunk without).

        ``score`` says how strongly the passage supports the answer, as a cosine similarity to
        the question, so that it means the same in every answer; without one, the chunk's
        similarity to the query (its dense score) stands in, or its retrieval score in
        text-only search.
        """
        start, end = span or (0, len(chunk.content))
        if score is None:
            score = chunk.dense_score if chunk.dense_score is not None else chunk.score
        return cls(
            n=n,
            chunk_id=chunk.chunk_id,
            document_id=chunk.document_id,
            title=chunk.title,
            source=chunk.source,
            page=chunk.page_number,
            section=chunk.section_title,
            quote=chunk.content[start:end],
            score=score,
        )

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


@dataclass(frozen=True)
class Retrieved:
    """The chunks found for the question, first of all (before any answer text)."""

    chunks: tuple[RetrievedChunk, ...]


@dataclass(frozen=True)
class Delta:
    """A piece of the answer's text, as it is produced."""

    text: str


@dataclass(frozen=True)
class Done:
    """The complete answer, last."""

    answer: Answer


AnswerEvent: TypeAlias = Retrieved | Delta | Done


def final_answer(events: Iterable[AnswerEvent]) -> Answer:
    """The answer a stream of events ends with (every event is consumed)."""
    answer: Answer | None = None
    for event in events:
        if isinstance(event, Done):
            answer = event.answer
    if answer is None:
        raise AnswerError("the answer stream ended without an answer")
    return answer


def answer_events(answer: Answer) -> Iterator[Delta | Done]:
    """The events of an answer known at once: its text in one piece, then the answer."""
    yield Delta(answer.text)
    yield Done(answer)


def abstain(question: str, model_name: str) -> Answer:
    """The answer that says the knowledge base does not cover ``question``, in its language."""
    text = fixed_text("abstention", question_language(question))
    return Answer(text=text, abstained=True, model=model_name, question=question)


class Answerer(Protocol):
    """Answers a question from its retrieved chunks: ``ExtractiveAnswerer`` (offline) or
    ``LLMAnswerer``; ``stream`` yields the text as it is produced, then the answer."""

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
        search_query: str = "",
    ) -> Answer: ...

    def stream(
        self,
        question: str,
        chunks: Sequence[RetrievedChunk],
        query_embedding: Sequence[float],
        model: EmbeddingModel,
        search_query: str = "",
    ) -> Iterator[Delta | Done]: ...
