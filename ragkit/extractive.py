"""The offline answerer: an answer composed of the retrieved sentences that best answer.

Every sentence of the retrieved chunks is embedded and compared with the question; the best
few (from any chunk) form the answer, each followed by its source's number, and each citation
quotes the verbatim span its sentences come from.
"""

from __future__ import annotations

import functools
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from ragkit.answer import (
    EXTRACTIVE_MODEL,
    Answer,
    Citation,
    Delta,
    Done,
    Turn,
    abstain,
)
from ragkit.answerable import answerability, codes_found, passages_coverage
from ragkit.conversation import resolve
from ragkit.embeddings import EmbeddingModel
from ragkit.retrieve import RetrievedChunk
from ragkit.sentences import (
    LIST_ITEM,
    Vectors,
    bounds,
    content_words,
    cosine,
    cosines,
    display_text,
    introduces_list,
    is_table_header,
    numbers,
    scoring_text,
    split_sentences,
    word_count,
)
from ragkit.settings import Settings

# Near-duplicates (the same fact in two documents) are said once, citing both.
DUPLICATE_SIMILARITY = 0.9
DUPLICATE_OVERLAP = 0.8
# Besides its similarity, a sentence scores for its passage's retrieval rank (the best passage
# adds SUPPORT_WEIGHT) and for each word it shares with the question, up to MAX_SHARED_WORDS:
# ties between look-alike sentences go to the better passage and the literal match.
SUPPORT_WEIGHT = 0.2
WORD_WEIGHT = 0.02
MAX_SHARED_WORDS = 3
# An answer is a few sentences, not a page: about what a chat bubble shows without scrolling.
MAX_ANSWER_CHARS = 700
# A sentence joins the best one only if it is nearly as relevant.
RELEVANCE_MARGIN = 0.15
# "How do I…" is answered by the steps when a passage lists them.
STEPS_BONUS = 0.1
# A sentence stating the number asked about ("version 3.5") beats its look-alikes.
NUMBER_BONUS = 0.1
# A sentence about the very range asked ("earlier than 3.6" for "before 3.6?") is on point,
# however little else the model sees in common with the question.
BOUND_BONUS = 0.3
_HOW_TO = re.compile(
    r"\s*(?:how\s+(?:do|can|should|would)\s+(?:i|we|you)|how\s+to|what\s+are\s+the\s+steps)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class PassageSentence:
    """A sentence of a passage that may answer, read once per passage: its span, its text
    verbatim and as answer text, what it is embedded as, and what it states."""

    start: int
    end: int
    text: str
    display: str
    key: str  # the display text folded: the same sentence in two passages is said once
    scoring: str
    words: frozenset[str]
    numbers: frozenset[str]
    bounds: frozenset[tuple[str, str]]
    introduces_list: bool

    @classmethod
    def read(cls, passage: str, start: int, end: int) -> PassageSentence:
        text = passage[start:end]
        display = display_text(text, passage, start)
        return cls(
            start=start,
            end=end,
            text=text,
            display=display,
            key=" ".join(display.lower().split()),
            scoring=scoring_text(text, passage, start),
            words=frozenset(content_words(display)),
            numbers=frozenset(numbers(display)),
            bounds=frozenset(bounds(display)),
            introduces_list=introduces_list(text),
        )


# Passages whose sentences are kept, read, for the next questions that retrieve them.
PASSAGES_CACHED = 4096


@functools.lru_cache(maxsize=PASSAGES_CACHED)
def passage_sentences(passage: str, section_title: str | None) -> tuple[PassageSentence, ...]:
    """The sentences of a passage that may answer: not headings, table headers or fragments."""
    found = []
    for start, end in split_sentences(passage):
        sentence = PassageSentence.read(passage, start, end)
        if word_count(sentence.display) < 4 or _is_heading(sentence.text, section_title):
            continue
        if is_table_header(passage, start, end):
            continue
        found.append(sentence)
    return tuple(found)


@dataclass(frozen=True)
class Sentence:
    """A candidate sentence: a passage's sentence in the retrieved chunk of rank ``chunk_rank``."""

    chunk_rank: int
    read: PassageSentence

    @property
    def start(self) -> int:
        return self.read.start

    @property
    def end(self) -> int:
        return self.read.end

    @property
    def text(self) -> str:
        return self.read.text

    @property
    def display(self) -> str:
        return self.read.display


class SentenceVectors:
    """Sentence embeddings kept between questions: the same passages come back again and again,
    and embedding their sentences is most of an extractive answer's time.

    Keyed by model and text, so a cached vector is never stale: it is only ever a cache (each
    process has its own, bounded to ``size`` sentences, the least recently used dropped first).
    """

    def __init__(self, size: int = 50_000) -> None:
        self.size = size
        self._vectors: OrderedDict[tuple[str, str], Vectors] = OrderedDict()
        self._lock = threading.Lock()

    def embed(self, model: EmbeddingModel, texts: Sequence[str]) -> Vectors:
        """The texts' vectors, one row each (kept as arrays: a tenth of a list's memory)."""
        found: dict[str, Vectors] = {}
        with self._lock:
            for text in texts:
                vector = self._vectors.get((model.name, text))
                if vector is not None:
                    found[text] = vector
        missing = list(dict.fromkeys(text for text in texts if text not in found))
        if missing:
            embedded = np.asarray(model.embed_sentences(missing), dtype=np.float64)
            found.update(zip(missing, embedded))
        with self._lock:
            for text, vector in found.items():
                self._vectors[(model.name, text)] = vector
                self._vectors.move_to_end((model.name, text))
            while len(self._vectors) > self.size:
                self._vectors.popitem(last=False)
        if not texts:
            return np.zeros((0, model.dimensions))
        return np.stack([found[text] for text in texts])


@dataclass
class Scored:
    """A sentence with how well it answers, and the sentences that say the same thing."""

    combined: float
    similarity: float  # to the question, plus NUMBER_BONUS when it states the number asked
    sentence: Sentence
    vector: Vectors
    duplicates: list[Scored] = field(default_factory=list)


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
        self.answerable_threshold = settings.answerable_threshold
        self.max_sentences = max_sentences
        self.max_chars = MAX_ANSWER_CHARS
        self.vectors = SentenceVectors()

    def search_query(self, question: str, history: Sequence[Turn]) -> str:
        """An elliptical follow-up is searched with the previous exchange; others alone."""
        return resolve(question, history).search_query

    def answer(
        self,
        question: str,
        chunks: Sequence[RetrievedChunk],
        query_embedding: Sequence[float],
        model: EmbeddingModel,
        search_query: str = "",
    ) -> Answer:
        """Compose an answer from the chunks' best sentences, or abstain.

        ``model`` must be the one that embedded ``query_embedding``; ``search_query`` is what a
        follow-up was searched as.
        """
        scored = self._score(question, chunks, query_embedding, model)
        if not scored or not self._answers(question, search_query, chunks, scored):
            return abstain(question, self.model_name)
        return compose(question, chunks, self._choose(scored), self.model_name)

    def _answers(
        self,
        question: str,
        search_query: str,
        chunks: Sequence[RetrievedChunk],
        scored: Sequence[Scored],
    ) -> bool:
        """Whether the passages answer the question (see :mod:`ragkit.answerable`)."""
        similarity = max(item.similarity for item in scored)
        if similarity < self.threshold:
            return False
        queries = [question, search_query] if search_query not in ("", question) else [question]
        passages = [chunk.content for chunk in chunks]
        covered = passages_coverage(queries, passages)
        found = codes_found(question, passages)
        return answerability(similarity, covered, codes_found=found) >= self.answerable_threshold

    def stream(
        self,
        question: str,
        chunks: Sequence[RetrievedChunk],
        query_embedding: Sequence[float],
        model: EmbeddingModel,
        search_query: str = "",
    ) -> Iterator[Delta | Done]:
        answer = self.answer(question, chunks, query_embedding, model, search_query=search_query)
        for piece in re.findall(r"\S+\s*", answer.text):
            yield Delta(piece)
        yield Done(answer)

    def _score(
        self,
        question: str,
        chunks: Sequence[RetrievedChunk],
        query_embedding: Sequence[float],
        model: EmbeddingModel,
    ) -> list[Scored]:
        """Every candidate sentence, best first: similarity to the question, its passage's rank
        and the question's words it contains."""
        sentences = self._candidates(chunks)
        if not sentences:
            return []
        vectors = self.vectors.embed(model, [sentence.read.scoring for sentence in sentences])
        similarities = cosines(vectors, query_embedding)
        question_words = content_words(question)
        wants_steps = bool(_HOW_TO.match(question))
        asked_numbers = numbers(question)
        asked_bounds = bounds(question)
        top_score = max(chunk.score for chunk in chunks) or 1.0
        scored = []
        for sentence, vector, cosine_similarity in zip(sentences, vectors, similarities):
            similarity = float(cosine_similarity)
            similarity += _number_bonus(asked_numbers, asked_bounds, sentence.read)
            overlap = len(question_words & sentence.read.words)
            support = max(chunks[sentence.chunk_rank].score, 0.0) / top_score
            combined = (
                similarity + SUPPORT_WEIGHT * support + WORD_WEIGHT * min(overlap, MAX_SHARED_WORDS)
            )
            if wants_steps and sentence.read.introduces_list:
                combined += STEPS_BONUS
            scored.append(Scored(combined, similarity, sentence, vector))
        scored.sort(key=lambda item: -item.combined)
        return scored

    def _candidates(self, chunks: Sequence[RetrievedChunk]) -> list[Sentence]:
        """The chunks' sentences that may answer, each said once (in the best chunk saying it)."""
        seen: set[str] = set()
        found = []
        for rank, chunk in enumerate(chunks):
            for sentence in passage_sentences(chunk.content, chunk.section_title):
                if sentence.key not in seen:
                    seen.add(sentence.key)
                    found.append(Sentence(rank, sentence))
        return found

    def _choose(self, scored: list[Scored]) -> list[Scored]:
        """The best sentences, each said once: a near-duplicate joins the one it repeats."""
        best = scored[0]
        floor = best.combined - RELEVANCE_MARGIN
        chosen: list[Scored] = []
        length = 0
        for item in scored:
            if item.combined < floor:
                break
            repeated = next((kept for kept in chosen if _same_fact(kept, item)), None)
            if repeated is not None:
                repeated.duplicates.append(item)
                continue
            if len(chosen) == self.max_sentences or item.similarity < self.threshold:
                continue
            if chosen and length + len(item.sentence.display) > self.max_chars:
                continue
            chosen.append(item)
            length += len(item.sentence.display)
        return sorted(chosen, key=lambda item: (item.sentence.chunk_rank, item.sentence.start))


def _number_bonus(
    asked: set[str], asked_bounds: set[tuple[str, str]], sentence: PassageSentence
) -> float:
    """What stating the numbers asked about adds: "E-1017" means nothing to the model, all to
    users. A question about a range ("before 3.6") is answered by the sentence with the same
    range, not by one that merely names 3.6 ("The current version is 3.6")."""
    if asked_bounds:
        if asked_bounds & sentence.bounds:
            return BOUND_BONUS
        # Naming the bound alone ("The current version is 3.6") is a look-alike, not an answer.
        bounded = {number for _, number in asked_bounds}
        return -2 * NUMBER_BONUS if _states(bounded, sentence.numbers) else 0.0
    return NUMBER_BONUS if asked and _states(asked, sentence.numbers) else 0.0


def _states(asked: set[str], stated: frozenset[str]) -> bool:
    """Whether a sentence states one of the numbers asked about ("3.5" matches "3.5.0")."""
    return any(
        number == wanted or number.startswith(wanted + ".") for number in stated for wanted in asked
    )


def _same_fact(kept: Scored, other: Scored) -> bool:
    """The same statement in other words; "3.5.0 - released 4 March" is not "3.6.0 - ..."."""
    left_numbers, right_numbers = kept.sentence.read.numbers, other.sentence.read.numbers
    if not (left_numbers <= right_numbers or right_numbers <= left_numbers):
        return False
    if cosine(kept.vector, other.vector) >= DUPLICATE_SIMILARITY:
        return True
    left, right = kept.sentence.read.words, other.sentence.read.words
    return (
        bool(left and right) and len(left & right) / min(len(left), len(right)) >= DUPLICATE_OVERLAP
    )


def _is_heading(text: str, section_title: str | None) -> bool:
    """Headings name a topic without saying anything about it: never an answer."""
    stripped = text.strip().lstrip("#").strip()
    if text.lstrip().startswith("#") or stripped == (section_title or "").strip():
        return True
    untermed = not stripped.endswith((".", "!", "?", ":", "|"))
    factual = any(character.isdigit() for character in stripped)
    return untermed and len(stripped) < 60 and not factual and not LIST_ITEM.match(text)


def compose(
    question: str,
    chunks: Sequence[RetrievedChunk],
    chosen: Sequence[Scored],
    model_name: str,
) -> Answer:
    """Join the chosen sentences, numbering their chunks in order of first use.

    A sentence that other passages repeat cites them too (``[1][2]``); each citation quotes
    the verbatim span of its chunk that the answer uses.
    """
    numbers: dict[int, int] = {}
    spans: dict[int, tuple[int, int]] = {}
    support: dict[int, float] = {}
    parts = []
    for item in chosen:
        marks: set[int] = set()
        for said in [item, *item.duplicates]:
            sentence = said.sentence
            number = numbers.setdefault(sentence.chunk_rank, len(numbers) + 1)
            start, end = spans.get(sentence.chunk_rank, (sentence.start, sentence.end))
            spans[sentence.chunk_rank] = (min(start, sentence.start), max(end, sentence.end))
            support[sentence.chunk_rank] = max(
                support.get(sentence.chunk_rank, -1.0), said.similarity
            )
            marks.add(number)
        text = item.sentence.display.rstrip(" ,;")
        if not text.endswith((".", "!", "?", ":")):
            text += "."
        parts.append(f"{text} {''.join(f'[{number}]' for number in sorted(marks))}")
    citations = [
        Citation.from_chunk(number, chunks[rank], spans[rank], score=min(support[rank], 1.0))
        for rank, number in numbers.items()
    ]
    return Answer(text=" ".join(parts), citations=citations, model=model_name, question=question)
