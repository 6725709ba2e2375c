"""Abstention on squad-test: does the answer abstain when the knowledge base lacks the answer?

Indexes squad-test's 570 paragraphs, then asks a seeded sample of its questions twice: with the
whole corpus, and with every paragraph but the question's own (the rest of its article stays,
so the knowledge base is still on topic). Reports how often the answerer abstains in each case:
with the paragraph missing it should (goal ≥ 0.5); with it present the abstentions it adds are
answers lost (goal ≤ 0.03). SQuAD 2.0 has unanswerable questions by design (about half), so the
"present" abstention rate is an upper bound on the answers really lost.

    python -m benchmarks.abstention [--questions 300] [--dataset /work/shared/data/squad-test]
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from benchmarks.common import Run, add_common_arguments, print_table, temporary_kit
from ragkit.evaluate import ensure_indexed, load_dataset
from ragkit.schema import Document

SQUAD = Path("/work/shared/data/squad-test")
ORGANIZATION = "squad-abstention"


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser, "abstention")
    parser.add_argument("--dataset", type=Path, default=SQUAD)
    parser.add_argument("--questions", type=int, default=300)
    parser.add_argument("--seed", type=int, default=13)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    arguments = parse_arguments(argv)
    run = Run("abstention", arguments)
    dataset = load_dataset(arguments.dataset)
    sample = random.Random(arguments.seed).sample(sorted(dataset.queries), arguments.questions)
    with temporary_kit(arguments) as kit:
        run.record_server(kit.database.engine)
        ensure_indexed(kit, ORGANIZATION, dataset)
        with kit.database.sessions() as session:
            rows = session.execute(
                sa.select(Document.source, Document.id).where(
                    Document.organization_id == ORGANIZATION
                )
            )
            documents = {source: document_id for source, document_id in rows}
        present = absent = 0
        started = time.perf_counter()
        for query_id in sample:
            question = dataset.queries[query_id]
            own = set(dataset.qrels[query_id])
            others = [document for source, document in documents.items() if source not in own]
            present += kit.ask(question, ORGANIZATION).abstained
            absent += kit.ask(question, ORGANIZATION, document_ids=others).abstained
        seconds = time.perf_counter() - started
    count = len(sample)
    results = {
        "dataset": dataset.name,
        "questions": count,
        "threshold": kit.settings.abstain_threshold,
        "abstained_paragraph_absent": round(absent / count, 4),
        "abstained_paragraph_present": round(present / count, 4),
        "goal_absent": 0.5,
        "goal_present": 0.03,
        "seconds": round(seconds, 1),
    }
    print_table(
        ["questions", "abstained, paragraph absent", "abstained, paragraph present"],
        [[count, results["abstained_paragraph_absent"], results["abstained_paragraph_present"]]],
    )
    run.finish(results, arguments.output)
    return results


if __name__ == "__main__":
    main()
