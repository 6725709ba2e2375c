"""Whether the retrieved passages answer a question, on a scale that means the same everywhere.

Retrieval always finds *something*, and on an on-topic knowledge base that something is close to
the question even when it does not answer it ("When was the Duchy of Normandy founded?" against
an article about the Normans lacking that paragraph). Two signals together tell the cases apart:

- **similarity**: the cosine between the question and the best answer sentence (the model's view);
- **coverage**: how much of what the question *names* the best passage contains, each word
  weighted by how rare it is in the language (``wordfreq``'s general-language
  frequencies), so
  "Normandy" and "founded" count, "what" and "the" do not. Words are compared stemmed.

Neither depends on the knowledge base's size or on other passages' scores: the same passage
gets the same answerability for the same question in any organization.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence

from ragkit.languages import DEFAULT_LANGUAGE, TEXT_SEARCH_CONFIGS, question_language

# Words at least this common (Zipf scale: 7 is "the", 6 is "what", 3 is "Normandy") name nothing.
COMMON_ZIPF = 6.0
# The model's similarity and the words' coverage, blended: coverage separates an on-topic
# passage that answers from one that does not much better than similarity alone does
# (measured on squad-test with each question's paragraph present and removed:
# benchmarks/abstention.py).
SIMILARITY_SHARE = 0.2
# A sentence this close to the question answers it however differently it is worded.
CONFIDENT_SIMILARITY = 0.5
# The shortest part of a compound word that counts as a word of its own.
MIN_PART = 4
# Below this total weight (about one rare word) a question names too little to check.
MIN_NAMED = 3.0
# Coverage is read off the best few passages: the answer may sit in the second or third.
COVERED_BY = 3
# wordfreq's short lists (words down to Zipf ~3) load in milliseconds; rarer words count fully.
WORDLIST = "small"
UNLISTED_ZIPF = 2.5
# Passages whose words are kept, read once, for the next questions that retrieve them.
PASSAGES_CACHED = 4096
# Languages written without spaces: their words need a segmenter, so all text counts alike.
UNSPACED = frozenset({"zh", "ja", "th"})
_WORD = re.compile(r"[^\W_][\w'’\-]*", re.UNICODE)
_CODE = re.compile(r"[^\W\d_]*\d[\w.\-]*", re.UNICODE)


Terms = Mapping[str, float]


def answerability(similarity: float, coverage: float, *, codes_found: bool = True) -> float:
    """One score from the two signals; below ``Settings.answerable_threshold`` means abstain.

    A close sentence answers on its own unless the question names a code or number the passages
    never state ("E-1099" is not answered by the sentence about E-1042, however alike they read).
    """
    if similarity >= CONFIDENT_SIMILARITY and codes_found:
        return 1.0
    return SIMILARITY_SHARE * similarity + (1 - SIMILARITY_SHARE) * coverage


def codes_found(question: str, passages: Sequence[str]) -> bool:
    """Whether every code or number the question names ("E-1099", "3.6") is in the passages
    ("3.6" is found in "3.6.0")."""
    stated = {code for passage in passages[:COVERED_BY] for code in _codes(passage)}
    return all(
        any(code == said or said.startswith(code + ".") for said in stated)
        for code in _codes(question)
    )


def _codes(text: str) -> set[str]:
    return {code.lower().rstrip(".-") for code in _CODE.findall(text)}


def passages_coverage(queries: Sequence[str], passages: Sequence[str]) -> float:
    """How well the best passages cover what any of ``queries`` names (a follow-up is asked
    both as itself and as resolved against the conversation)."""
    best = 0.0
    for query in queries:
        language = question_language(query)
        terms = question_terms(query, language)
        for passage in passages[:COVERED_BY]:
            best = max(best, coverage(terms, passage, language))
    return best


def question_terms(question: str, language: str | None) -> Terms:
    """The stemmed words of ``question`` that name something, each with its rarity weight."""
    language = language or DEFAULT_LANGUAGE
    stem, rarity = _stemmer(language), _rarity(language)
    terms: dict[str, float] = {}
    for word in _words(question):
        weight = rarity(word)
        if weight > 0:
            key = stem(word)
            terms[key] = max(terms.get(key, 0.0), weight)
    return terms


def coverage(terms: Terms, passage: str, language: str | None) -> float:
    """The share of the terms' weight that ``passage`` contains.

    A question that names too little ("Can I get my money back?") cannot be checked this way:
    its coverage is 1.0 and the model's similarity alone decides.
    """
    total = sum(terms.values())
    if total < MIN_NAMED:
        return 1.0
    stems, starts = _passage_words(passage, language or DEFAULT_LANGUAGE)
    covered = sum(weight for term, weight in terms.items() if _contains(term, stems, starts))
    return covered / total


# The same passages are retrieved for question after question.
@functools.lru_cache(maxsize=PASSAGES_CACHED)
def _passage_words(passage: str, language: str) -> tuple[frozenset[str], frozenset[str]]:
    """The passage's word stems, and the starts of its words (see :func:`_contains`)."""
    stem = _stemmer(language)
    words = set(_words(passage))
    stems = frozenset(stem(word) for word in words)
    starts = frozenset(word[:end] for word in words for end in range(MIN_PART, len(word) + 1))
    return stems, starts


def _contains(term: str, stems: frozenset[str], starts: frozenset[str]) -> bool:
    """Whether a passage with these word stems and word starts has the term: as a word, as the
    start of a longer one ("herunterlad" in "herunterladen"), or as a compound of two that it
    has ("Datenexport" in a passage saying "Daten exportieren")."""
    if term in stems or (len(term) > MIN_PART and term in starts):
        return True
    return any(
        term[:split] in starts and term[split:] in starts
        for split in range(MIN_PART, len(term) - MIN_PART + 1)
    )


def _words(text: str) -> list[str]:
    return [word.lower().strip("'’-") for word in _WORD.findall(text)]


@functools.cache
def _stemmer(language: str) -> Callable[[str], str]:
    """Snowball for the language when there is one, else words compared as they are."""
    import snowballstemmer

    name = TEXT_SEARCH_CONFIGS.get(language, "")
    if name not in snowballstemmer.algorithms():
        return _identity
    return functools.lru_cache(maxsize=65536)(snowballstemmer.stemmer(name).stemWord)


def _identity(word: str) -> str:
    return word


@functools.cache
def _rarity(language: str) -> Callable[[str], float]:
    """How much a word names: 0 for the commonest words, more the rarer it is."""
    import wordfreq

    if language in UNSPACED or language not in wordfreq.available_languages(WORDLIST):
        return _length_rarity

    @functools.lru_cache(maxsize=65536)
    def rarity(word: str) -> float:
        zipf = wordfreq.zipf_frequency(word, language, wordlist=WORDLIST) or UNLISTED_ZIPF
        return max(0.0, COMMON_ZIPF - zipf)

    return rarity


def _length_rarity(word: str) -> float:
    """Without frequencies for the language, longer words are taken to name something."""
    return 1.0 if len(word) > 3 else 0.0
