"""Corpus statistics BM25 needs for every query, cached briefly per organization.

A ``RagKit`` owns one :class:`CorpusStats`: its retriever reads them, and whatever writes or
deletes an organization's chunks calls :meth:`CorpusStats.forget` so the next query counts
afresh. Neither side imports the other.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ragkit.languages import NEUTRAL_CONFIG, TEXT_SEARCH_CONFIGS

CORPUS_STATS_TTL = 30.0
TERMS_CACHED_PER_ORGANIZATION = 50_000

# The configurations the organization's chunks were stemmed with (as ragkit.ingest.postings
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


class CorpusStats:
    """Chunk count, mean length and term document frequencies per organization, cached briefly.

    BM25 needs them for every query; counting them is linear in the corpus (the frequent terms,
    which recur in most queries, cost the most), while the values drift slowly, so a few seconds
    of staleness changes no ranking that matters. Ingesting or deleting forgets them.
    """

    def __init__(self, ttl: float = CORPUS_STATS_TTL) -> None:
        self.ttl = ttl
        self._values: dict[str, tuple[float, float, float]] = {}
        self._terms: dict[str, dict[str, tuple[int, float]]] = {}
        self._configs: dict[tuple[str, str], tuple[frozenset[str], float]] = {}

    def get(self, session: Session, organization: str) -> tuple[float, float]:
        """The organization's chunk count and mean chunk length in terms."""
        cached = self._values.get(organization)
        now = time.monotonic()
        if cached is None or now - cached[2] > self.ttl:
            count, average = session.execute(
                sa.text(CORPUS_SQL), {"organization": organization}
            ).one()
            cached = (float(count), max(float(average), 1.0), now)
            self._values[organization] = cached
        return cached[0], cached[1]

    def frequencies(
        self, session: Session, organization: str, terms: Sequence[str]
    ) -> dict[str, int]:
        """How many of the organization's chunks contain each term."""
        cached = self._terms.setdefault(organization, {})
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
        key = (organization, default)
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
        """The organization's chunks changed: count afresh on its next query."""
        self._values.pop(organization, None)
        self._terms.pop(organization, None)
        for key in [key for key in self._configs if key[0] == organization]:
            self._configs.pop(key, None)
