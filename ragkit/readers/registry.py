"""Which reader reads which content type, and a file read as fingerprinted units.

``read_units`` gives a file's pages or sections with a fingerprint each, reading a PDF page's
text only when asked, so an edited file costs only its changed units.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from llama_index.core import Document as LlamaDocument

from ragkit.errors import DocumentReadError, UnsupportedFileType
from ragkit.limits import DocumentLimits, TextBudget
from ragkit.readers.base import BoundedReader, unit_document
from ragkit.readers.content_types import CSV, DOCX, HTML, MARKDOWN, PDF, TEXT
from ragkit.readers.html import SectionedHTMLReader, html_title
from ragkit.readers.pdf import PagedPDFReader, PDFPages, pdf_title
from ragkit.readers.text import (
    PlainTextReader,
    RowsCSVReader,
    SectionedMarkdownReader,
    markdown_title,
)
from ragkit.readers.word import SectionedDocxReader, docx_title

READERS: dict[str, Callable[[DocumentLimits], BoundedReader]] = {
    PDF: PagedPDFReader,
    DOCX: SectionedDocxReader,
    HTML: SectionedHTMLReader,
    MARKDOWN: SectionedMarkdownReader,
    CSV: RowsCSVReader,
    TEXT: PlainTextReader,
}


@dataclass
class Unit:
    """A page or section of a file, known by its fingerprint before its text is read.

    Equal fingerprints mean equal text and metadata, so equal chunks (a page's number is left
    out: the same page moved elsewhere in the file keeps its fingerprint).
    """

    fingerprint: str
    page_number: int | None
    section_title: str | None
    load: Callable[[], str]
    shown: str

    def read(self) -> LlamaDocument:
        """The unit's text (for a PDF page, extracted now).

        Raises:
            DocumentReadError: the text cannot be extracted.
        """
        with _read_errors(self.shown):
            return unit_document(self.load(), page=self.page_number, section=self.section_title)


def read_units(
    path: Path, content_type: str, name: str | None = None, limits: DocumentLimits | None = None
) -> list[Unit]:
    """The units of ``path`` in order, blank ones included, each with its fingerprint.

    A PDF's pages are fingerprinted from their page descriptions and extracted only when read
    (the text they add up to is held to the limit as they are); other types are read whole,
    and fingerprinted from each unit's text and section.

    Raises:
        UnsupportedFileType: no reader handles ``content_type``.
        DocumentTooLarge: the file exceeds one of ``limits`` (default: the library's).
        DocumentReadError: the file is corrupt or encrypted.
    """
    shown = Path(name).name if name else path.name
    limits = limits or DocumentLimits()
    if content_type not in READERS:
        raise UnsupportedFileType(f"{shown}: unsupported content type {content_type}")
    with _read_errors(shown):
        limits.check_file_size(path.stat().st_size)
        if content_type == PDF:
            pages = PDFPages(path.read_bytes())
            limits.check_pages(len(pages))
            budget = TextBudget(limits)
            return [
                Unit(pages.fingerprint(n), n + 1, None, _page_text(pages, n, budget), shown)
                for n in range(len(pages))
            ]
        documents = READERS[content_type](limits).load_data(path)
    return [
        Unit(
            _text_fingerprint(document.text, document.metadata.get("section_title")),
            document.metadata.get("page_number"),
            document.metadata.get("section_title"),
            _constant(document.text),
            shown,
        )
        for document in documents
    ]


def _page_text(pages: PDFPages, number: int, budget: TextBudget) -> Callable[[], str]:
    return lambda: budget.take(pages.text(number))


def _constant(text: str) -> Callable[[], str]:
    return lambda: text


def _text_fingerprint(text: str, section_title: str | None) -> str:
    return hashlib.sha256(json.dumps([section_title, text]).encode()).hexdigest()


@contextlib.contextmanager
def _read_errors(shown: str) -> Iterator[None]:
    try:
        yield
    except DocumentReadError as error:  # readers and limits say what is wrong, not with which file
        raise type(error)(f"{shown}: {error}") from error
    except (UnsupportedFileType, MemoryError):
        raise  # out of memory is the process's limit, not a fault of the file's format
    except Exception as error:  # parsers raise many unrelated types for corrupt input
        raise DocumentReadError(f"{shown}: could not be read ({_reason(error)})") from error


def read_file(
    path: Path, content_type: str, name: str | None = None, limits: DocumentLimits | None = None
) -> list[LlamaDocument]:
    """Read ``path`` with the reader for ``content_type``; its units that hold text.

    ``name`` is the file name errors mention (an upload's original name, not its storage name).

    Raises:
        UnsupportedFileType: no reader handles ``content_type``.
        DocumentTooLarge: the file exceeds one of ``limits`` (default: the library's).
        DocumentReadError: the file is corrupt, encrypted, or holds no text.
    """
    units = [unit.read() for unit in read_units(path, content_type, name, limits)]
    units = [unit for unit in units if unit.text.strip()]
    if not units:
        shown = Path(name).name if name else path.name
        raise DocumentReadError(f"{shown}: no text could be extracted")
    return units


def extract_title(path: Path, content_type: str) -> str | None:
    """The title a document gives itself (PDF/DOCX metadata, HTML ``<title>``, Markdown H1)."""
    try:
        title = _TITLE_READERS[content_type](path) if content_type in _TITLE_READERS else None
    except Exception:  # a title is a nicety: a file that hides it is still ingested
        return None
    title = " ".join((title or "").split())
    return title[:500] or None


_TITLE_READERS: dict[str, Callable[[Path], str | None]] = {
    PDF: pdf_title,
    DOCX: docx_title,
    HTML: html_title,
    MARKDOWN: markdown_title,
}


def _reason(error: Exception) -> str:
    cause = error
    while cause.__cause__ is not None or getattr(cause, "last_attempt", None) is not None:
        attempt = getattr(cause, "last_attempt", None)
        cause = attempt.exception() if attempt is not None else cause.__cause__  # type: ignore[assignment]
    return f"{type(cause).__name__}: {cause}" if str(cause) else type(cause).__name__
