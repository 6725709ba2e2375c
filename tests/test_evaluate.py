"""Retrieval metrics, checked on hand-worked examples, and the BEIR loader."""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import pytest

from ragkit.evaluate import (
    load_dataset,
    mrr_at,
    ndcg_at,
    percentile,
    recall_at,
    score_run,
)


def test_ndcg_on_a_hand_worked_example() -> None:
    # Relevant: d1 (gain 2) and d3 (gain 1). Ranking puts d3 first, d1 third.
    # DCG = 1/log2(2) + 2/log2(4) = 1 + 1 = 2; IDCG = 2/log2(2) + 1/log2(3) = 2.6309
    value = ndcg_at(["d3", "d2", "d1"], {"d1": 2, "d3": 1}, 10)
    assert value == pytest.approx(2 / (2 + 1 / math.log2(3)))


def test_ndcg_is_one_for_the_ideal_ranking_and_zero_without_hits() -> None:
    assert ndcg_at(["a", "b"], {"a": 1, "b": 1}, 10) == pytest.approx(1.0)
    assert ndcg_at(["x", "y"], {"a": 1}, 10) == 0.0
    assert ndcg_at(["x"] * 10 + ["a"], {"a": 1}, 10) == 0.0


def test_recall_and_mrr_on_a_hand_worked_example() -> None:
    ranking = ["x", "a", "y", "b"]
    judged = {"a": 1, "b": 1, "c": 1, "n": 0}
    assert recall_at(ranking, judged, 2) == pytest.approx(1 / 3)
    assert recall_at(ranking, judged, 100) == pytest.approx(2 / 3)
    assert mrr_at(ranking, judged, 10) == pytest.approx(0.5)
    assert mrr_at(ranking, judged, 1) == 0.0


def test_mean_scores_count_queries_without_results_as_zero() -> None:
    qrels = {"q1": {"a": 1}, "q2": {"b": 1}}
    scores = score_run(qrels, {"q1": ["a"]})
    assert scores["ndcg@10"] == pytest.approx(0.5)
    assert scores["mrr@10"] == pytest.approx(0.5)


def test_percentile_interpolates_like_numpy() -> None:
    assert percentile([1, 2, 3, 4], 0.5) == pytest.approx(2.5)
    assert percentile([10.0], 0.95) == 10.0


def test_a_beir_folder_is_loaded_with_only_judged_queries(tmp_path: Path) -> None:
    with gzip.open(tmp_path / "corpus.jsonl.gz", "wt") as corpus:
        for doc_id in ("1", "2"):
            corpus.write(json.dumps({"_id": doc_id, "title": "T", "text": f"text {doc_id}"}) + "\n")
    (tmp_path / "queries.jsonl").write_text(
        json.dumps({"_id": "q1", "text": "first"})
        + "\n"
        + json.dumps({"_id": "q2", "text": "unjudged"})
        + "\n"
    )
    (tmp_path / "qrels").mkdir()
    (tmp_path / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\t2\t1\n")
    dataset = load_dataset(tmp_path, "test")
    assert dataset.queries == {"q1": "first"}
    assert dataset.qrels == {"q1": {"2": 1}}
    assert dataset.corpus["1"] == ("T", "text 1")


def test_ragkit_eval_indexes_a_corpus_once_and_reports_every_metric(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    settings: object,
    kit: object,
) -> None:
    import sqlalchemy as sa

    from ragkit.cli import main
    from ragkit.schema import Document

    corpus = {
        "d1": ("Password reset", "Reset links expire after thirty minutes."),
        "d2": ("Sync conflicts", "Error E-1042 appears when two devices edit one note offline."),
        "d3": ("Refunds", "Annual plans can be refunded within fourteen days."),
        "d4": ("Exports", "Exports arrive as a zip archive of Markdown files."),
    }
    with (tmp_path / "corpus.jsonl").open("w") as lines:
        for doc_id, (title, text) in corpus.items():
            lines.write(json.dumps({"_id": doc_id, "title": title, "text": text}) + "\n")
    queries = {
        "q1": "how long is a reset link valid",
        "q2": "what is E-1042",
        "q3": "refund window for annual plans",
    }
    (tmp_path / "queries.jsonl").write_text(
        "".join(json.dumps({"_id": q, "text": t}) + "\n" for q, t in queries.items())
    )
    (tmp_path / "qrels").mkdir()
    (tmp_path / "qrels" / "test.tsv").write_text("q\tc\ts\nq1\td1\t1\nq2\td2\t1\nq3\td3\t1\n")
    monkeypatch.setenv("DATABASE_URL", settings.database_url)  # type: ignore[attr-defined]
    for mode in ("hybrid", "text"):
        assert main(["eval", "--dataset", str(tmp_path), "--mode", mode, "--json"]) == 0
        result = json.loads(capsys.readouterr().out)
        assert {
            "ndcg@10",
            "recall@10",
            "recall@100",
            "mrr@10",
            "latency_ms_p50",
            "latency_ms_p95",
        } <= set(result)
        assert result["queries"] == 3 and result["corpus"] == 4
        assert result["ndcg@10"] == pytest.approx(1.0)
    with kit.database.sessions() as session:  # type: ignore[attr-defined]
        sources = session.scalars(
            sa.select(Document.source).where(Document.organization_id.like("eval-%"))
        ).all()
    assert sorted(sources) == ["d1", "d2", "d3", "d4"]


def test_whole_documents_are_indexed_as_one_chunk_each_in_their_own_namespace(
    tmp_path: Path, settings: object, kit: object
) -> None:
    import sqlalchemy as sa

    from ragkit.evaluate import evaluate, load_dataset, namespace
    from ragkit.schema import Chunk

    long_text = " ".join(
        f"Step {number}: open the settings page and check option {number}." for number in range(60)
    )
    (tmp_path / "corpus.jsonl").write_text(
        json.dumps({"_id": "long", "title": "Setup guide", "text": long_text})
        + "\n"
        + json.dumps({"_id": "short", "title": "Refunds", "text": "Refunds take five days."})
        + "\n"
    )
    (tmp_path / "queries.jsonl").write_text(json.dumps({"_id": "q", "text": "refund time"}) + "\n")
    (tmp_path / "qrels").mkdir()
    (tmp_path / "qrels" / "test.tsv").write_text("q\tc\ts\nq\tshort\t1\n")
    dataset = load_dataset(tmp_path)
    counts = {}
    for whole in (False, True):
        result = evaluate(kit, dataset, "hybrid", whole_documents=whole)
        assert result["ndcg@10"] == pytest.approx(1.0)
        organization = namespace(dataset, kit.settings, whole_documents=whole)  # type: ignore[attr-defined]
        with kit.database.sessions() as session:  # type: ignore[attr-defined]
            counts[whole] = session.scalar(
                sa.select(sa.func.count()).where(Chunk.organization_id == organization)
            )
    assert counts[False] > 3  # the long guide is split into windows...
    assert counts[True] == 2  # ...or kept whole, in another namespace
