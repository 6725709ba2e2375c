"""PDF: one unit per page, fingerprinted from the page description without extracting text."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

from llama_index.core import Document as LlamaDocument

from ragkit.limits import TextBudget
from ragkit.readers.base import BoundedReader, unit_document


class PDFPages:
    """A PDF's pages: a fingerprint of each without text extraction, and its text on request.

    A page's fingerprint hashes its decoded content streams, rotation, media box and resources
    (fonts, images, forms) by value, not by object number, so the same page in a rebuilt PDF
    keeps its fingerprint. Each object is hashed once per file, however many pages share it.
    """

    def __init__(self, file: Path | bytes) -> None:
        from pypdf import PdfReader

        self._reader = PdfReader(io.BytesIO(file) if isinstance(file, bytes) else file)
        self._digests: dict[tuple[int, int], bytes] = {}

    def __len__(self) -> int:
        return len(self._reader.pages)

    def text(self, number: int) -> str:
        """The text of page ``number`` (0-based), as LlamaIndex's ``PDFReader`` extracts it."""
        return self._reader.pages[number].extract_text()

    def fingerprint(self, number: int) -> str:
        page = self._reader.pages[number]
        hasher = hashlib.sha256()
        contents = page.get("/Contents")
        streams = contents if isinstance(contents, list) else [contents]
        for stream in streams:
            if stream is not None:
                hasher.update(stream.get_object().get_data())
        for key in ("/Resources", "/Rotate", "/MediaBox"):
            if key in page:
                hasher.update(key.encode() + self._digest(page.raw_get(key)))
        return hasher.hexdigest()

    def _digest(self, value: Any) -> bytes:
        from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, StreamObject

        if isinstance(value, IndirectObject):
            key = (value.idnum, value.generation)
            if key not in self._digests:
                self._digests[key] = b"cycle"  # an object that refers back to itself
                self._digests[key] = self._digest(value.get_object())
            return self._digests[key]
        hasher = hashlib.sha256(type(value).__name__.encode())
        if isinstance(value, DictionaryObject):
            for key in sorted(value):
                if key != "/Parent":
                    hasher.update(str(key).encode() + self._digest(value.raw_get(key)))
            if isinstance(value, StreamObject):
                hasher.update(value._data)
        elif isinstance(value, ArrayObject):
            for item in value:
                hasher.update(self._digest(item))
        else:
            hasher.update(repr(value).encode())
        return hasher.digest()


class PagedPDFReader(BoundedReader):
    """PDF, one document per page, with 1-based page numbers."""

    def load_data(
        self, file: Path, extra_info: dict[str, Any] | None = None
    ) -> list[LlamaDocument]:
        pages = PDFPages(Path(file))
        self.limits.check_pages(len(pages))
        budget = TextBudget(self.limits)
        return [
            unit_document(budget.take(pages.text(number)), page=number + 1)
            for number in range(len(pages))
        ]


def pdf_title(path: Path) -> str | None:
    from pypdf import PdfReader

    metadata = PdfReader(path).metadata
    return metadata.title if metadata is not None else None
