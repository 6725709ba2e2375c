"""Ways of running the dense search, and each one's latency and recall per organization.

``VARIANTS`` are pgvector's iterative HNSW scan (strict or relaxed order, several ef_search and
scan limits), an exact scan, and ragkit's own ``nearest_chunks`` as ``kit.retrieve`` calls it.
Each is measured for ``CANDIDATES`` rows (the dense depth of a hybrid query) against the exact
scan of the same organization.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa

from benchmarks.common import latency_summary
from ragkit import RagKit
from ragkit.dense import nearest_chunks
from ragkit.fusion import Ranked
from ragkit.index import active_index

CANDIDATES = 100  # the dense depth of a hybrid query (candidate_k)


@dataclass(frozen=True)
class DenseVariant:
    """One way of running the dense search: pgvector's settings, or an exact scan."""

    name: str
    scan: str  # "strict_order", "relaxed_order", "exact", or "shipped" (ragkit's own)
    ef_search: int = 100
    max_scan_tuples: int = 20_000


VARIANTS = (
    DenseVariant("shipped", "shipped"),
    DenseVariant("strict-100", "strict_order", 100),
    DenseVariant("strict-400", "strict_order", 400),
    DenseVariant("strict-1000", "strict_order", 1000),
    DenseVariant("relaxed-100", "relaxed_order", 100),
    DenseVariant("relaxed-400", "relaxed_order", 400),
    DenseVariant("relaxed-100-t100k", "relaxed_order", 100, 100_000),
    DenseVariant("exact", "exact"),
)
NEAREST_SQL = """
SELECT node_id, 1 - (embedding <=> CAST(:vector AS vector)) AS similarity FROM {table}
WHERE metadata_ ->> 'organization_id' = :organization
ORDER BY {order} LIMIT :limit"""
# Relaxed order returns rows nearly by distance; they are sorted again (pgvector's advice).
RELAXED_SQL = "WITH nearest AS MATERIALIZED ({inner}) SELECT * FROM nearest ORDER BY 2 DESC"


STARTED = time.perf_counter()


def progress(message: str) -> None:
    print(f"  [{time.perf_counter() - STARTED:7.1f} s] {message}", flush=True)


def literal(vector: Sequence[float]) -> str:
    return "[" + ",".join(f"{value:.7g}" for value in vector) + "]"


def nearest(
    kit: RagKit, variant: DenseVariant, vector: Sequence[float], organization: str, limit: int
) -> Ranked:
    """The organization's ``limit`` nearest chunks to ``vector``, searched as ``variant``."""
    with kit.database.sessions() as session:
        index = active_index(session, organization)
        if variant.scan == "shipped":
            rows = kit.stores.row_model(index)
            size, _ = kit.corpus.get(session, organization)  # as kit.retrieve decides
            return nearest_chunks(
                session, rows, vector, organization, limit, organization_chunks=size
            )
        # Ordering by the similarity column instead of the distance keeps the HNSW index out.
        order = (
            "similarity DESC"
            if variant.scan == "exact"
            else "embedding <=> CAST(:vector AS vector)"
        )
        statement = NEAREST_SQL.format(table=index.table_name, order=order)
        if variant.scan != "exact":
            session.connection().exec_driver_sql(
                f"SET LOCAL hnsw.iterative_scan = {variant.scan}; "
                f"SET LOCAL hnsw.ef_search = {variant.ef_search}; "
                f"SET LOCAL hnsw.max_scan_tuples = {variant.max_scan_tuples}"
            )
        if variant.scan == "relaxed_order":
            statement = RELAXED_SQL.format(inner=statement)
        parameters = {"vector": literal(vector), "organization": organization, "limit": limit}
        return [
            (str(node), float(score))
            for node, score in session.execute(sa.text(statement), parameters)
        ]


# Every organization: latency and recall of each variant


def searches(
    kit: RagKit, variant: DenseVariant, organization: str, vectors: Sequence[list[float]]
) -> tuple[list[Ranked], list[float]]:
    """Every vector's ``CANDIDATES`` nearest chunks, and the seconds each search took."""
    found, seconds = [], []
    for vector in vectors:
        started = time.perf_counter()
        found.append(nearest(kit, variant, vector, organization, CANDIDATES))
        seconds.append(time.perf_counter() - started)
    return found, seconds


def tenant_row(
    kit: RagKit,
    organization: str,
    chunks: int,
    vectors: Sequence[list[float]],
    variants: Sequence[DenseVariant],
) -> dict[str, Any]:
    """Each variant's latency for ``CANDIDATES`` rows and recall against the exact scan."""
    truth, seconds = searches(kit, DenseVariant("exact", "exact"), organization, vectors)
    row: dict[str, Any] = {"organization": organization, "chunks": chunks}
    row["exact"] = latency_summary(seconds) | {"recall@10": 1.0, "recall@100": 1.0}
    for variant in variants:
        if variant.scan != "exact":
            found, seconds = searches(kit, variant, organization, vectors)
            row[variant.name] = latency_summary(seconds) | recall(truth, found)
    summary = {k: (v["p50_ms"], v["recall@10"]) for k, v in row.items() if isinstance(v, dict)}
    progress(f"{organization} ({chunks} chunks): p50 ms, recall@10 {summary}")
    return row


def recall(truth: Sequence[Ranked], found: Sequence[Ranked]) -> dict[str, float]:
    shares: dict[str, list[float]] = {"recall@10": [], "recall@100": []}
    for exact, approximate in zip(truth, found):
        for k, name in ((10, "recall@10"), (100, "recall@100")):
            wanted = {node for node, _ in exact[:k]}
            got = {node for node, _ in approximate[:k]}
            shares[name].append(len(wanted & got) / max(len(wanted), 1))
    return {name: round(float(np.mean(values)), 4) for name, values in shares.items()}


def tenant_table(
    kit: RagKit,
    sizes: dict[str, int],
    vectors: Sequence[list[float]],
    variants: Sequence[DenseVariant],
) -> list[dict[str, Any]]:
    ordered = sorted(sizes.items(), key=lambda item: item[1])
    return [tenant_row(kit, name, chunks, vectors, variants) for name, chunks in ordered]
