"""Re-ingest after editing one paragraph of a 100-page PDF: only changed chunks are re-embedded.

The PDF has one SciFact abstract per page (title as a heading, the abstract in paragraphs of a
few sentences), built with reportlab. It is ingested once, then one paragraph of the middle page
is changed, the PDF rebuilt under the same path and ingested again, then ingested a third time
unchanged. Every embedding call is counted, and the time of each pipeline phase recorded:
``read_units`` (opening the file; for a PDF, fingerprinting every page), ``text`` (extracting a
page's text, counted per page), ``split`` (both, and splitting the changed units),
``previous_vectors``, ``embed`` and ``replace`` (the database writes).
Goal: the second ingest takes at most 5% of the first.

    python -m benchmarks.reingest [--pages 100] [--backend torch]
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (
    SCIFACT,
    PhaseTimer,
    Run,
    add_common_arguments,
    print_table,
    scifact_corpus,
    temporary_kit,
    time_ingest_stages,
)
from ragkit import RagKit, Settings
from ragkit.ingest import prepare as prepare_module
from ragkit.readers import PDFPages
from ragkit.settings import EMBED_BACKENDS as BACKENDS

GOAL_PERCENT = 5.0
# Abstracts longer than this would spill onto a second page.
MAX_WORDS_PER_PAGE = 330
SENTENCES_PER_PARAGRAPH = 3
EDIT = " This sentence was added when the paragraph was revised."

PHASES = ("read_units", "text", "split", "embed", "replace")
Page = tuple[str, list[str]]


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", type=Path, default=SCIFACT, help="a BEIR corpus folder")
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--backend", choices=BACKENDS, default=Settings().embed_backend)
    add_common_arguments(parser, "reingest")
    return parser.parse_args(argv)


def pages_from(dataset: Path, count: int) -> list[Page]:
    """One abstract per page, in paragraphs, skipping abstracts too long for a page."""
    pages: list[Page] = []
    for _, title, text in scifact_corpus(dataset):
        if len(text.split()) > MAX_WORDS_PER_PAGE or len(text.split()) < 80:
            continue
        sentences = re.split(r"(?<=[.!?])\s+", text.strip())
        paragraphs = [
            " ".join(sentences[start : start + SENTENCES_PER_PARAGRAPH])
            for start in range(0, len(sentences), SENTENCES_PER_PARAGRAPH)
        ]
        pages.append((title, paragraphs))
        if len(pages) == count:
            break
    return pages


def write_pdf(pages: Sequence[Page], path: Path) -> int:
    """Build the PDF (one page per entry) and return its page count."""
    from pypdf import PdfReader
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate

    styles = getSampleStyleSheet()
    story: list[Any] = []
    for number, (title, paragraphs) in enumerate(pages, start=1):
        story.append(Paragraph(_escape(f"{number}. {title}"), styles["Heading2"]))
        story.extend(Paragraph(_escape(text), styles["BodyText"]) for text in paragraphs)
        story.append(PageBreak())
    SimpleDocTemplate(str(path), pagesize=A4, title="Research digest").build(story[:-1])
    return len(PdfReader(str(path)).pages)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def edited(pages: Sequence[Page]) -> list[Page]:
    """The same pages with one paragraph of the middle page changed."""
    changed = list(pages)
    title, paragraphs = changed[len(changed) // 2]
    changed[len(changed) // 2] = (title, [paragraphs[0] + EDIT, *paragraphs[1:]])
    return changed


def count_embeddings(kit: RagKit) -> list[int]:
    """Record how many texts every embedding call of this run receives."""
    model = kit.model
    calls: list[int] = []
    original = model.embed_texts

    def embed_texts(texts: Sequence[str]) -> list[list[float]]:
        calls.append(len(texts))
        return original(texts)

    model.embed_texts = embed_texts  # type: ignore[method-assign]
    return calls


def timed_ingest(kit: RagKit, path: Path, calls: list[int], phases: PhaseTimer) -> dict[str, Any]:
    calls.clear()
    phases.reset()
    started = time.perf_counter()
    result = kit.ingest_file(path)
    seconds = time.perf_counter() - started
    if result.outcome == "failed":
        raise SystemExit(f"ingest failed: {result.error}")
    return {
        "outcome": result.outcome,
        "seconds": round(seconds, 3),
        "chunks": result.chunks_added,
        "chunks_embedded": sum(calls),
        "pages_extracted": phases.calls.get("text", 0),
        "phases_s": phases.summary(),
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    arguments = parse_arguments(argv)
    run = Run("reingest", arguments)
    pages = pages_from(arguments.dataset, arguments.pages)
    with tempfile.TemporaryDirectory(prefix="ragkit-bench-") as scratch:
        path = Path(scratch) / "research-digest.pdf"
        page_count = write_pdf(pages, path)
        with temporary_kit(arguments, embed_backend=arguments.backend) as kit:
            run.record_server(kit.database.engine)
            kit.model.embed_texts(["warm-up passage", "another one"])
            calls = count_embeddings(kit)
            phases = PhaseTimer()
            time_ingest_stages(phases, kit)
            phases.wrap(prepare_module, "read_units")  # inside split
            phases.wrap(PDFPages, "text")  # inside split
            first = timed_ingest(kit, path, calls, phases)
            write_pdf(edited(pages), path)
            second = timed_ingest(kit, path, calls, phases)
            unchanged = timed_ingest(kit, path, calls, phases)
    percent = 100.0 * second["seconds"] / first["seconds"]
    runs = {"first": first, "after_edit": second, "unchanged": unchanged}
    print_table(
        [
            "ingest",
            "outcome",
            "seconds",
            "chunks",
            "embedded",
            "pages read",
            "scan",
            "extract",
            "chunk",
            "embed",
            "store",
        ],
        [
            [
                name,
                row["outcome"],
                row["seconds"],
                row["chunks"],
                row["chunks_embedded"],
                row["pages_extracted"],
                *(row["phases_s"].get(phase, 0.0) for phase in PHASES),
            ]
            for name, row in runs.items()
        ],
    )
    print(f"{page_count} pages; re-ingest after one edit: {percent:.1f}% of the first ingest")
    results = {
        "pages": page_count,
        "backend": arguments.backend,
        "runs": runs,
        "second_as_percent_of_first": round(percent, 2),
        "goal_percent": GOAL_PERCENT,
    }
    run.finish(results, arguments.output)
    return results


if __name__ == "__main__":
    main()
