"""Retrieval latency (dense, text, hybrid) and HNSW recall@10 at about 10k and 100k chunks.

Two organizations in one fresh database, built with ragkit's own ``Pipeline.ingest_texts`` (so
chunks, vectors, metadata and BM25 postings are exactly what ragkit writes):

- ``real``: SciFact abstracts chunked by ragkit. The first ``--embedded`` documents are embedded
  by the real model; the rest (if any) get *filler* vectors: the vector of a random real chunk
  plus Gaussian noise (``--filler-noise`` per dimension), normalised. Filler vectors keep the
  clustered shape of real embeddings, which uniform random vectors (the HNSW worst case) lack.
- ``large``: ``--large-chunks`` synthetic passages (random SciFact sentences, about one chunk
  each, so BM25 sees real vocabulary) with filler vectors: the store-only 100k part.

Each level is measured right after it is built, with the SciFact test claims as queries: every
mode through ``kit.retrieve`` with the query embedded inside the call, and with a precomputed
``query_embedding=``. Recall@k compares ragkit's ``dense_search`` (HNSW, ``hnsw.ef_search`` from
the settings, iterative scan) with an exact scan of the same organization.

    python -m benchmarks.query [--documents 5183] [--embedded 5183] [--large-chunks 100000]
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (
    SCIFACT,
    Run,
    add_common_arguments,
    latency_summary,
    print_table,
    scifact_corpus,
    scifact_queries,
    temporary_kit,
)
from ragkit import RagKit
from ragkit.embeddings import EmbeddingModel
from ragkit.index import active_index
from ragkit.ingest import Pipeline, TextItem
from ragkit.onnx_embedding import BACKENDS
from ragkit.retrieve import dense_search
from ragkit.schema import Chunk
from ragkit.settings import RetrievalMode

TOP_K = 10
RECALL_DEPTHS = (10, 100)
BATCH = 500
WORDS_PER_SYNTHETIC_PASSAGE = 75
MODES: tuple[RetrievalMode, ...] = ("dense", "text", "hybrid")
REAL, LARGE = "bench-real", "bench-large"


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", type=Path, default=SCIFACT, help="a BEIR corpus folder")
    parser.add_argument("--documents", type=int, default=None, help="abstracts (default all)")
    parser.add_argument(
        "--embedded",
        type=int,
        default=None,
        help="abstracts embedded by the real model (default all); the rest get filler vectors",
    )
    parser.add_argument("--large-chunks", type=int, default=100_000, help="0 to skip")
    parser.add_argument("--queries", type=int, default=200, help="SciFact test claims to run")
    parser.add_argument("--filler-noise", type=float, default=0.05)
    parser.add_argument("--backend", choices=BACKENDS, default="onnx-int8")
    parser.add_argument("--seed", type=int, default=5)
    add_common_arguments(parser, "query")
    return parser.parse_args(argv)


class FillerEmbedding(BaseEmbedding):
    """Vectors near real ones: a random real vector plus Gaussian noise, normalised."""

    noise: float = 0.05
    _anchors: Any = PrivateAttr()
    _random: Any = PrivateAttr()

    def __init__(self, anchors: np.ndarray, noise: float, seed: int) -> None:
        super().__init__(model_name="filler", embed_batch_size=2048)
        self.noise = noise
        self._anchors = anchors
        self._random = np.random.default_rng(seed)

    @classmethod
    def class_name(cls) -> str:
        return "FillerEmbedding"

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        picked = self._anchors[self._random.integers(len(self._anchors), size=len(texts))]
        vectors = picked + self._random.normal(0.0, self.noise, picked.shape)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors.tolist()

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embeddings([text])[0]

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._get_text_embedding(query)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)


def filler_pipeline(kit: RagKit, anchors: np.ndarray, noise: float, seed: int) -> Pipeline:
    """ragkit's pipeline with the real model's name, tokenizer and table, but filler vectors."""
    real = kit.model
    filler = EmbeddingModel(
        name=real.name,
        embedding=FillerEmbedding(anchors, noise, seed),
        dimensions=real.dimensions,
        tokenizer=real.tokenizer,
        max_tokens=real.max_tokens,
    )
    return Pipeline(kit.database, kit.settings, lambda _name: filler, kit.stores)


def ingest_in_batches(pipeline: Pipeline, organization: str, items: Sequence[TextItem]) -> float:
    started = time.perf_counter()
    for start in range(0, len(items), BATCH):
        pipeline.ingest_texts(organization, items[start : start + BATCH])
        done = min(start + BATCH, len(items))
        rate = done / (time.perf_counter() - started)
        print(f"  {organization}: {done}/{len(items)} documents ({rate:.0f}/s)", flush=True)
    return time.perf_counter() - started


def stored_vectors(kit: RagKit, organization: str) -> np.ndarray:
    with kit.database.sessions() as session:
        rows = kit.stores.row_model(active_index(session, organization))
        mine = rows.metadata_["organization_id"].astext == organization
        result = session.scalars(sa.select(rows.embedding).where(mine))
        return np.stack([np.asarray(vector, dtype=np.float32) for vector in result])


def chunk_count(kit: RagKit, organization: str) -> int:
    with kit.database.sessions() as session:
        count = session.scalar(
            sa.select(sa.func.count()).where(Chunk.organization_id == organization)
        )
        return int(count or 0)


def build_real(kit: RagKit, arguments: argparse.Namespace) -> tuple[dict[str, Any], np.ndarray]:
    """SciFact chunks: real vectors for the first ``--embedded`` abstracts, filler after."""
    documents = scifact_corpus(arguments.dataset, arguments.documents)
    items = [
        TextItem(doc_id, title or text[:80], f"{title}\n{text}" if title else text)
        for doc_id, title, text in documents
    ]
    embedded = len(items) if arguments.embedded is None else arguments.embedded
    seconds = ingest_in_batches(kit.pipeline, REAL, items[:embedded])
    real_chunks = chunk_count(kit, REAL)
    anchors = stored_vectors(kit, REAL)
    if embedded < len(items):
        filler = filler_pipeline(kit, anchors, arguments.filler_noise, arguments.seed)
        seconds += ingest_in_batches(filler, REAL, items[embedded:])
    built = {
        "documents": len(items),
        "chunks": chunk_count(kit, REAL),
        "chunks_with_model_vectors": real_chunks,
        "build_seconds": round(seconds, 1),
    }
    return built, anchors


def synthetic_items(dataset: Path, count: int, seed: int) -> list[TextItem]:
    """Passages of random SciFact sentences, each short enough to be about one chunk."""
    sentences = [
        sentence
        for _, _, text in scifact_corpus(dataset)
        for sentence in re.split(r"(?<=[.!?])\s+", text)
        if len(sentence.split()) >= 5
    ]
    chooser = random.Random(seed)
    items = []
    for number in range(count):
        words: list[str] = []
        while len(words) < WORDS_PER_SYNTHETIC_PASSAGE:
            words.extend(chooser.choice(sentences).split())
        items.append(TextItem(f"synthetic-{number}", f"Synthetic {number}", " ".join(words)))
    return items


def build_large(kit: RagKit, arguments: argparse.Namespace, anchors: np.ndarray) -> dict[str, Any]:
    items = synthetic_items(arguments.dataset, arguments.large_chunks, arguments.seed)
    filler = filler_pipeline(kit, anchors, arguments.filler_noise, arguments.seed + 1)
    seconds = ingest_in_batches(filler, LARGE, items)
    return {
        "documents": len(items),
        "chunks": chunk_count(kit, LARGE),
        "chunks_with_model_vectors": 0,
        "build_seconds": round(seconds, 1),
    }


def latencies(
    kit: RagKit,
    organization: str,
    queries: Sequence[str],
    vectors: Sequence[list[float]] | None,
    mode: RetrievalMode,
) -> dict[str, float]:
    """``kit.retrieve`` per query; ``vectors`` given means the embedding is precomputed."""
    for query in queries[:5]:
        kit.retrieve(query, organization, top_k=TOP_K, mode=mode)
    seconds = []
    for number, query in enumerate(queries):
        embedding = vectors[number] if vectors is not None else None
        started = time.perf_counter()
        kit.retrieve(
            query,
            organization,
            top_k=TOP_K,
            mode=mode,
            query_embedding=embedding,
        )
        seconds.append(time.perf_counter() - started)
    return latency_summary(seconds)


def exact_ids(kit: RagKit, table: str, organization: str, vector: Sequence[float], k: int) -> Any:
    """The true nearest chunks: the same ordering with index scans (so HNSW) disabled."""
    with kit.database.engine.begin() as connection:
        connection.execute(sa.text("SET LOCAL enable_indexscan = off"))
        return connection.scalars(
            sa.text(
                f"SELECT node_id FROM {table} WHERE metadata_ ->> 'organization_id' = :org "
                "ORDER BY embedding <=> CAST(:vector AS vector) LIMIT :k"
            ),
            {"org": organization, "vector": _literal(vector), "k": k},
        ).all()


def _literal(vector: Sequence[float]) -> str:
    return "[" + ",".join(f"{value:.7g}" for value in vector) + "]"


def dense_plan(kit: RagKit, table: str, organization: str, vector: Sequence[float]) -> str:
    """EXPLAIN of the dense query shape, to show that the HNSW index is used."""
    with kit.database.engine.connect() as connection:
        lines = connection.scalars(
            sa.text(
                f"EXPLAIN SELECT node_id FROM {table} "
                "WHERE metadata_ ->> 'organization_id' = :org "
                "ORDER BY embedding <=> CAST(:vector AS vector) LIMIT 100"
            ),
            {"org": organization, "vector": _literal(vector)},
        ).all()
    return re.sub(r"'\[[^\]]*\]'", "'[...]'", "\n".join(lines))  # without the vector


def recall(
    kit: RagKit, organization: str, vectors: Sequence[list[float]]
) -> dict[str, float | str]:
    """Mean share of the exact top k that ragkit's HNSW search returns, for each depth."""
    with kit.database.sessions() as session:
        index = active_index(session, organization)
    store = kit.stores.store(index)
    found: dict[str, float | str] = {}
    for k in RECALL_DEPTHS:
        shares = []
        for vector in vectors:
            approximate = dense_search(
                store, vector, organization, k, None, kit.settings.hnsw_ef_search
            )
            exact = set(exact_ids(kit, index.table_name, organization, vector, k))
            shares.append(len(exact & {node for node, _ in approximate}) / max(len(exact), 1))
        found[f"recall@{k}"] = round(float(np.mean(shares)), 4)
    found["plan"] = dense_plan(kit, index.table_name, organization, vectors[0])
    return found


def measure(
    kit: RagKit, organization: str, queries: Sequence[str], vectors: Sequence[list[float]]
) -> dict[str, Any]:
    measured: dict[str, Any] = {"with_query_embedding": {}, "precomputed_embedding": {}}
    for mode in MODES:
        measured["with_query_embedding"][mode] = latencies(kit, organization, queries, None, mode)
        if mode != "text":
            measured["precomputed_embedding"][mode] = latencies(
                kit, organization, queries, vectors, mode
            )
    measured["hnsw"] = {
        "ef_search": kit.settings.hnsw_ef_search,
        **recall(kit, organization, vectors),
    }
    return measured


def embed_queries(
    kit: RagKit, queries: Sequence[str]
) -> tuple[list[list[float]], dict[str, float]]:
    kit.model.embed_query("warm up")
    vectors, seconds = [], []
    for query in queries:
        started = time.perf_counter()
        vectors.append(kit.model.embed_query(query))
        seconds.append(time.perf_counter() - started)
    return vectors, latency_summary(seconds)


def print_level(name: str, level: dict[str, Any]) -> None:
    rows = []
    for mode in MODES:
        embedded = level["with_query_embedding"][mode]
        bare = level["precomputed_embedding"].get(mode)
        rows.append(
            [
                mode,
                embedded["p50_ms"],
                embedded["p95_ms"],
                embedded["p99_ms"],
                bare["p50_ms"] if bare else "-",
                bare["p95_ms"] if bare else "-",
                bare["p99_ms"] if bare else "-",
            ]
        )
    hnsw = level["hnsw"]
    print(
        f"\n{name}: {level['chunks']} chunks ({level['chunks_with_model_vectors']} with model "
        f"vectors); HNSW ef_search={hnsw['ef_search']} recall@10={hnsw['recall@10']} "
        f"recall@100={hnsw['recall@100']}"
    )
    print_table(
        ["mode", "p50 ms", "p95 ms", "p99 ms", "p50 (no emb)", "p95 (no emb)", "p99 (no emb)"],
        rows,
    )


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    arguments = parse_arguments(argv)
    run = Run("query", arguments)
    queries = scifact_queries(arguments.dataset, arguments.queries)
    levels: dict[str, Any] = {}
    with temporary_kit(arguments, embed_backend=arguments.backend) as kit:
        run.record_server(kit.database.engine)
        vectors, embedding_latency = embed_queries(kit, queries)
        print(f"query embedding alone ({arguments.backend}): {embedding_latency}")
        built, anchors = build_real(kit, arguments)
        levels["real"] = built | measure(kit, REAL, queries, vectors)
        print_level("real", levels["real"])
        if arguments.large_chunks:
            levels["large"] = build_large(kit, arguments, anchors)
            levels["large"] |= measure(kit, LARGE, queries, vectors)
            print_level("large", levels["large"])
    results = {
        "queries": len(queries),
        "top_k": TOP_K,
        "backend": arguments.backend,
        "query_embedding_alone": embedding_latency,
        "filler_vectors": "random real chunk vector + N(0, filler_noise) per dimension, normalised",
        "levels": levels,
        "goal": {"hybrid_p95_ms_at_100k": 50, "recall_at_10": 0.95},
    }
    run.finish(results, arguments.output)
    return results


if __name__ == "__main__":
    main()
