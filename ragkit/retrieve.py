"""Retrieval: dense (pgvector HNSW through ``PGVectorStore``), lexical (BM25) and their fusion.

Every search is confined to one organization, and optionally to some of its documents.
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from llama_index.core.vector_stores.types import (
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
)
from llama_index.vector_stores.postgres import PGVectorStore
from sqlalchemy.orm import Session

from ragkit.languages import (
    NEUTRAL_CONFIG,
    TEXT_SEARCH_CONFIGS,
    question_language,
    text_search_config,
)
from ragkit.schema import Chunk, Document

# BM25 parameters (Robertson's usual values).
BM25_K1 = 1.2
BM25_B = 0.75

QUERY_TERMS_SQL = """
SELECT coalesce(array_agg(DISTINCT lexeme), '{}')
FROM unnest(CAST(:configs AS text[])) AS analysed(config),
     unnest(to_tsvector(CAST(analysed.config AS regconfig), :query))
"""
# The configurations the organization's chunks were stemmed with (as rows.write_postings
# chooses them).
CONFIGS_SQL = """
SELECT DISTINCT CASE WHEN c.language IS NULL THEN :config
                     ELSE coalesce(available.cfgname::text, :neutral) END
FROM (SELECT DISTINCT language FROM chunks WHERE organization_id = :organization) AS c
LEFT JOIN unnest(CAST(:languages AS text[]), CAST(:configs AS text[]))
    AS stemmed(language, config) ON stemmed.language = c.language
LEFT JOIN pg_ts_config available
    ON available.cfgname = stemmed.config AND available.cfgnamespace = 'pg_catalog'::regnamespace
"""
CORPUS_SQL = """
SELECT count(*)::float8, coalesce(avg(term_count), 1)::float8
FROM chunks WHERE organization_id = :organization
"""
TERM_FREQUENCIES_SQL = """
SELECT term, count(*)
FROM chunk_terms
WHERE organization_id = :organization AND term = ANY(:terms)
GROUP BY term
"""
# Postings are read by (organization, term) from the covering postings index alone. Document
# frequencies come from the whole organization, before any document filter narrows the
# candidates.
BM25_WEIGHTS = """
WITH weights AS (
    SELECT term, ln(1 + (:n - df + 0.5) / (df + 0.5)) AS idf
    FROM unnest(CAST(:terms AS text[]), CAST(:frequencies AS float8[])) AS query(term, df)
)"""
BM25_POSTING_SCORE = "w.idf * p.tf * (:k1 + 1) / (p.tf + :k1 * (1 - :b + :b * p.doc_len / :avgdl))"
BM25_SCORED = f"""
SELECT p.chunk_id, sum({BM25_POSTING_SCORE}) AS score
FROM chunk_terms p JOIN weights w ON w.term = p.term
WHERE p.organization_id = :organization AND p.term = ANY(:nominating) {{document_filter}}
GROUP BY p.chunk_id
ORDER BY score DESC
LIMIT :depth"""
BM25_SQL = BM25_WEIGHTS + BM25_SCORED
# The frequent terms add their share only to the chunks the rarer terms nominated; their
# postings are looked up per (chunk, term) instead of being read in full.
BM25_COMPLETED_SQL = f"""{BM25_WEIGHTS},
nominated AS ({BM25_SCORED}
)
SELECT n.chunk_id, n.score + coalesce(sum({BM25_POSTING_SCORE}), 0) AS score
FROM nominated n
LEFT JOIN chunk_terms p ON p.chunk_id = n.chunk_id AND p.term = ANY(:frequent)
LEFT JOIN weights w ON w.term = p.term
GROUP BY n.chunk_id, n.score
ORDER BY score DESC
LIMIT :limit
"""
# How many postings a query reads in full. The rarest terms are read first; once this many
# postings are read, the remaining (most frequent, lowest-IDF) terms only complete the scores
# of the best BM25_POOL_FACTOR x limit chunks nominated so far. Below it, BM25 is exact.
BM25_POSTINGS_BUDGET = 20_000
BM25_POOL_FACTOR = 5
CORPUS_STATS_TTL = 30.0
TERMS_CACHED_PER_ORGANIZATION = 50_000


class CorpusStats:
    """Chunk count, mean length and term document frequencies per organization, cached briefly.

    BM25 needs them for every query; counting them is linear in the corpus (the frequent terms,
    which recur in most queries, cost the most), while the values drift slowly, so a few seconds
    of staleness changes no ranking that matters. Ingesting or deleting forgets them.
    """

    def __init__(self, ttl: float = CORPUS_STATS_TTL) -> None:
        self.ttl = ttl
        self._values: dict[tuple[str, str], tuple[float, float, float]] = {}
        self._terms: dict[tuple[str, str], dict[str, tuple[int, float]]] = {}
        self._configs: dict[tuple[str, str, str], tuple[frozenset[str], float]] = {}

    def get(self, session: Session, organization: str) -> tuple[float, float]:
        key = (str(session.get_bind().engine.url), organization)
        cached = self._values.get(key)
        now = time.monotonic()
        if cached is None or now - cached[2] > self.ttl:
            count, average = session.execute(
                sa.text(CORPUS_SQL), {"organization": organization}
            ).one()
            cached = (float(count), max(float(average), 1.0), now)
            self._values[key] = cached
        return cached[0], cached[1]

    def frequencies(
        self, session: Session, organization: str, terms: Sequence[str]
    ) -> dict[str, int]:
        """How many of the organization's chunks contain each term."""
        cached = self._terms.setdefault((str(session.get_bind().engine.url), organization), {})
        now = time.monotonic()
        missing = [t for t in terms if t not in cached or now - cached[t][1] > self.ttl]
        if missing:
            if len(cached) > TERMS_CACHED_PER_ORGANIZATION:
                cached.clear()
            counted = {
                term: int(df)
                for term, df in session.execute(
                    sa.text(TERM_FREQUENCIES_SQL), {"organization": organization, "terms": missing}
                )
            }
            cached.update({term: (counted.get(term, 0), now) for term in missing})
        return {term: cached[term][0] for term in terms}

    def configs(self, session: Session, organization: str, default: str) -> frozenset[str]:
        """The text-search configurations the organization's chunks are stemmed with."""
        key = (str(session.get_bind().engine.url), organization, default)
        cached = self._configs.get(key)
        now = time.monotonic()
        if cached is None or now - cached[1] > self.ttl:
            parameters = {
                "organization": organization,
                "config": default,
                "neutral": NEUTRAL_CONFIG,
                "languages": list(TEXT_SEARCH_CONFIGS),
                "configs": list(TEXT_SEARCH_CONFIGS.values()),
            }
            found = frozenset(session.scalars(sa.text(CONFIGS_SQL), parameters))
            cached = (found or frozenset([default]), now)
            self._configs[key] = cached
        return cached[0]

    def forget(self, organization: str) -> None:
        for key in [key for key in self._values if key[1] == organization]:
            del self._values[key]
        for key in [key for key in self._terms if key[1] == organization]:
            del self._terms[key]
        for config_key in [key for key in self._configs if key[1] == organization]:
            del self._configs[config_key]


corpus_stats = CorpusStats()


def query_configs(session: Session, query: str, organization: str, default: str) -> list[str]:
    """The text-search configurations a query is analysed with.

    Query terms only match postings stemmed the same way, so only the configurations the
    organization's chunks use can match. Among several, a question whose language is told
    is analysed in its own language (if the organization has chunks in it); otherwise with
    every configuration present. An organization in one language is searched exactly as
    before languages were detected.
    """
    present = corpus_stats.configs(session, organization, default)
    if len(present) > 1:
        language = question_language(query)
        own = text_search_config(language, default) if language else None
        if own in present:
            return [own]
    return sorted(present)


def split_terms(
    frequencies: dict[str, int], budget: int = BM25_POSTINGS_BUDGET
) -> tuple[list[str], list[str]]:
    """The terms whose postings are read in full (rarest first, within the budget; at least
    one), and the frequent rest."""
    ordered = sorted((df, term) for term, df in frequencies.items() if df > 0)
    nominating: list[str] = []
    read = 0
    for df, term in ordered:
        if nominating and read + df > budget:
            break
        nominating.append(term)
        read += df
    return nominating, [term for _, term in ordered[len(nominating) :]]


@dataclass(frozen=True)
class RetrievedChunk:
    """A chunk found for a query, with its document and how it scored."""

    chunk_id: uuid.UUID
    document_id: uuid.UUID
    title: str
    source: str
    page_number: int | None
    section_title: str | None
    content: str
    start_char: int
    end_char: int
    score: float
    dense_score: float | None = None
    text_score: float | None = None


Ranked = list[tuple[str, float]]


def dense_search(
    store: PGVectorStore,
    query_embedding: Sequence[float],
    organization: str,
    limit: int,
    document_ids: Sequence[uuid.UUID] | None = None,
    ef_search: int = 100,
) -> Ranked:
    """Nearest chunks by cosine similarity through LlamaIndex's ``PGVectorStore`` query API."""
    filters: list[MetadataFilter | MetadataFilters] = [
        MetadataFilter(key="organization_id", value=organization)
    ]
    if document_ids:
        filters.append(
            MetadataFilter(
                key="ref_doc_id",
                value=[str(document_id) for document_id in document_ids],
                operator=FilterOperator.IN,
            )
        )
    result = store.query(
        VectorStoreQuery(
            query_embedding=list(query_embedding),
            similarity_top_k=limit,
            filters=MetadataFilters(filters=filters),
        ),
        hnsw_ef_search=max(ef_search, limit),
    )
    return list(zip(result.ids or [], result.similarities or []))


def nearest_query(
    rows: Any,
    query_embedding: Sequence[float],
    organization: str,
    limit: int,
    document_ids: Sequence[uuid.UUID] | None = None,
) -> sa.Select[tuple[str, float]]:
    """The dense search statement: node ids and cosine similarities, nearest first."""
    distance = rows.embedding.cosine_distance(list(query_embedding))
    query = (
        sa.select(rows.node_id, 1 - distance)
        .where(rows.metadata_["organization_id"].astext == organization)
        .order_by(distance)
        .limit(limit)
    )
    if document_ids:
        ids = [str(document_id) for document_id in document_ids]
        query = query.where(rows.metadata_["ref_doc_id"].astext.in_(ids))
    return query


def nearest_chunks(
    session: Session,
    rows: Any,
    query_embedding: Sequence[float],
    organization: str,
    limit: int,
    document_ids: Sequence[uuid.UUID] | None = None,
) -> Ranked:
    """Nearest chunks by cosine similarity, straight from the generation's table.

    The same rows and HNSW index as ``dense_search``, without rebuilding a LlamaIndex node per
    row: on SciFact this halves the time of a 100-row dense search.
    """
    query = nearest_query(rows, query_embedding, organization, limit, document_ids)
    return [(node_id, float(similarity)) for node_id, similarity in session.execute(query)]


def bm25_statement(
    session: Session,
    query: str,
    organization: str,
    limit: int,
    document_ids: Sequence[uuid.UUID] | None = None,
    text_search_config: str = "english",
    k1: float = BM25_K1,
    b: float = BM25_B,
    budget: int = BM25_POSTINGS_BUDGET,
) -> tuple[str, dict[str, object]] | None:
    """The BM25 statement and its parameters for ``query``; None when nothing can match.

    ``text_search_config`` is the configuration of chunks whose language is undecided (see
    :func:`query_configs` for the others).
    """
    configs = query_configs(session, query, organization, text_search_config)
    terms = session.execute(
        sa.text(QUERY_TERMS_SQL), {"configs": configs, "query": query}
    ).scalar_one()
    frequencies = corpus_stats.frequencies(session, organization, list(terms))
    # A search within some documents stays exact: their chunks may hold only frequent terms.
    nominating, frequent = split_terms(frequencies, budget if not document_ids else sys.maxsize)
    if not nominating:
        return None
    count, average_length = corpus_stats.get(session, organization)
    parameters: dict[str, object] = {
        "organization": organization,
        "terms": list(frequencies),
        "frequencies": [float(df) for df in frequencies.values()],
        "nominating": nominating,
        "frequent": frequent,
        "n": count,
        "avgdl": average_length,
        "depth": BM25_POOL_FACTOR * limit if frequent else limit,
        "limit": limit,
        "k1": k1,
        "b": b,
    }
    document_filter = ""
    if document_ids:
        document_filter = "AND p.document_id = ANY(:document_ids)"
        parameters["document_ids"] = list(document_ids)
    template = BM25_COMPLETED_SQL if frequent else BM25_SQL
    return template.format(document_filter=document_filter), parameters


def text_search(
    session: Session,
    query: str,
    organization: str,
    limit: int,
    document_ids: Sequence[uuid.UUID] | None = None,
    text_search_config: str = "english",
    k1: float = BM25_K1,
    b: float = BM25_B,
    budget: int = BM25_POSTINGS_BUDGET,
) -> Ranked:
    """Chunks ranked by BM25 over stemmed terms; any query term may match.

    Exact while the query's terms have at most ``budget`` postings together; beyond that the
    most frequent terms only add to the scores of the chunks the rarer ones found.
    """
    statement = bm25_statement(
        session, query, organization, limit, document_ids, text_search_config, k1, b, budget
    )
    if statement is None:
        return []
    rows = session.execute(sa.text(statement[0]), statement[1])
    return [(str(chunk_id), float(score)) for chunk_id, score in rows]


def normalise(ranked: Ranked) -> dict[str, float]:
    """Min-max scale scores to [0, 1] so that two lists can be added."""
    if not ranked:
        return {}
    scores = [score for _, score in ranked]
    low, high = min(scores), max(scores)
    if high - low < 1e-12:
        return {chunk_id: 1.0 for chunk_id, _ in ranked}
    return {chunk_id: (score - low) / (high - low) for chunk_id, score in ranked}


def fuse(dense: Ranked, text: Ranked, dense_weight: float) -> list[tuple[str, float]]:
    """Weighted sum of min-max normalised scores (a chunk missing from a list scores 0 there)."""
    dense_scores, text_scores = normalise(dense), normalise(text)
    fused = {
        chunk_id: dense_weight * dense_scores.get(chunk_id, 0.0)
        + (1 - dense_weight) * text_scores.get(chunk_id, 0.0)
        for chunk_id in dense_scores.keys() | text_scores.keys()
    }
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))


def load_chunks(
    session: Session,
    ranked: Sequence[tuple[str, float]],
    dense: Ranked,
    text: Ranked,
) -> list[RetrievedChunk]:
    """The chunks behind ranked ids, in rank order, with their documents."""
    ids = [uuid.UUID(chunk_id) for chunk_id, _ in ranked]
    rows = session.execute(
        sa.select(Chunk, Document.title, Document.source)
        .join(Document, Document.id == Chunk.document_id)
        .where(Chunk.id.in_(ids))
    ).all()
    by_id = {str(chunk.id): (chunk, title, source) for chunk, title, source in rows}
    dense_scores, text_scores = dict(dense), dict(text)
    found: list[RetrievedChunk] = []
    for chunk_id, score in ranked:
        if chunk_id not in by_id:
            continue  # deleted between the search and this read
        chunk, title, source = by_id[chunk_id]
        found.append(
            RetrievedChunk(
                chunk_id=chunk.id,
                document_id=chunk.document_id,
                title=title,
                source=source,
                page_number=chunk.page_number,
                section_title=chunk.section_title,
                content=chunk.content,
                start_char=chunk.start_char,
                end_char=chunk.end_char,
                score=score,
                dense_score=dense_scores.get(chunk_id),
                text_score=text_scores.get(chunk_id),
            )
        )
    return found
