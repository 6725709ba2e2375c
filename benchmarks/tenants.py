"""Tenant-independent retrieval quality, and retrieval among up to a million chunks.

SciFact is indexed in one organization (``bench-real``: ragkit's chunks of every abstract with
the real model's vectors, built as ``benchmarks.query`` builds it) and measured alone. Then
``--other-chunks`` chunks of ``--organizations`` other organizations (sizes in a geometric
series from ``--smallest``) are written into the same generation (``benchmarks.tenant_store``:
``COPY``, vectors among the real ones, cheap text) and everything is measured again:

- quality: SciFact test nDCG@10 and Recall@100, dense and hybrid, as ``ragkit eval`` computes
  them, through ``kit.retrieve`` (``shipped``) and for each way of running the dense search
  (``VARIANTS``: pgvector's iterative HNSW scan, strict or relaxed order, at several ef_search,
  or an exact scan), fused with BM25 as ``kit.retrieve`` fuses;
- every organization: the latency of each dense variant for 100 rows and its recall@10/@100
  against the exact scan, which shows the size below which an exact scan is the faster one;
- ``kit.retrieve`` latency (dense, text, hybrid; query embedded inside the call, and
  precomputed) for SciFact and for the largest organization;
- index build times, table and index sizes, and the server's memory.

    python -m benchmarks.tenants [--other-chunks 240000] [--organizations 10]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import tenant_store as store
from benchmarks.common import SCIFACT, Run, add_common_arguments, temporary_kit
from benchmarks.dense_variants import (
    VARIANTS,
    DenseVariant,
    nearest,
    progress,
    tenant_table,
)
from benchmarks.query import (
    REAL,
    build_real,
    latencies,
    nearest_neighbours,
    stored_chunks,
    vacuum,
)
from ragkit import RagKit, Settings
from ragkit.bm25 import BM25
from ragkit.dense import EXACT_SCAN_BELOW
from ragkit.embeddings import resolve_backend, resolve_query_backend
from ragkit.evaluate import Dataset, load_dataset, score_run
from ragkit.fusion import Ranked, fuse
from ragkit.index import active_index
from ragkit.settings import EMBED_BACKENDS, RetrievalMode

EVAL_CHUNKS = 200  # ``ragkit eval`` asks for 100 documents, 2 chunks each
EVAL_DOCUMENTS = 100
LOADED_TABLES = ("chunk_terms", "chunks")


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", type=Path, default=SCIFACT, help="a BEIR corpus folder")
    parser.add_argument("--documents", type=int, default=None, help="abstracts (default all)")
    parser.add_argument("--other-chunks", type=int, default=240_000)
    parser.add_argument("--organizations", type=int, default=10)
    parser.add_argument("--smallest", type=int, default=1_000, help="chunks of the smallest")
    parser.add_argument("--words", type=int, default=24, help="words per synthetic chunk")
    parser.add_argument("--neighbours", type=int, default=20)
    parser.add_argument("--mixture-noise", type=float, default=0.01)
    parser.add_argument("--tenant-queries", type=int, default=50, help="per organization")
    parser.add_argument("--latency-queries", type=int, default=300)
    parser.add_argument("--maintenance-work-mem", default="3GB")
    parser.add_argument("--backend", choices=EMBED_BACKENDS, default=Settings().embed_backend)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument(
        "--variants",
        nargs="+",
        choices=[variant.name for variant in VARIANTS],
        default=[variant.name for variant in VARIANTS],
        help="dense variants to measure (the exact scan is always the reference)",
    )
    parser.add_argument("--skip-alone", action="store_true", help="measure only the crowd")
    parser.add_argument(
        "--partial-indexes-above",
        type=int,
        default=0,
        help="then give every organization of at least this many chunks an HNSW index of its "
        "own and measure it again (0: not)",
    )
    add_common_arguments(parser, "tenants")
    return parser.parse_args(argv)


# Quality on SciFact


@dataclass
class SciFact:
    """The evaluation set and what every variant shares: query vectors, BM25 lists, sources."""

    dataset: Dataset
    vectors: dict[str, list[float]]
    text: dict[str, Ranked]
    sources: dict[str, str]


def prepare_scifact(kit: RagKit, dataset: Dataset, vectors: dict[str, list[float]]) -> SciFact:
    with kit.database.sessions() as session:
        sources: dict[str, str] = dict(
            session.execute(  # type: ignore[arg-type]
                sa.text(
                    "SELECT CAST(c.id AS text), d.source FROM chunks c "
                    "JOIN documents d ON d.id = c.document_id WHERE c.organization_id = :o"
                ),
                {"o": REAL},
            ).all()
        )
        bm25 = BM25(kit.corpus, REAL, kit.settings.text_search_config)
        text = {
            query_id: bm25.search(session, query, EVAL_CHUNKS)
            for query_id, query in dataset.queries.items()
        }
    return SciFact(dataset, vectors, text, sources)


def documents(ranked: Sequence[tuple[str, float]], sources: dict[str, str]) -> list[str]:
    """Documents in the order of their best chunk, as ``ragkit eval`` ranks them."""
    found: list[str] = []
    for chunk_id, _ in ranked[:EVAL_CHUNKS]:
        if sources[chunk_id] not in found:
            found.append(sources[chunk_id])
    return found[:EVAL_DOCUMENTS]


def scores(scifact: SciFact, runs: dict[str, dict[str, list[str]]]) -> dict[str, Any]:
    qrels = scifact.dataset.qrels
    measured = {mode: score_run(qrels, run) for mode, run in runs.items()}
    return {
        mode: {name: round(measured[mode][name], 4) for name in ("ndcg@10", "recall@100")}
        for mode in runs
    }


def variant_quality(kit: RagKit, scifact: SciFact, variant: DenseVariant) -> dict[str, Any]:
    """Dense and hybrid scores with the dense side searched as ``variant``."""
    runs: dict[str, dict[str, list[str]]] = {"dense": {}, "hybrid": {}}
    for query_id in scifact.dataset.queries:
        dense = nearest(kit, variant, scifact.vectors[query_id], REAL, EVAL_CHUNKS)
        hybrid = fuse(dense, scifact.text[query_id], kit.settings.dense_weight)
        runs["dense"][query_id] = documents(dense, scifact.sources)
        runs["hybrid"][query_id] = documents(hybrid, scifact.sources)
    return scores(scifact, runs)


def retrieve_quality(kit: RagKit, scifact: SciFact) -> dict[str, Any]:
    """Dense and hybrid scores through ``kit.retrieve`` itself, as ``ragkit eval`` runs it."""
    runs: dict[str, dict[str, list[str]]] = {"dense": {}, "hybrid": {}}
    for mode, run in runs.items():
        for query_id, query in scifact.dataset.queries.items():
            found = kit.retrieve(
                query, REAL, top_k=EVAL_CHUNKS, mode=mode,  # type: ignore[arg-type]
                query_embedding=scifact.vectors[query_id],
            )  # fmt: skip
            run[query_id] = documents([(str(c.chunk_id), c.score) for c in found], scifact.sources)
    return scores(scifact, runs)


def quality(kit: RagKit, scifact: SciFact, variants: Sequence[DenseVariant]) -> dict[str, Any]:
    measured = {"kit.retrieve": retrieve_quality(kit, scifact)}
    for variant in variants:
        measured[variant.name] = variant_quality(kit, scifact, variant)
        progress(f"quality {variant.name}: {measured[variant.name]}")
    return measured


# kit.retrieve latency


def retrieve_latency(
    kit: RagKit, organization: str, queries: Sequence[str], vectors: Sequence[list[float]]
) -> dict[str, Any]:
    measured: dict[str, Any] = {}
    modes: tuple[RetrievalMode, ...] = ("dense", "text", "hybrid")
    for mode in modes:
        measured[mode] = latencies(kit, organization, queries, None, mode)
    measured["hybrid_precomputed_embedding"] = latencies(
        kit, organization, queries, vectors, "hybrid"
    )
    progress(f"kit.retrieve latency in {organization}: {measured}")
    return measured


# Building the crowd


def add_tenants(kit: RagKit, arguments: argparse.Namespace) -> dict[str, Any]:
    """The other organizations, bulk-loaded into the SciFact organization's generation."""
    texts, real = stored_chunks(kit, REAL)
    mixtures = store.MixtureVectors(
        real, nearest_neighbours(real, arguments.neighbours), arguments.mixture_noise
    )
    with kit.database.sessions() as session:
        table = active_index(session, REAL).table_name
    loader = store.TenantLoader(
        kit.database.engine, table, kit.model.name, mixtures,
        store.Passages(texts, arguments.words), arguments.seed,
    )  # fmt: skip
    sizes = store.organization_sizes(
        arguments.other_chunks, arguments.organizations, arguments.smallest
    )
    tenants = {f"tenant-{number:02d}": chunks for number, chunks in enumerate(sizes)}
    started = time.perf_counter()
    dropped = store.drop_secondary_indexes(kit.database.engine, (table, *LOADED_TABLES))
    for name, chunks in tenants.items():
        loader.load(store.Tenant(name, chunks), progress)
    loaded = time.perf_counter() - started
    with store.PeakMemory(kit.database.engine) as peak:
        builds = store.create_indexes(kit.database.engine, dropped, arguments.maintenance_work_mem)
    return {
        "organizations": tenants,
        "table": table,
        "load_seconds": round(loaded, 1),
        "index_build_seconds": builds,
        "maintenance_work_mem": arguments.maintenance_work_mem,
        "server_memory_peak_while_indexing_mb": peak.peak,
        "vacuum_seconds": vacuum(kit, REAL),
    }


def partial_indexes(
    kit: RagKit,
    scifact: SciFact,
    table: str,
    sizes: dict[str, int],
    arguments: argparse.Namespace,
) -> dict[str, Any]:
    """Large organizations with an HNSW index of their own, measured as before."""
    large = {name: n for name, n in sizes.items() if n >= arguments.partial_indexes_above}
    built = {}
    for name in sorted(large, key=large.__getitem__):
        index, seconds = store.create_partial_index(
            kit.database.engine, table, name, arguments.maintenance_work_mem
        )
        built[name] = {"index": index, "build_seconds": seconds}
        progress(f"partial index for {name} ({large[name]} chunks) built in {seconds} s")
    vectors = list(scifact.vectors.values())
    queries = list(scifact.dataset.queries.values())[: arguments.latency_queries]
    variants = [variant for variant in VARIANTS if variant.name in ("shipped", "relaxed-100")]
    largest = max(large, key=large.__getitem__)
    return {
        "built": built,
        "organizations": tenant_table(kit, large, vectors[: arguments.tenant_queries], variants),
        "kit_retrieve_latency": {
            largest: retrieve_latency(kit, largest, queries, vectors[: len(queries)])
        },
        "memory": memory(kit, table),
    }


def server_settings(kit: RagKit) -> dict[str, str]:
    names = (
        "shared_buffers",
        "work_mem",
        "effective_cache_size",
        "max_parallel_maintenance_workers",
    )
    with kit.database.engine.connect() as connection:
        return {name: connection.exec_driver_sql(f"SHOW {name}").scalar_one() for name in names}


def memory(kit: RagKit, table: str) -> dict[str, Any]:
    with kit.database.engine.connect() as connection:
        pids = store.server_processes(store.postmaster(connection))
        sizes = store.relation_sizes(connection, (table, *LOADED_TABLES, "documents"))
    return {
        "sizes": sizes,
        "server_memory_mb": store.proportional_memory_mb(pids),
        "benchmark_process_peak_rss_mb": round(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
        ),
    }


def measure(
    kit: RagKit, scifact: SciFact, sizes: dict[str, int], arguments: argparse.Namespace
) -> dict[str, Any]:
    vectors = list(scifact.vectors.values())
    queries = list(scifact.dataset.queries.values())[: arguments.latency_queries]
    largest = max(sizes, key=sizes.__getitem__)
    variants = [variant for variant in VARIANTS if variant.name in arguments.variants]
    measured: dict[str, Any] = {"quality": quality(kit, scifact, variants)}
    measured["organizations"] = tenant_table(
        kit, sizes, vectors[: arguments.tenant_queries], variants
    )
    measured["kit_retrieve_latency"] = {
        organization: retrieve_latency(kit, organization, queries, vectors[: len(queries)])
        for organization in dict.fromkeys([REAL, largest])
    }
    return measured


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    arguments = parse_arguments(argv)
    run = Run("tenants", arguments)
    dataset = load_dataset(arguments.dataset, "test")
    results: dict[str, Any] = {"backend": arguments.backend}
    with temporary_kit(arguments, embed_backend=arguments.backend) as kit:
        run.record_server(kit.database.engine)
        results["server_settings"] = server_settings(kit)
        passages = resolve_backend(kit.settings.embed_backend)
        results["query_backend"] = resolve_query_backend(kit.settings.query_backend, passages)
        vectors = {
            query_id: kit.model.embed_query(query) for query_id, query in dataset.queries.items()
        }
        results["scifact"] = build_real(kit, arguments)
        scifact = prepare_scifact(kit, dataset, vectors)
        real = {REAL: results["scifact"]["chunks"]}
        if not arguments.skip_alone:
            progress("SciFact alone")
            results["alone"] = measure(kit, scifact, real, arguments)
        if arguments.other_chunks:
            results["others"] = add_tenants(kit, arguments)
            progress("SciFact among the others")
            results["crowded"] = measure(
                kit, scifact, real | results["others"]["organizations"], arguments
            )
            results["crowded"]["memory"] = memory(kit, results["others"]["table"])
            if arguments.partial_indexes_above:
                results["partial_indexes"] = partial_indexes(
                    kit, scifact, results["others"]["table"], results["others"]["organizations"],
                    arguments,
                )  # fmt: skip
    results["exact_scan_below"] = EXACT_SCAN_BELOW
    results["goal"] = {
        "ndcg@10_within_of_alone": 0.003,
        "hybrid_p95_ms_at_1m_with_embedding": 80,
        "recall@10": 0.95,
    }
    run.finish(results, arguments.output)
    return results


if __name__ == "__main__":
    main()
