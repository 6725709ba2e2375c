"""Text files: Markdown by heading, plain text whole, CSV as one paragraph per row."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

from llama_index.core import Document as LlamaDocument

from ragkit.markup import strip_markdown_html
from ragkit.readers.base import BoundedReader, Sections, unit_document
from ragkit.readers.content_types import decode_text

MARKDOWN_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


class SectionedMarkdownReader(BoundedReader):
    """Markdown, one document per heading (headings inside code fences are ignored)."""

    def load_data(
        self, file: Path, extra_info: dict[str, Any] | None = None
    ) -> list[LlamaDocument]:
        return markdown_to_documents(self.read_text(file))


def markdown_to_documents(text: str) -> list[LlamaDocument]:
    """Split Markdown into sections; each keeps its heading line and is titled by it.

    Raw HTML is reduced to its text and unsafe links to theirs first (see :mod:`ragkit.markup`).
    """
    sections = Sections()
    in_fence = False
    for line in strip_markdown_html(text).split("\n"):
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
        heading = None if in_fence else MARKDOWN_HEADING.match(line)
        if heading:
            sections.start(heading.group(2).strip())
        sections.add(line)
    return [
        unit_document(doc.text.strip("\n"), section=doc.metadata["section_title"])
        for doc in sections.documents(separator="\n")
    ]


class PlainTextReader(BoundedReader):
    """Plain text as one document."""

    def load_data(
        self, file: Path, extra_info: dict[str, Any] | None = None
    ) -> list[LlamaDocument]:
        return [unit_document(self.read_text(file))]


class RowsCSVReader(BoundedReader):
    """CSV, each row as a ``column: value`` paragraph so that rows stay whole in chunks.

    Rows are counted as they are parsed: a file with too many is refused at the first one over
    the limit. The paragraphs (longer than the file: every value is named) are then held to the
    text limit.
    """

    def load_data(
        self, file: Path, extra_info: dict[str, Any] | None = None
    ) -> list[LlamaDocument]:
        reader = csv.reader(io.StringIO(decode_text(Path(file).read_bytes())))
        rows = []
        for row in reader:
            if any(cell.strip() for cell in row):
                rows.append(row)
                self.limits.check_rows(len(rows) - 1)  # the header is not a row of data
        if not rows:
            return []
        header, *body = rows
        paragraphs = [
            "; ".join(f"{name.strip()}: {value.strip()}" for name, value in zip(header, row))
            for row in body
        ]
        text = "\n\n".join(paragraphs or [", ".join(header)])
        self.limits.check_text(len(text))
        return [unit_document(text)]


def markdown_title(path: Path) -> str | None:
    for line in strip_markdown_html(decode_text(path.read_bytes())).split("\n"):
        heading = MARKDOWN_HEADING.match(line)
        if heading and len(heading.group(1)) == 1:
            return heading.group(2)
    return None
