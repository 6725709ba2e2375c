"""Lexical search: BM25 over the stemmed postings ragkit keeps in ``chunk_terms``.

Any query term may match. The statement reads postings by (organization, term) from the
covering postings index alone; document frequencies come from the whole organization, before
any document filter narrows the candidates.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ragkit.corpus import CorpusStats
from ragkit.fusion import Ranked
from ragkit.languages import question_language, text_search_config

# BM25 parameters (Robertson's usual values).
BM25_K1 = 1.2
BM25_B = 0.75
# How many postings a query reads in full. The rarest terms are read first; once this many
# postings are read, the remaining (most frequent, lowest-IDF) terms only complete the scores
# of the best BM25_POOL_FACTOR x limit chunks nominated so far. Below it, BM25 is exact.
BM25_POSTINGS_BUDGET = 20_000
BM25_POOL_FACTOR = 5

QUERY_TERMS_SQL = """
SELECT coalesce(array_agg(DISTINCT lexeme), '{}')
FROM unnest(CAST(:configs AS text[])) AS analysed(config),
     unnest(to_tsvector(CAST(analysed.config AS regconfig), :query))
"""
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


def query_configs(
    session: Session, corpus: CorpusStats, query: str, organization: str, default: str
) -> list[str]:
    """The text-search configurations a query is analysed with.

    Query terms only match postings stemmed the same way, so only the configurations the
    organization's chunks use can match. Among several, a question whose language is told
    is analysed in its own language (if the organization has chunks in it); otherwise with
    every configuration present. An organization in one language is searched exactly as
    before languages were detected.
    """
    present = corpus.configs(session, organization, default)
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
class BM25:
    """BM25 over one organization's chunks.

    ``text_search_config`` is the configuration of chunks whose language is undecided (see
    :func:`query_configs` for the others). Exact while the query's terms have at most
    ``budget`` postings together; beyond that the most frequent terms only add to the scores
    of the chunks the rarer ones found.
    """

    corpus: CorpusStats
    organization: str
    text_search_config: str = "english"
    k1: float = BM25_K1
    b: float = BM25_B
    budget: int = BM25_POSTINGS_BUDGET

    def search(
        self,
        session: Session,
        query: str,
        limit: int,
        document_ids: Sequence[uuid.UUID] = (),
    ) -> Ranked:
        """Chunk ids and BM25 scores, best first; any query term may match."""
        statement = self.statement(session, query, limit, document_ids)
        if statement is None:
            return []
        rows = session.execute(sa.text(statement[0]), statement[1])
        return [(str(chunk_id), float(score)) for chunk_id, score in rows]

    def statement(
        self,
        session: Session,
        query: str,
        limit: int,
        document_ids: Sequence[uuid.UUID] = (),
    ) -> tuple[str, dict[str, object]] | None:
        """The BM25 statement and its parameters for ``query``; None when nothing can match."""
        frequencies = self.corpus.frequencies(
            session, self.organization, self._terms(session, query)
        )
        # A search within some documents stays exact: their chunks may hold only frequent terms.
        budget = self.budget if not document_ids else sys.maxsize
        nominating, frequent = split_terms(frequencies, budget)
        if not nominating:
            return None
        parameters = self._parameters(session, frequencies, nominating, frequent, limit)
        document_filter = ""
        if document_ids:
            document_filter = "AND p.document_id = ANY(:document_ids)"
            parameters["document_ids"] = list(document_ids)
        template = BM25_COMPLETED_SQL if frequent else BM25_SQL
        return template.format(document_filter=document_filter), parameters

    def _terms(self, session: Session, query: str) -> list[str]:
        """The query's stemmed terms, in each configuration its chunks may be stemmed with."""
        configs = query_configs(
            session, self.corpus, query, self.organization, self.text_search_config
        )
        terms = session.execute(
            sa.text(QUERY_TERMS_SQL), {"configs": configs, "query": query}
        ).scalar_one()
        return list(terms)

    def _parameters(
        self,
        session: Session,
        frequencies: dict[str, int],
        nominating: list[str],
        frequent: list[str],
        limit: int,
    ) -> dict[str, object]:
        count, average_length = self.corpus.get(session, self.organization)
        return {
            "organization": self.organization,
            "terms": list(frequencies),
            "frequencies": [float(df) for df in frequencies.values()],
            "nominating": nominating,
            "frequent": frequent,
            "n": count,
            "avgdl": average_length,
            "depth": BM25_POOL_FACTOR * limit if frequent else limit,
            "limit": limit,
            "k1": self.k1,
            "b": self.b,
        }
