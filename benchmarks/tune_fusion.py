"""Tune hybrid fusion on a BEIR training split: fusion method, dense weight, list depth.

Each query's dense and BM25 lists are fetched once (at the largest depth), then every
combination is scored offline on the training judgements. Report test only with the chosen
settings (``ragkit eval --split test``): tuning never looks at the test split.

    python benchmarks/tune_fusion.py --dataset ../shared/data/scifact --split train
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from ragkit import RagKit, Settings
from ragkit.bm25 import BM25
from ragkit.dense import nearest_chunks
from ragkit.evaluate import ensure_indexed, load_dataset, namespace, score_run
from ragkit.fusion import Ranked, fuse
from ragkit.index import active_index

DEPTHS = (100, 300, 1000)
BM25_PARAMETERS = ((1.2, 0.75), (0.9, 0.4), (1.5, 0.75), (1.2, 0.9))
WEIGHTS = tuple(round(0.1 * step, 1) for step in range(11))


def rrf(dense: Ranked, text: Ranked, k: int = 60) -> Ranked:
    scores: dict[str, float] = {}
    for ranked in (dense, text):
        for rank, (chunk_id, _) in enumerate(ranked, start=1):
            scores[chunk_id] = scores.get(chunk_id, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda item: -item[1])


def documents(ranked: Ranked, source_of: dict[str, str], top_k: int = 100) -> list[str]:
    ranking: list[str] = []
    for chunk_id, _ in ranked:
        source = source_of[chunk_id]
        if source not in ranking:
            ranking.append(source)
            if len(ranking) == top_k:
                break
    return ranking


def fetch_lists(
    kit: RagKit, organization: str, queries: dict[str, str], depth: int
) -> tuple[dict[str, Ranked], dict[tuple[float, float], dict[str, Ranked]]]:
    """Each query's dense list, and its BM25 list for every (k1, b) tried."""
    dense: dict[str, Ranked] = {}
    lexical: dict[tuple[float, float], dict[str, Ranked]] = {p: {} for p in BM25_PARAMETERS}
    with kit.database.sessions() as session:
        rows = kit.stores.row_model(active_index(session, organization))
        model = kit.model_for(organization)
        for query_id, text in queries.items():
            embedding = model.embed_query(text)
            size, _ = kit.corpus.get(session, organization)
            dense[query_id] = nearest_chunks(
                session, rows, embedding, organization, depth, organization_chunks=size
            )
            for k1, b in BM25_PARAMETERS:
                bm25 = BM25(kit.corpus, organization, k1=k1, b=b)
                lexical[(k1, b)][query_id] = bm25.search(session, text, depth)
    return dense, lexical


def per_document(ranked: Ranked, source_of: dict[str, str]) -> Ranked:
    """A chunk list as a document list: each document scored by its best chunk."""
    best: dict[str, float] = {}
    for chunk_id, score in ranked:
        source = source_of[chunk_id]
        best[source] = max(best.get(source, score), score)
    return sorted(best.items(), key=lambda item: -item[1])


def source_map(kit: RagKit, organization: str) -> dict[str, str]:
    import sqlalchemy as sa

    from ragkit.schema import Chunk, Document

    with kit.database.sessions() as session:
        rows = session.execute(
            sa.select(Chunk.id, Document.source)
            .join(Document, Document.id == Chunk.document_id)
            .where(Chunk.organization_id == organization)
        )
        return {str(chunk_id): source for chunk_id, source in rows}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--split", default="train")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/tune_fusion.json"))
    args = parser.parse_args()
    if args.split == "test":
        parser.error("tune on a training split, not test")
    dataset = load_dataset(args.dataset, args.split)
    kit = RagKit(Settings.from_env())
    organization = namespace(dataset, kit.settings)
    ensure_indexed(kit, organization, dataset)
    started = time.perf_counter()
    dense, lexical = fetch_lists(kit, organization, dataset.queries, max(DEPTHS))
    sources = source_map(kit, organization)
    identity = {source: source for source in set(sources.values())}
    results = []
    for (k1, b), text in lexical.items():
        for depth in DEPTHS:
            cut = {q: (dense[q][:depth], text[q][:depth]) for q in dense}
            shared = {"depth": depth, "k1": k1, "b": b}
            for weight in WEIGHTS:
                run = {q: documents(fuse(d, t, weight), sources) for q, (d, t) in cut.items()}
                results.append(
                    {
                        "fusion": "minmax",
                        "level": "chunk",
                        "dense_weight": weight,
                        **shared,
                        **score_run(dataset.qrels, run),
                    }
                )
                run = {
                    q: documents(
                        fuse(per_document(d, sources), per_document(t, sources), weight),
                        identity,
                    )
                    for q, (d, t) in cut.items()
                }
                results.append(
                    {
                        "fusion": "minmax",
                        "level": "document",
                        "dense_weight": weight,
                        **shared,
                        **score_run(dataset.qrels, run),
                    }
                )
            run = {q: documents(rrf(d, t), sources) for q, (d, t) in cut.items()}
            results.append(
                {
                    "fusion": "rrf60",
                    "level": "chunk",
                    "dense_weight": None,
                    **shared,
                    **score_run(dataset.qrels, run),
                }
            )
    results.sort(key=lambda row: -row["ndcg@10"])
    for row in results[:15]:
        print(
            f"{row['fusion']:>7} {row['level']:>8} k1={row['k1']} b={row['b']} "
            f"depth={row['depth']:<5} w={row['dense_weight']!s:<5} "
            f"nDCG@10={row['ndcg@10']:.4f} R@100={row['recall@100']:.4f}"
        )
    report = {
        "dataset": dataset.name,
        "split": args.split,
        "queries": len(dataset.queries),
        "embed_model": kit.settings.embed_model,
        "embed_backend": kit.settings.embed_backend,
        "cores": os.cpu_count(),
        "seconds": round(time.perf_counter() - started, 1),
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
