"""Retrieval latency (dense, text, hybrid) and HNSW recall at about 10k and 100k chunks.

Two organizations in one fresh database, built with ragkit's own ``Pipeline.ingest_texts`` (so
chunks, vectors, metadata and BM25 postings are exactly what ragkit writes):

- ``real``: every SciFact abstract, chunked by ragkit and embedded by the real model
  (``--backend``). The passage vectors are cached by text hash under
  ``--home``/query-vectors, so only the first run embeds (about 12.6k chunks).
- ``large``: ``--large-chunks`` synthetic passages, the store-only 100k part. Each one is made
  from two or three real chunks: an anchor drawn at random and one or two partners drawn from
  the anchor's ``--neighbours`` nearest real chunks (a new passage on a topic close to an
  existing one). Its text is a shuffle of those chunks' sentences cut to about one chunk, so
  BM25 sees real vocabulary and term statistics; its vector is the normalised mixture of their
  real vectors with Dirichlet weights plus Gaussian noise (``--mixture-noise`` per dimension).
  The vectors therefore lie on and between real clusters, as new documents on known topics do,
  instead of the near-copies of a few vectors that make exact-id recall meaningless.

Each level is measured right after it is built, with the SciFact test claims as queries: every
mode through ``kit.retrieve`` with the query embedded inside the call, and with a precomputed
``query_embedding=``. Recall@k compares ragkit's own dense search (``nearest_chunks`` as
``kit.retrieve`` calls it: an exact scan below ``EXACT_SCAN_BELOW`` chunks, else HNSW at the
configured ``hnsw.ef_search``, iterative scan) with an exact scan of the same organization.
The profile splits hybrid retrieval into its steps and keeps ``EXPLAIN ANALYZE`` of the dense
and BM25 statements for the query whose BM25 is slowest.

    python -m benchmarks.query [--documents 5183] [--large-chunks 100000] [--queries 300]
"""

from __future__ import annotations

import argparse
import hashlib
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
from ragkit import RagKit, Settings
from ragkit.bm25 import BM25, BM25_POSTINGS_BUDGET
from ragkit.dense import exact_search_pays, nearest_chunks, nearest_query
from ragkit.embeddings import EmbeddingModel
from ragkit.fusion import fuse
from ragkit.index import active_index
from ragkit.ingest import Pipeline, TextItem
from ragkit.retrieve import load_chunks
from ragkit.schema import Chunk
from ragkit.settings import EMBED_BACKENDS as BACKENDS
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
    parser.add_argument("--large-chunks", type=int, default=100_000, help="0 to skip")
    parser.add_argument("--queries", type=int, default=300, help="SciFact test claims to run")
    parser.add_argument("--neighbours", type=int, default=20)
    parser.add_argument("--mixture-noise", type=float, default=0.01)
    parser.add_argument("--profile-queries", type=int, default=50)
    parser.add_argument("--backend", choices=BACKENDS, default=Settings().embed_backend)
    parser.add_argument("--seed", type=int, default=5)
    add_common_arguments(parser, "query")
    return parser.parse_args(argv)


def text_key(text: str) -> str:
    return hashlib.sha256(" ".join(text.split()).encode()).hexdigest()


class CachedEmbedding(BaseEmbedding):
    """The real model's passage vectors, kept on disk by text hash so that reruns skip them."""

    _model: Any = PrivateAttr()
    _path: Any = PrivateAttr()
    _vectors: Any = PrivateAttr()
    _added: Any = PrivateAttr()

    def __init__(self, model: EmbeddingModel, path: Path) -> None:
        super().__init__(model_name=model.name, embed_batch_size=2048)
        self._model, self._path, self._added = model, path, 0
        self._vectors = {}
        if path.exists():
            stored = np.load(path)
            self._vectors = dict(zip(stored["keys"].tolist(), stored["vectors"]))

    @classmethod
    def class_name(cls) -> str:
        return "CachedEmbedding"

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        keys = [text_key(text) for text in texts]
        missing = {key: text for key, text in zip(keys, texts) if key not in self._vectors}
        if missing:
            vectors = self._model.embed_texts(list(missing.values()))
            for key, vector in zip(missing, vectors):
                self._vectors[key] = np.asarray(vector, dtype=np.float32)
            self._added += len(missing)
        return [self._vectors[key].tolist() for key in keys]

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embeddings([text])[0]

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._model.embed_query(query)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    def save(self) -> int:
        """Write the cache if this run embedded anything; the number of new vectors."""
        if self._added:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            keys = np.array(list(self._vectors))
            vectors = np.stack(list(self._vectors.values()))
            np.savez(self._path.with_suffix(".tmp.npz"), keys=keys, vectors=vectors)
            self._path.with_suffix(".tmp.npz").replace(self._path)
        return int(self._added)


class MixtureEmbedding(BaseEmbedding):
    """The vectors decided for the synthetic passages, looked up by text.

    A chunk that is not a whole passage (a long passage split in two) gets a mixture chosen by
    its text's hash, so every vector is still of the same kind.
    """

    _known: Any = PrivateAttr()
    _fallback: Any = PrivateAttr()
    _fallbacks: Any = PrivateAttr()

    def __init__(self, known: dict[str, np.ndarray], fallback: Any) -> None:
        super().__init__(model_name="mixture", embed_batch_size=2048)
        self._known, self._fallback, self._fallbacks = known, fallback, 0

    @classmethod
    def class_name(cls) -> str:
        return "MixtureEmbedding"

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        vectors = []
        for text in texts:
            key = text_key(text)
            if key not in self._known:
                self._fallbacks += 1
                self._known[key] = self._fallback(int(key[:15], 16))
            vectors.append(self._known[key].tolist())
        return vectors

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embeddings([text])[0]

    def _get_query_embedding(self, query: str) -> list[float]:
        raise NotImplementedError("queries are embedded by the real model")

    async def _aget_query_embedding(self, query: str) -> list[float]:
        raise NotImplementedError("queries are embedded by the real model")

    @property
    def fallbacks(self) -> int:
        return int(self._fallbacks)


def pipeline_with(kit: RagKit, embedding: BaseEmbedding) -> Pipeline:
    """ragkit's pipeline with the real model's name, tokenizer and table, other vectors."""
    real = kit.model
    model = EmbeddingModel(
        name=real.name,
        embedding=embedding,
        dimensions=real.dimensions,
        tokenizer=real.tokenizer,
        max_tokens=real.max_tokens,
    )
    return Pipeline(kit.database, kit.settings, lambda _name: model, kit.stores, kit.corpus)


def ingest_in_batches(pipeline: Pipeline, organization: str, items: Sequence[TextItem]) -> float:
    started = time.perf_counter()
    for start in range(0, len(items), BATCH):
        pipeline.ingest_texts(organization, items[start : start + BATCH])
        done = min(start + BATCH, len(items))
        rate = done / (time.perf_counter() - started)
        print(f"  {organization}: {done}/{len(items)} documents ({rate:.0f}/s)", flush=True)
    return time.perf_counter() - started


def stored_chunks(kit: RagKit, organization: str) -> tuple[list[str], np.ndarray]:
    """Texts and vectors of the organization's chunks, as stored."""
    with kit.database.sessions() as session:
        rows = kit.stores.row_model(active_index(session, organization))
        mine = rows.metadata_["organization_id"].astext == organization
        result = session.execute(sa.select(rows.text, rows.embedding).where(mine)).all()
    texts = [text for text, _ in result]
    return texts, np.stack([np.asarray(vector, dtype=np.float32) for _, vector in result])


def chunk_count(kit: RagKit, organization: str) -> int:
    with kit.database.sessions() as session:
        count = session.scalar(
            sa.select(sa.func.count()).where(Chunk.organization_id == organization)
        )
        return int(count or 0)


def vacuum(kit: RagKit, organization: str) -> float:
    """``VACUUM (ANALYZE)`` the searched tables, as autovacuum does soon after bulk loads.

    It sets the visibility map that lets BM25 read postings from the index alone, and gives
    the planner statistics; measuring straight after a bulk load would measure neither.
    """
    started = time.perf_counter()
    with kit.database.sessions() as session:
        table = active_index(session, organization).table_name
    with kit.database.engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        for name in ("chunk_terms", "chunks", "documents", table):
            connection.execute(sa.text(f"VACUUM (ANALYZE) {name}"))
    return round(time.perf_counter() - started, 1)


def build_real(kit: RagKit, arguments: argparse.Namespace) -> dict[str, Any]:
    """All SciFact chunks with the real model's vectors (from the cache when it has them)."""
    documents = scifact_corpus(arguments.dataset, arguments.documents)
    items = [
        TextItem(doc_id, title or text[:80], f"{title}\n{text}" if title else text)
        for doc_id, title, text in documents
    ]
    model_slug = re.sub(r"[^A-Za-z0-9]+", "-", kit.model.name).strip("-")
    cache = CachedEmbedding(
        kit.model, arguments.home / "query-vectors" / f"{model_slug}-{arguments.backend}.npz"
    )
    seconds = ingest_in_batches(pipeline_with(kit, cache), REAL, items)
    return {
        "documents": len(items),
        "chunks": chunk_count(kit, REAL),
        "vectors": f"{arguments.backend} model (cached; {cache.save()} embedded in this run)",
        "build_seconds": round(seconds, 1),
        "vacuum_seconds": vacuum(kit, REAL),
    }


def nearest_neighbours(vectors: np.ndarray, count: int) -> np.ndarray:
    """Each vector's ``count`` most similar other vectors (exact, in blocks)."""
    found = np.empty((len(vectors), count), dtype=np.int64)
    for start in range(0, len(vectors), 1024):
        similarity = vectors[start : start + 1024] @ vectors.T
        for row in range(similarity.shape[0]):
            similarity[row, start + row] = -np.inf
        top = np.argpartition(-similarity, count, axis=1)[:, :count]
        found[start : start + len(top)] = top
    return found


class Mixtures:
    """Draws synthetic passages: texts and vectors from an anchor chunk and its neighbours."""

    def __init__(self, texts: list[str], vectors: np.ndarray, arguments: argparse.Namespace):
        self.sentences = [
            [s for s in re.split(r"(?<=[.!?])\s+", text) if len(s.split()) >= 3] or [text]
            for text in texts
        ]
        self.vectors = vectors
        self.neighbours = nearest_neighbours(vectors, arguments.neighbours)
        self.noise = arguments.mixture_noise

    def sources(self, chooser: np.random.Generator) -> np.ndarray:
        anchor = int(chooser.integers(len(self.vectors)))
        partners = chooser.choice(self.neighbours[anchor], size=chooser.integers(1, 3))
        return np.concatenate([[anchor], partners])

    def vector(self, sources: np.ndarray, chooser: np.random.Generator) -> np.ndarray:
        weights = chooser.dirichlet(np.ones(len(sources)))
        mixed = weights @ self.vectors[sources]
        mixed = mixed + chooser.normal(0.0, self.noise, mixed.shape)
        return (mixed / np.linalg.norm(mixed)).astype(np.float32)

    def text(self, sources: np.ndarray, chooser: random.Random) -> str:
        pool = [sentence for source in sources for sentence in self.sentences[source]]
        chooser.shuffle(pool)
        words: list[str] = []
        for sentence in pool:
            words.extend(sentence.split())
            if len(words) >= WORDS_PER_SYNTHETIC_PASSAGE:
                break
        return " ".join(words)

    def fallback(self, seed: int) -> np.ndarray:
        chooser = np.random.default_rng(seed)
        return self.vector(self.sources(chooser), chooser)


def build_large(kit: RagKit, arguments: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    texts, vectors = stored_chunks(kit, REAL)
    mixtures = Mixtures(texts, vectors, arguments)
    numbers, words = np.random.default_rng(arguments.seed), random.Random(arguments.seed)
    items, known = [], {}
    for number in range(arguments.large_chunks):
        sources = mixtures.sources(numbers)
        text = mixtures.text(sources, words)
        known[text_key(text)] = mixtures.vector(sources, numbers)
        items.append(TextItem(f"synthetic-{number}", f"Synthetic {number}", text))
    embedding = MixtureEmbedding(known, mixtures.fallback)
    print(f"  {LARGE}: passages drawn in {time.perf_counter() - started:.1f} s", flush=True)
    seconds = ingest_in_batches(pipeline_with(kit, embedding), LARGE, items)
    return {
        "documents": len(items),
        "chunks": chunk_count(kit, LARGE),
        "vectors": (
            f"mixtures of 2-3 real chunk vectors (anchor + neighbours among its "
            f"{arguments.neighbours} nearest), Dirichlet weights, N(0, {arguments.mixture_noise}) "
            f"per dimension, normalised; {embedding.fallbacks} split-passage chunks drawn by hash"
        ),
        "build_seconds": round(seconds, 1),
        "vacuum_seconds": vacuum(kit, LARGE),
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
        kit.retrieve(query, organization, top_k=TOP_K, mode=mode, query_embedding=embedding)
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


def recall(kit: RagKit, organization: str, vectors: Sequence[list[float]]) -> dict[str, float]:
    """Mean share of the exact top k that ragkit's dense search returns, for each depth."""
    with kit.database.sessions() as session:
        index = active_index(session, organization)
        rows = kit.stores.row_model(index)
        size, _ = kit.corpus.get(session, organization)
        shares: dict[int, list[float]] = {k: [] for k in RECALL_DEPTHS}
        for vector in vectors:
            exact = exact_ids(kit, index.table_name, organization, vector, max(RECALL_DEPTHS))
            for k in RECALL_DEPTHS:
                found = {
                    node
                    for node, _ in nearest_chunks(
                        session, rows, vector, organization, k, organization_chunks=size
                    )
                }
                shares[k].append(len(set(exact[:k]) & found) / max(len(exact[:k]), 1))
    return {f"recall@{k}": round(float(np.mean(shares[k])), 4) for k in RECALL_DEPTHS}


def bm25_agreement(kit: RagKit, organization: str, queries: Sequence[str]) -> dict[str, Any]:
    """How much of exact BM25's top k ragkit's BM25 returns (they differ once a query's terms
    have more postings than ``BM25_POSTINGS_BUDGET``), and how many queries went past it."""
    depth = max(TOP_K, kit.settings.candidate_k)
    shares: dict[int, list[float]] = {TOP_K: [], depth: []}
    pruned = 0
    bm25 = BM25(kit.corpus, organization)
    exact_bm25 = BM25(kit.corpus, organization, budget=sys.maxsize)
    with kit.database.sessions() as session:
        for query in queries:
            exact = [c for c, _ in exact_bm25.search(session, query, depth)]
            found = [c for c, _ in bm25.search(session, query, depth)]
            statement = bm25.statement(session, query, depth)
            pruned += bool(statement and statement[1]["frequent"])
            for k in shares:
                if exact:
                    shares[k].append(len(set(exact[:k]) & set(found[:k])) / len(exact[:k]))
    return {
        "postings_budget": BM25_POSTINGS_BUDGET,
        "queries_past_budget": pruned,
        **{f"overlap@{k}": round(float(np.mean(shares[k])), 4) for k in shares},
    }


def explain(session: Any, statement: Any, parameters: dict[str, Any] | None = None) -> str:
    """``EXPLAIN (ANALYZE, BUFFERS)`` of a SQL text or a SQLAlchemy statement (bound inline)."""
    if isinstance(statement, str):
        result = session.execute(sa.text(f"EXPLAIN (ANALYZE, BUFFERS) {statement}"), parameters)
    else:
        inline = statement.compile(
            dialect=session.get_bind().dialect, compile_kwargs={"literal_binds": True}
        )
        result = session.connection().exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {inline}")
    plan = "\n".join(row[0] for row in result)
    return re.sub(r"'\[[^\]]*\]'", "'[...]'", plan)  # without the vector


def profile(
    kit: RagKit, organization: str, queries: Sequence[str], vectors: Sequence[list[float]]
) -> dict[str, Any]:
    """Hybrid retrieval step by step (as ``kit.retrieve`` runs it), in milliseconds."""
    depth = max(TOP_K, kit.settings.candidate_k)
    steps: dict[str, list[float]] = {"dense": [], "bm25": [], "fuse": [], "load_chunks": []}
    slowest = (-1.0, 0)
    lexical = BM25(kit.corpus, organization)
    with kit.database.sessions() as session:
        rows = kit.stores.row_model(active_index(session, organization))
        size, _ = kit.corpus.get(session, organization)
        for number, (query, vector) in enumerate(zip(queries, vectors)):
            clock = time.perf_counter()
            dense = nearest_chunks(
                session, rows, vector, organization, depth, organization_chunks=size
            )
            steps["dense"].append(time.perf_counter() - clock)
            clock = time.perf_counter()
            text = lexical.search(session, query, depth)
            steps["bm25"].append(time.perf_counter() - clock)
            slowest = max(slowest, (steps["bm25"][-1], number))
            clock = time.perf_counter()
            ranked = fuse(dense, text, kit.settings.dense_weight)
            steps["fuse"].append(time.perf_counter() - clock)
            clock = time.perf_counter()
            load_chunks(session, ranked[:TOP_K], dense, text)
            steps["load_chunks"].append(time.perf_counter() - clock)
        number = slowest[1]
        exact = exact_search_pays(size, ())
        dense_query = nearest_query(rows, vectors[number], organization, depth, exact=exact)
        bm25 = lexical.statement(session, queries[number], depth)
        plans = {
            "query": queries[number],
            "dense": explain(session, dense_query),
            "bm25": explain(session, *bm25) if bm25 else "no query terms",
        }
    return {
        "steps": {name: latency_summary(seconds) for name, seconds in steps.items()},
        "slowest_bm25_plans": plans,
    }


def measure(
    kit: RagKit,
    organization: str,
    queries: Sequence[str],
    vectors: Sequence[list[float]],
    profile_queries: int,
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
    measured["bm25_vs_exact"] = bm25_agreement(kit, organization, queries)
    measured["profile"] = profile(
        kit, organization, queries[:profile_queries], vectors[:profile_queries]
    )
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
            [mode, embedded["p50_ms"], embedded["p95_ms"], embedded["p99_ms"]]
            + ([bare["p50_ms"], bare["p95_ms"], bare["p99_ms"]] if bare else ["-"] * 3)
        )
    hnsw = level["hnsw"]
    print(
        f"\n{name}: {level['chunks']} chunks, vectors: {level['vectors']}; "
        f"built in {level['build_seconds']} s (+ {level['vacuum_seconds']} s VACUUM ANALYZE)\n"
        f"HNSW ef_search={hnsw['ef_search']} "
        f"recall@10={hnsw['recall@10']} recall@100={hnsw['recall@100']}; BM25 vs exact BM25: "
        f"{level['bm25_vs_exact']}"
    )
    print_table(
        ["mode", "p50 ms", "p95 ms", "p99 ms", "p50 (no emb)", "p95 (no emb)", "p99 (no emb)"],
        rows,
    )
    steps = level["profile"]["steps"]
    print("hybrid steps (embedding precomputed):")
    print_table(
        ["step", "p50 ms", "p95 ms", "p99 ms"],
        [[step, s["p50_ms"], s["p95_ms"], s["p99_ms"]] for step, s in steps.items()],
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
        levels["real"] = build_real(kit, arguments)
        levels["real"] |= measure(kit, REAL, queries, vectors, arguments.profile_queries)
        print_level("real", levels["real"])
        if arguments.large_chunks:
            levels["large"] = build_large(kit, arguments)
            levels["large"] |= measure(kit, LARGE, queries, vectors, arguments.profile_queries)
            print_level("large", levels["large"])
    results = {
        "queries": len(queries),
        "top_k": TOP_K,
        "candidate_k": kit.settings.candidate_k,
        "backend": arguments.backend,
        "query_embedding_alone": embedding_latency,
        "levels": levels,
        "goal": {"hybrid_p95_ms_at_100k": 50, "recall_at_10": 0.95},
    }
    run.finish(results, arguments.output)
    return results


if __name__ == "__main__":
    main()
