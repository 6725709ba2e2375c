"""Questions inside a conversation: tell a follow-up from a new question, and resolve it.

A new, self-contained question is searched exactly as if it were asked alone: the conversation
never changes its retrieval. A follow-up ("How do I fix it?", "And on macOS?", "What about
monthly plans?") leans on the previous turn, so it is searched again together with that turn.
Which of the two searches is kept is decided by the question's own words and by the evidence of
the two result lists:

- *Elliptical* follow-ups (they open with "and", "what about", "how about"..., or say almost
  nothing of their own) take the context-expanded search.
- Questions that merely contain a reference word ("it", "they", "that"...) are ambiguous:
  "Can I protect it with a password?" is a follow-up, "What did Microsoft announce that it would
  rename OneDrive to?" is not. The context may then only *re-order* what the question alone
  found: the expanded search is kept for the chunks that are also among the question's own best
  candidates, so an unrelated previous turn can never pull in passages the question does not
  match.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ragkit.answer import Turn
    from ragkit.fusion import Ranked
    from ragkit.retrieve import RetrievedChunk, Retriever, SearchOptions

# How many of the question's own candidates a reference-word follow-up may re-order.
CANDIDATE_POOL = 20
# How much the previous exchange's search can lift a candidate (its scaled score is added).
CONTEXT_WEIGHT = 0.3
# The previous answer is a long text: only its start takes part in the expanded search.
CONTEXT_CHARS = 300

_WORDS = re.compile(r"[^\W_][\w'’\-]*", re.UNICODE)
_CITATION_MARK = re.compile(r"\s*\[\d+\]")
_OPENERS = re.compile(
    r"^\s*(?:and|or|but|also|then|so|plus|what about|how about|what if|same for|"
    r"und|und was ist mit|was ist mit|et|et pour|et si|y|y para|y si|qu'en est-il|"
    r"¿?y|¿?qué pasa con)\b",
    re.IGNORECASE,
)
REFERENCE_WORDS = frozenset(
    {
        *("it", "its", "it's", "itself", "this", "that", "these", "those", "they", "them"),
        *("their", "theirs", "he", "she", "him", "her", "his", "hers", "one", "ones"),
        *("same", "such", "else", "instead", "former", "latter", "above", "previous"),
        *("dies", "diese", "dieser", "dort", "dabei", "dafür", "davon", "damit", "darauf"),
        *("ça", "cela", "ceci", "celui", "celle", "là"),
        *("eso", "esto", "ello", "allí", "ahí"),
    }
)
# Words that carry no topic: a question made only of these (and reference words) is elliptical.
FUNCTION_WORDS = frozenset(
    {
        *("a", "an", "the", "and", "or", "but", "so", "then", "also", "to", "of", "in", "on"),
        *("at", "by", "for", "from", "with", "about", "as", "into", "after", "before", "over"),
        *("is", "are", "was", "were", "be", "been", "do", "does", "did", "can", "could", "will"),
        *("would", "should", "may", "might", "must", "have", "has", "had", "i", "me", "my"),
        *("we", "our", "you", "your", "what", "which", "who", "whom", "whose", "when"),
        *("where", "why", "how", "long", "much", "many", "if", "not", "no", "yes", "any"),
        *("some", "all", "too", "again", "more", "still", "get", "happen", "happens", "mean"),
        *("means", "work", "works", "need", "take", "takes", "last", "lasts", "now", "way"),
        *("about", "there", "here", "please", "tell", "thanks", "ok", "okay", "just", "else"),
    }
)


class FollowUp(enum.Enum):
    """How much a question depends on the turns before it."""

    NONE = "none"  # self-contained: searched alone
    REFERENCE = "reference"  # contains a reference word: context may re-order its candidates
    ELLIPTICAL = "elliptical"  # cannot stand alone: searched with its context


@dataclass(frozen=True)
class Resolution:
    """What a question in a conversation was searched as, and why."""

    follow_up: FollowUp
    search_query: str


@dataclass(frozen=True)
class Found:
    """What a question was searched as, the chunks found, and the vector to compose its answer
    with."""

    query: str
    chunks: list[RetrievedChunk]
    embedding: list[float]


def words(text: str) -> list[str]:
    return [word.lower().strip("'’-") for word in _WORDS.findall(text)]


def topical_words(question: str) -> list[str]:
    """The words of ``question`` that name something (not function or reference words)."""
    return [word for word in words(question) if word not in FUNCTION_WORDS | REFERENCE_WORDS]


def classify(question: str) -> FollowUp:
    """Decide from its words alone whether ``question`` leans on earlier turns.

    An opener ("and", "what about"...) marks a follow-up; with a topic of its own ("What about
    on versions before 3.6?") the question still names what it asks, so it is a reference.
    """
    topical = topical_words(question)
    if _OPENERS.match(question):
        return FollowUp.ELLIPTICAL if len(topical) <= 1 else FollowUp.REFERENCE
    referring = any(word in REFERENCE_WORDS for word in words(question))
    if not topical or (referring and len(topical) <= 1):
        return FollowUp.ELLIPTICAL
    if referring:
        return FollowUp.REFERENCE
    return FollowUp.NONE


def context_of(history: Sequence[Turn], *, with_answer: bool = True) -> str:
    """The previous exchange, as search words: the last question and the start of its answer.

    The question before it joins when the last one was itself a follow-up, so a chain ("What
    does E-1042 mean?" → "How do I fix it?" → "What about before 3.6?") keeps its topic.
    """
    questions = [turn.content for turn in history if turn.role == "user"]
    answers = [turn.content for turn in history if turn.role == "assistant"]
    if not questions:
        return ""
    parts = [questions[-1]]
    if len(questions) > 1 and classify(questions[-1]) is not FollowUp.NONE:
        parts.insert(0, questions[-2])
    if with_answer and answers:
        parts.append(_CITATION_MARK.sub("", answers[-1])[:CONTEXT_CHARS])
    return " ".join(parts)


def resolve(question: str, history: Sequence[Turn]) -> Resolution:
    """The search query for ``question``: itself, or with the previous exchange."""
    follow_up = classify(question) if history else FollowUp.NONE
    context = context_of(history, with_answer=False) if follow_up is not FollowUp.NONE else ""
    if not context:
        return Resolution(FollowUp.NONE, question)
    return Resolution(follow_up, f"{context} {question}")


def with_context_prior(
    own: Sequence[RetrievedChunk], context: Ranked, weight: float
) -> list[RetrievedChunk]:
    """The question's own candidates, re-ranked with the previous exchange as a soft prior.

    Each candidate's score (scaled so the best is 1) gains ``weight`` times its score in the
    context's search (``context``: chunk ids and scores; 0 when the context did not find it).
    Only the question's own candidates take part, so an unrelated previous turn leaves the
    order as it was.
    """
    own_scores = _scaled([(str(chunk.chunk_id), chunk.score) for chunk in own])
    context_scores = _scaled(context)
    rescored = [
        (
            own_scores[str(chunk.chunk_id)] + weight * context_scores.get(str(chunk.chunk_id), 0.0),
            chunk,
        )
        for chunk in own
    ]
    rescored.sort(key=lambda item: -item[0])
    return [chunk for _, chunk in rescored]


def _scaled(ranked: Ranked) -> dict[str, float]:
    best = max((score for _, score in ranked), default=0.0)
    if best <= 0:
        return {chunk_id: 0.0 for chunk_id, _ in ranked}
    return {chunk_id: max(score, 0.0) / best for chunk_id, score in ranked}


def blend(question: Sequence[float], expanded: Sequence[float]) -> list[float]:
    """One vector close to both the question and its expanded form (their normalised sum).

    A follow-up's answer is composed with it: the sentences that answer the question itself
    win, and the context keeps them on the conversation's topic.
    """
    total = [a / _norm(question) + b / _norm(expanded) for a, b in zip(question, expanded)]
    norm = _norm(total)
    return [value / norm for value in total]


def _norm(vector: Sequence[float]) -> float:
    return math.sqrt(sum(value * value for value in vector)) or 1.0


def search_in_conversation(
    retriever: Retriever, question: str, history: Sequence[Turn], options: SearchOptions
) -> Found:
    """Retrieve for ``question``: alone when it is self-contained, else as the module says."""
    embedding = retriever.model.embed_query(question)
    if not history:
        return Found(question, retriever.search(question, options, embedding), embedding)
    resolution = resolve(question, history)
    if resolution.follow_up is FollowUp.ELLIPTICAL:
        query = resolution.search_query
        query_embedding = retriever.model.embed_query(query)
        expanded = retriever.search(query, options, query_embedding)
        return Found(query, expanded, blend(embedding, query_embedding))
    pool = options.with_top_k(max(options.top_k, CANDIDATE_POOL))
    own = retriever.search(question, pool, embedding)
    if resolution.follow_up is FollowUp.NONE:
        context = retriever.rank(context_of(history), pool)
        chunks = with_context_prior(own, context, CONTEXT_WEIGHT)[: options.top_k]
        return Found(question, chunks, embedding)
    # A reference word alone does not make a follow-up ("What did Microsoft announce that it
    # would rename OneDrive to?"): the question keeps its own candidates and the
    # context-expanded search only re-orders them.
    query = resolution.search_query
    query_embedding = retriever.model.embed_query(query)
    expanded_ranking = retriever.rank(query, pool, query_embedding)
    chunks = with_context_prior(own, expanded_ranking, CONTEXT_WEIGHT)[: options.top_k]
    return Found(query, chunks, blend(embedding, query_embedding))
