"""Follow-up questions on the example documents: cited document and expected phrase per turn.

Asks every dialogue of ``tests/data/followups.jsonl`` (two- and three-turn conversations over
``examples/docs``) turn by turn in one conversation, and reports how often a turn's answer cites
the expected document and contains the expected phrase, for first turns and for follow-ups.

    python -m benchmarks.followups [--output benchmarks/results/followups.json]

The in-conversation robustness figure on public data comes from ``ragkit eval --dataset
/work/shared/data/squad-test --conversations``.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.common import Run, add_common_arguments, print_table, temporary_kit
from ragkit import RagKit, Turn

ROOT = Path(__file__).resolve().parent.parent
DIALOGUES = ROOT / "tests" / "data" / "followups.jsonl"
EXAMPLES = ROOT / "examples" / "docs"


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser, "followups")
    parser.add_argument("--dialogues", type=Path, default=DIALOGUES)
    return parser.parse_args(argv)


def ask_dialogue(kit: RagKit, dialogue: dict[str, Any]) -> list[dict[str, Any]]:
    history: list[Turn] = []
    turns = []
    for position, turn in enumerate(dialogue["turns"]):
        started = time.perf_counter()
        answer = kit.ask(turn["q"], "followups", history=history)
        sources = [citation.source.rsplit("/", 1)[-1] for citation in answer.citations]
        turns.append(
            {
                "dialogue": dialogue["id"],
                "turn": position,
                "question": turn["q"],
                "search_query": answer.search_query,
                "cited_right": turn["doc"] in sources,
                "contains_phrase": turn["contains"].lower() in answer.text.lower(),
                "answer": answer.text,
                "seconds": round(time.perf_counter() - started, 3),
            }
        )
        history += [Turn("user", turn["q"]), Turn("assistant", answer.text)]
    return turns


def rates(turns: list[dict[str, Any]]) -> dict[str, Any]:
    count = len(turns) or 1
    return {
        "turns": len(turns),
        "cited_right": round(sum(turn["cited_right"] for turn in turns) / count, 4),
        "contains_phrase": round(sum(turn["contains_phrase"] for turn in turns) / count, 4),
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    arguments = parse_arguments(argv)
    run = Run("followups", arguments)
    dialogues = [json.loads(line) for line in arguments.dialogues.read_text().splitlines() if line]
    with temporary_kit(arguments) as kit:
        run.record_server(kit.database.engine)
        kit.ingest_path(EXAMPLES, organization="followups")
        turns = [turn for dialogue in dialogues for turn in ask_dialogue(kit, dialogue)]
    first = rates([turn for turn in turns if turn["turn"] == 0])
    follow_ups = rates([turn for turn in turns if turn["turn"] > 0])
    print_table(
        ["turns", "count", "cited right", "contains phrase"],
        [
            ["first", first["turns"], first["cited_right"], first["contains_phrase"]],
            [
                "follow-ups",
                follow_ups["turns"],
                follow_ups["cited_right"],
                follow_ups["contains_phrase"],
            ],
        ],
    )
    results = {
        "dialogues": len(dialogues),
        "first_turns": first,
        "follow_ups": follow_ups,
        "goal_follow_ups_cited_right": 0.9,
        "turns": turns,
    }
    run.finish(results, arguments.output)
    return results


if __name__ == "__main__":
    main()
