"""Retrieval and answers per language: the multilingual question set, English as the reference.

The help-center document of ``tests/data/multilingual`` in English, German, French and Spanish
(the same content), with the same questions asked in each language. Every language is measured
in its own organization (``separate``) and in one organization holding all four documents
(``mixed``, where only the section in the question's own language counts), in each retrieval
mode (dense only, BM25 only, hybrid): hit@1, hit@3 and MRR@10 of the expected section; and the
extractive answers (hybrid): answered, cited the expected section, contained the expected phrase.
``cross`` asks every language's questions of the English document alone (the English section
counts): what the English-trained embedding model does across languages.

    python -m benchmarks.multilingual [--output benchmarks/results/multilingual.json]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import Run, add_common_arguments, print_table, temporary_kit
from ragkit.language_eval import CROSS, LAYOUTS, LanguageEvaluation
from ragkit.settings import RETRIEVAL_MODES

QUESTION_SET = Path(__file__).resolve().parent.parent / "tests" / "data" / "multilingual"


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=Path, default=QUESTION_SET, help="a question set")
    parser.add_argument(
        "--no-language-detection",
        action="store_true",
        help="stem every chunk with RAGKIT_TEXT_SEARCH_CONFIG, as before languages were detected",
    )
    add_common_arguments(parser, "multilingual")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    arguments = parse_arguments(argv)
    run = Run("multilingual", arguments)
    with temporary_kit(arguments, detect_languages=not arguments.no_language_detection) as kit:
        run.record_server(kit.database.engine)
        evaluation = LanguageEvaluation(kit, arguments.questions, prefix="bench")
        results = evaluation.run()
        evaluation.ingest([CROSS])
        results[CROSS] = {"retrieval": {m: evaluation.retrieval(CROSS, m) for m in RETRIEVAL_MODES}}
    rows = []
    for layout in LAYOUTS:
        figures = results[layout]
        for language in sorted(figures["answers"], key=lambda code: (code != "en", code)):
            row: list[Any] = [layout, language]
            for mode in RETRIEVAL_MODES:
                scores = figures["retrieval"][mode][language]
                row += [scores["hit@1"], scores["hit@3"], scores["mrr@10"]]
            answers = figures["answers"][language]
            rows.append([*row, answers["answered"], answers["cited"], answers["contains"]])
    for language in sorted(
        results[CROSS]["retrieval"]["dense"], key=lambda code: (code != "en", code)
    ):
        row = [CROSS, language]
        for mode in RETRIEVAL_MODES:
            scores = results[CROSS]["retrieval"][mode][language]
            row += [scores["hit@1"], scores["hit@3"], scores["mrr@10"]]
        rows.append([*row, "", "", ""])
    headers = ["layout", "lang"]
    for mode in RETRIEVAL_MODES:
        headers += [f"{mode} h@1", "h@3", "mrr"]
    print_table([*headers, "answered", "cited", "phrase"], rows)
    run.finish(results, arguments.output)
    return results


if __name__ == "__main__":
    main()
