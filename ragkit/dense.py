"""Dense search: the chunks nearest a query vector in a generation's table (pgvector).

The rows are those LlamaIndex's ``PGVectorStore`` writes and queries; they are read straight
from the table, without rebuilding a LlamaIndex node per row: on SciFact this halves the time
of a 100-row dense search.

Every organization shares its generation's table and HNSW graph, and a search walks that graph
with a filter on the organization, so an approximate search of one organization would depend
on how much the others store (``benchmarks/tenants.py``). Hence:

- an organization with fewer than ``EXACT_SCAN_BELOW`` chunks (and any search within some
  documents) is searched exactly: its rows are read by the organization's btree index and
  sorted by similarity. The answer is the true nearest neighbours whatever else the table
  holds, and at that size it is the faster search too: among a million chunks, exact scans of
  tenants of 32k-51k chunks took 51-61 ms (p50) where the graph walk, filtered down to 3-5 % of
  the rows it visits, took 83-164 ms; the walk wins from about 65k chunks. The vectors are
  stored inline (``ragkit.index``), so a row costs one heap read;
- a larger one walks the HNSW graph with pgvector's relaxed-order iterative scan (set per
  connection in ``ragkit.database``), which keeps walking until it has ``limit`` of the
  organization's rows. Relaxed order found 0.99-1.0 of the true top 10 where strict order found
  0.94-0.96 (tenants of 21k-96k chunks among 250k), 0.89-0.99 where strict found 0.79-0.82
  (65k-205k among a million). It may return rows slightly out of order, so they are sorted
  again.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ragkit.fusion import Ranked

# Below this many chunks an exact scan is faster than the filtered HNSW walk (docs/benchmarks.md,
# "Tenants").
EXACT_SCAN_BELOW = 50_000


def exact_search_pays(organization_chunks: float | None, document_ids: Sequence[object]) -> bool:
    """Whether to scan exactly: a small organization, or a search within named documents
    (their chunks are few and read by the document index; the graph walk could miss them)."""
    small = organization_chunks is not None and organization_chunks < EXACT_SCAN_BELOW
    return small or bool(document_ids)


def nearest_query(
    rows: Any,
    query_embedding: Sequence[float],
    organization: str,
    limit: int,
    document_ids: Sequence[uuid.UUID] = (),
    *,
    exact: bool = False,
) -> sa.Select[tuple[str, float]]:
    """The dense search statement: node ids and cosine similarities, nearest first.

    The one place the nearest-neighbour SQL is built. ``exact`` orders by the similarity
    column, which no index provides, so the planner reads the organization's rows and sorts
    them; otherwise the ordering by distance is the HNSW index's (``hnsw.ef_search`` and the
    iterative scan are set per connection in ``ragkit.database``).
    """
    distance = rows.embedding.cosine_distance(list(query_embedding))
    similarity = (1 - distance).label("similarity")
    query = (
        sa.select(rows.node_id, similarity)
        .where(rows.metadata_["organization_id"].astext == organization)
        .limit(limit)
    )
    if document_ids:
        ids = [str(document_id) for document_id in document_ids]
        query = query.where(rows.metadata_["ref_doc_id"].astext.in_(ids))
    if exact:
        return query.order_by(similarity.desc())
    walked = query.order_by(distance).cte("walked").prefix_with("MATERIALIZED")
    return sa.select(walked.c.node_id, walked.c.similarity).order_by(walked.c.similarity.desc())


def nearest_chunks(
    session: Session,
    rows: Any,
    query_embedding: Sequence[float],
    organization: str,
    limit: int,
    document_ids: Sequence[uuid.UUID] = (),
    *,
    organization_chunks: float | None = None,
) -> Ranked:
    """Node ids (chunk ids) and cosine similarities of the nearest chunks, nearest first.

    ``organization_chunks`` (how many chunks the organization has) chooses the exact scan or
    the graph walk; unknown, the graph is walked.
    """
    exact = exact_search_pays(organization_chunks, document_ids)
    query = nearest_query(rows, query_embedding, organization, limit, document_ids, exact=exact)
    if not exact:
        return [(node_id, float(similarity)) for node_id, similarity in session.execute(query)]
    # An organization holding most of the table would be read by a sequential scan that
    # evaluates the organization filter on every row's metadata, kept out of line in TOAST:
    # 4x slower than its index (12.6k rows alone: 50 ms vs 12 ms), a cost the planner omits.
    # (A failed statement rolls the transaction back, and the SET LOCAL with it.)
    session.execute(sa.text("SET LOCAL enable_seqscan = off"))
    found = [(node_id, float(similarity)) for node_id, similarity in session.execute(query)]
    session.execute(sa.text("RESET enable_seqscan"))
    return found
