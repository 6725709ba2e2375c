"""BM25 postings: each chunk's stemmed terms with their counts, and each document's language.

Postings are written from PostgreSQL's own stemming, in the transaction that writes their
chunks, and go with them (``ON DELETE CASCADE``). Whoever caches figures over the postings
(BM25's corpus statistics) is told by the caller, once the transaction is committed.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ragkit.languages import NEUTRAL_CONFIG, TEXT_SEARCH_CONFIGS

# The chunks are those whose {chunk_column} is in :ids (their ids, or their documents' ids).
POSTINGS_SQL = """
INSERT INTO chunk_terms (chunk_id, term, organization_id, document_id, tf, doc_len)
SELECT chunk_id, term, organization_id, document_id, tf, sum(tf) OVER (PARTITION BY chunk_id)
FROM (
    SELECT c.id AS chunk_id, t.lexeme AS term, c.organization_id, c.document_id,
           coalesce(array_length(t.positions, 1), 1) AS tf
    FROM chunks c
    LEFT JOIN unnest(CAST(:languages AS text[]), CAST(:configs AS text[]))
        AS stemmed(language, config) ON stemmed.language = c.language
    LEFT JOIN pg_ts_config available
        ON available.cfgname = stemmed.config
        AND available.cfgnamespace = 'pg_catalog'::regnamespace
    CROSS JOIN LATERAL unnest(to_tsvector(
        CASE WHEN c.language IS NULL THEN CAST(:config AS regconfig)
             ELSE coalesce(available.oid::regconfig, CAST(:neutral AS regconfig)) END,
        c.content)) AS t
    WHERE c.{chunk_column} = ANY(:ids)
) AS terms
"""
TERM_COUNTS_SQL = """
UPDATE chunks SET term_count = totals.n
FROM (SELECT chunk_id, sum(tf) AS n FROM chunk_terms
      WHERE {term_column} = ANY(:ids) GROUP BY chunk_id) AS totals
WHERE chunks.id = totals.chunk_id
"""
LANGUAGES_SQL = """
UPDATE documents d SET language = (
    SELECT c.language FROM chunks c
    WHERE c.document_id = d.id AND c.language IS NOT NULL
    GROUP BY c.language
    ORDER BY sum(length(c.content)) DESC, c.language
    LIMIT 1)
WHERE d.id = ANY(:ids)
"""


def write_postings(
    session: Session,
    document_ids: Sequence[uuid.UUID],
    text_search_config: str,
    chunk_ids: Sequence[uuid.UUID] | None = None,
) -> None:
    """Fill the lexical index for documents' chunks from PostgreSQL's own stemming.

    Each chunk is stemmed in its own language (see :func:`ragkit.languages.text_search_config`):
    ``text_search_config`` for chunks of undecided language, ``simple`` for languages PostgreSQL
    cannot stem (or whose configuration this server lacks). With ``chunk_ids``, only for those
    chunks (the others of the documents already have theirs).
    """
    if chunk_ids is not None and not chunk_ids:
        return
    chunk_column, term_column, values = "document_id", "document_id", list(document_ids)
    if chunk_ids is not None:
        chunk_column, term_column, values = "id", "chunk_id", list(chunk_ids)
    stemming = {
        "config": text_search_config,
        "languages": list(TEXT_SEARCH_CONFIGS),
        "configs": list(TEXT_SEARCH_CONFIGS.values()),
        "neutral": NEUTRAL_CONFIG,
    }
    session.execute(
        sa.text(POSTINGS_SQL.format(chunk_column=chunk_column)), {**stemming, "ids": values}
    )
    session.execute(sa.text(TERM_COUNTS_SQL.format(term_column=term_column)), {"ids": values})


def record_languages(session: Session, document_ids: Sequence[uuid.UUID]) -> None:
    """Set each document's language to the one most of its chunks' characters are in."""
    session.execute(sa.text(LANGUAGES_SQL), {"ids": list(document_ids)})
