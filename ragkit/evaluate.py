"""Retrieval evaluation on BEIR-layout datasets: ``ragkit eval --dataset DIR``.

A dataset folder holds ``corpus.jsonl`` (or ``.jsonl.gz``), ``queries.jsonl`` and
``qrels/SPLIT.tsv``. The corpus is indexed once into its own organization (named after the
dataset and the settings that shape the index) and re-used by later runs.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import math
import statistics
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ragkit.errors import ConfigurationError
from ragkit.settings import RETRIEVAL_MODES, Settings

Qrels = dict[str, dict[str, int]]


@dataclass
class Dataset:
    """A BEIR dataset split, loaded in memory."""

    name: str
    corpus: dict[str, tuple[str, str]]  # id -> (title, text)
    queries: dict[str, str]
    qrels: Qrels


def add_eval_parser(commands: Any) -> None:
    parser = commands.add_parser("eval", help="measure retrieval quality on a BEIR dataset")
    parser.add_argument("--dataset", type=Path, required=True, metavar="DIR")
    parser.add_argument("--split", default="test")
    parser.add_argument("--mode", choices=RETRIEVAL_MODES, default=None)
    parser.add_argument("--top-k", type=int, default=100, dest="top_k")
    parser.add_argument("--limit", type=int, default=None, help="evaluate only N queries")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--conversations",
        action="store_true",
        help="also ask the dataset's conversations.jsonl sequences in one conversation each and "
        "compare hit@5 with the same questions asked alone",
    )
    parser.add_argument(
        "--whole-documents",
        action="store_true",
        help="one chunk per document, cut at the model's window (as published scores are "
        "measured) instead of ragkit's overlapping windows",
    )


def _open(path: Path) -> IO[str]:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    return path.open(encoding="utf-8")


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with _open(path) as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def load_dataset(folder: Path, split: str = "test") -> Dataset:
    """Read a BEIR folder; only queries that have judgements in ``split`` are kept."""
    corpus_path = next(
        (folder / name for name in ("corpus.jsonl", "corpus.jsonl.gz") if (folder / name).exists()),
        None,
    )
    qrels_path = folder / "qrels" / f"{split}.tsv"
    if corpus_path is None or not (folder / "queries.jsonl").exists() or not qrels_path.exists():
        raise ConfigurationError(
            f"{folder} is not a BEIR dataset: it needs corpus.jsonl[.gz], queries.jsonl "
            f"and qrels/{split}.tsv"
        )
    qrels: Qrels = {}
    with qrels_path.open(encoding="utf-8") as rows:
        for line in rows:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 3 or not parts[2].lstrip("-").isdigit():
                continue  # the header
            qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    queries = {
        str(row["_id"]): row["text"]
        for row in _jsonl(folder / "queries.jsonl")
        if str(row["_id"]) in qrels
    }
    corpus = {
        str(row["_id"]): (row.get("title") or "", row.get("text") or "")
        for row in _jsonl(corpus_path)
    }
    return Dataset(folder.resolve().name, corpus, queries, qrels)


def ndcg_at(ranking: Sequence[str], judged: Mapping[str, int], k: int) -> float:
    """Normalised discounted cumulative gain with linear gains (as trec_eval's ndcg_cut)."""
    dcg = sum(judged.get(doc, 0) / math.log2(rank + 2) for rank, doc in enumerate(ranking[:k]))
    ideal = sorted((gain for gain in judged.values() if gain > 0), reverse=True)[:k]
    idcg = sum(gain / math.log2(rank + 2) for rank, gain in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall_at(ranking: Sequence[str], judged: Mapping[str, int], k: int) -> float:
    relevant = {doc for doc, gain in judged.items() if gain > 0}
    if not relevant:
        return 0.0
    return len(relevant & set(ranking[:k])) / len(relevant)


def mrr_at(ranking: Sequence[str], judged: Mapping[str, int], k: int) -> float:
    for rank, doc in enumerate(ranking[:k], start=1):
        if judged.get(doc, 0) > 0:
            return 1.0 / rank
    return 0.0


def percentile(values: Sequence[float], fraction: float) -> float:
    """Linear-interpolated percentile (numpy's default)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def score_run(qrels: Qrels, run: Mapping[str, Sequence[str]]) -> dict[str, float]:
    """Mean metrics over the judged queries (a query with no results scores 0)."""
    metrics: dict[str, list[float]] = {
        "hit@1": [],
        "hit@5": [],
        "ndcg@10": [],
        "recall@10": [],
        "recall@100": [],
        "mrr@10": [],
    }
    for query_id, judged in qrels.items():
        ranking = run.get(query_id, [])
        metrics["hit@1"].append(float(recall_at(ranking, judged, 1) > 0))
        metrics["hit@5"].append(float(recall_at(ranking, judged, 5) > 0))
        metrics["ndcg@10"].append(ndcg_at(ranking, judged, 10))
        metrics["recall@10"].append(recall_at(ranking, judged, 10))
        metrics["recall@100"].append(recall_at(ranking, judged, 100))
        metrics["mrr@10"].append(mrr_at(ranking, judged, 10))
    return {name: statistics.fmean(values) if values else 0.0 for name, values in metrics.items()}


def namespace(dataset: Dataset, settings: Settings, *, whole_documents: bool = False) -> str:
    """The organization that holds this corpus indexed with these settings."""
    shape = f"{dataset.name}|{len(dataset.corpus)}|{settings.embed_model}|"
    shape += "whole" if whole_documents else settings.pipeline_signature
    from ragkit.embeddings import resolve_backend  # loads LlamaIndex: only when evaluating

    backend = resolve_backend(settings.embed_backend)
    if backend != "torch":  # the same model, but its vectors differ slightly
        shape += f"|{backend}"
    digest = hashlib.sha256(shape.encode()).hexdigest()[:10]
    return f"eval-{dataset.name[:40]}-{digest}"


def ensure_indexed(
    kit: Any, organization: str, dataset: Dataset, batch: int = 256, *, split: bool = True
) -> None:
    """Index the corpus into ``organization`` unless a complete index is already there."""
    import sqlalchemy as sa
    from tqdm import tqdm

    from ragkit.ingest import TextItem
    from ragkit.schema import Document

    with kit.database.sessions() as session:
        indexed = set(
            session.scalars(
                sa.select(Document.source).where(Document.organization_id == organization)
            )
        )
    todo = [doc_id for doc_id in dataset.corpus if doc_id not in indexed]
    with tqdm(
        total=len(dataset.corpus),
        initial=len(dataset.corpus) - len(todo),
        unit="doc",
        desc="indexing",
        file=sys.stderr,
        disable=None,
    ) as bar:
        for start in range(0, len(todo), batch):
            items = [
                TextItem(doc_id, *_title_and_text(*dataset.corpus[doc_id]))
                for doc_id in todo[start : start + batch]
            ]
            kit.pipeline.ingest_texts(organization, items, split=split)
            bar.update(len(items))


def _title_and_text(title: str, text: str) -> tuple[str, str]:
    return (title or text[:80]), (f"{title}\n{text}" if title else text)


def rank_documents(kit: Any, organization: str, query: str, top_k: int, mode: Any) -> list[str]:
    """Documents (by corpus id) in the order of their best chunk."""
    chunks = kit.retrieve(query, organization, top_k=top_k * 2, mode=mode)
    ranking: list[str] = []
    for chunk in chunks:
        if chunk.source not in ranking:
            ranking.append(chunk.source)
    return ranking[:top_k]


def evaluate(
    kit: Any,
    dataset: Dataset,
    mode: Any,
    top_k: int = 100,
    limit: int | None = None,
    split: str = "test",
    *,
    whole_documents: bool = False,
) -> dict[str, Any]:
    """Index (if needed) and run every query; return the metrics and latencies."""
    from tqdm import tqdm

    organization = namespace(dataset, kit.settings, whole_documents=whole_documents)
    ensure_indexed(kit, organization, dataset, split=not whole_documents)
    kit.retrieve("warm up", organization, top_k=top_k, mode=mode)
    queries = list(dataset.queries.items())[:limit]
    run: dict[str, list[str]] = {}
    latencies: list[float] = []
    for query_id, text in tqdm(
        queries, unit="query", desc=f"{mode} queries", file=sys.stderr, disable=None
    ):
        started = time.perf_counter()
        run[query_id] = rank_documents(kit, organization, text, top_k, mode)
        latencies.append((time.perf_counter() - started) * 1000)
    qrels = {query_id: dataset.qrels[query_id] for query_id, _ in queries}
    scores = score_run(qrels, run)
    from ragkit.embeddings import resolve_backend

    return {
        "dataset": dataset.name,
        "split": split,
        "mode": mode,
        "queries": len(queries),
        "corpus": len(dataset.corpus),
        "embed_model": kit.settings.embed_model,
        "embed_backend": resolve_backend(kit.settings.embed_backend),
        "chunking": "whole documents" if whole_documents else kit.settings.pipeline_signature,
        "hit@1": round(scores["hit@1"], 4),
        "hit@5": round(scores["hit@5"], 4),
        "ndcg@10": round(scores["ndcg@10"], 4),
        "recall@10": round(scores["recall@10"], 4),
        "recall@100": round(scores["recall@100"], 4),
        "mrr@10": round(scores["mrr@10"], 4),
        "latency_ms_p50": round(percentile(latencies, 0.5), 2),
        "latency_ms_p95": round(percentile(latencies, 0.95), 2),
    }


def run(settings: Settings, args: argparse.Namespace) -> int:
    from ragkit.kit import RagKit

    dataset = load_dataset(args.dataset, args.split)
    kit = RagKit(settings)
    mode = args.mode or settings.retrieval_mode
    result = evaluate(
        kit, dataset, mode, args.top_k, args.limit, args.split, whole_documents=args.whole_documents
    )
    if args.conversations:
        sequences = load_conversations(args.dataset / "conversations.jsonl", dataset)
        result["conversations"] = evaluate_conversations(kit, dataset, sequences[: args.limit])
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>16}: {value}")
    return 0


def load_conversations(path: Path, dataset: Dataset) -> list[list[str]]:
    """Sequences of query ids (``{"turns": [...]}`` per line) asked in one conversation each."""
    if not path.exists():
        raise ConfigurationError(f"{path} not found: --conversations needs conversations.jsonl")
    sequences = [[str(turn) for turn in row["turns"]] for row in _jsonl(path)]
    unknown = {turn for turns in sequences for turn in turns} - dataset.queries.keys()
    if unknown:
        raise ConfigurationError(f"{path} names unjudged queries, e.g. {sorted(unknown)[0]}")
    return sequences


def evaluate_conversations(
    kit: Any, dataset: Dataset, sequences: list[list[str]]
) -> dict[str, Any]:
    """Hit@5 of each question asked inside its conversation, against asked alone.

    Every question is answered (the answer joins the history, as in a chat), and its retrieved
    documents are compared with those of the same question in a fresh conversation.
    """
    from tqdm import tqdm

    from ragkit.answer import Turn

    organization = namespace(dataset, kit.settings)
    ensure_indexed(kit, organization, dataset)
    in_conversation: dict[str, list[str]] = {}
    alone: dict[str, list[str]] = {}
    changed = 0
    for turns in tqdm(sequences, unit="conversation", file=sys.stderr, disable=None):
        history: list[Turn] = []
        for position, query_id in enumerate(turns):
            question = dataset.queries[query_id]
            documents, answer = _ask_ranked(kit, organization, question, history)
            if position:
                in_conversation[query_id] = documents
                alone[query_id] = _ask_ranked(kit, organization, question, [])[0]
                changed += documents != alone[query_id]
            history += [Turn("user", question), Turn("assistant", answer)]
    qrels = {query_id: dataset.qrels[query_id] for query_id in in_conversation}
    together, apart = score_run(qrels, in_conversation), score_run(qrels, alone)
    return {
        "sequences": len(sequences),
        "questions_after_the_first": len(in_conversation),
        "hit@5_in_conversation": round(together["hit@5"], 4),
        "hit@5_alone": round(apart["hit@5"], 4),
        "hit@1_in_conversation": round(together["hit@1"], 4),
        "hit@1_alone": round(apart["hit@1"], 4),
        "rankings_changed": changed,
    }


def _ask_ranked(
    kit: Any, organization: str, question: str, history: Sequence[Any]
) -> tuple[list[str], str]:
    """The documents retrieved for a question in its conversation (top 10), and the answer."""
    from ragkit.answer import Retrieved, final_answer

    events = kit.stream(question, organization, history=history, top_k=10)
    retrieved = next(events)
    assert isinstance(retrieved, Retrieved)  # always the first event
    answer = final_answer(events).text
    ranking: list[str] = []
    for chunk in retrieved.chunks:
        if chunk.source not in ranking:
            ranking.append(chunk.source)
    return ranking, answer
