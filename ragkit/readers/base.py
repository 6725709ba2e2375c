"""What every reader shares: the unit document it returns, its limits, and sections."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from llama_index.core import Document as LlamaDocument
from llama_index.core.readers.base import BaseReader

from ragkit.limits import DocumentLimits
from ragkit.readers.content_types import decode_text


def unit_document(text: str, page: int | None = None, section: str | None = None) -> LlamaDocument:
    """A page or section as LlamaIndex's ``Document``, with the metadata the chunker keeps."""
    return LlamaDocument(text=text, metadata={"page_number": page, "section_title": section})


class BoundedReader(BaseReader):
    """A reader that refuses a file beyond its limits (default: the library's defaults)."""

    def __init__(self, limits: DocumentLimits | None = None) -> None:
        self.limits = limits or DocumentLimits()

    def read_text(self, file: Path) -> str:
        """The file's text, decoded, refused beyond the text limit before it is parsed."""
        text = decode_text(Path(file).read_bytes())
        self.limits.check_text(len(text))
        return text


@dataclass
class Sections:
    """Accumulates text blocks under the most recent heading.

    A block is kept as its pieces, joined once at the end: a paragraph of a hundred thousand
    inline elements is not copied again for each of them.
    """

    parts: list[tuple[str | None, list[list[str]]]] = field(default_factory=lambda: [(None, [])])

    def start(self, title: str) -> None:
        self.parts.append((title, []))

    def add(self, text: str) -> None:
        self.parts[-1][1].append([text])

    def extend_last(self, text: str) -> bool:
        """Append to the current block; False when the section has no block yet."""
        blocks = self.parts[-1][1]
        if blocks:
            blocks[-1].append(text)
        return bool(blocks)

    def documents(self, separator: str = "\n\n") -> list[LlamaDocument]:
        sections = [
            (title, [" ".join(pieces) for pieces in blocks]) for title, blocks in self.parts
        ]
        return [
            unit_document(separator.join(blocks), section=title)
            for title, blocks in sections
            if any(block.strip() for block in blocks)
        ]
