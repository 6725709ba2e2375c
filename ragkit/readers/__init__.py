"""Files to LlamaIndex ``Document``s: one per page (PDF) or per section (Markdown, HTML, DOCX).

Each returned document carries ``page_number`` and ``section_title`` metadata; the chunker
turns them into chunks that keep both. One module per format family; ``registry`` says which
reader reads which content type and reads a file as fingerprinted units. To add a format, write
a :class:`BoundedReader` and register it in ``READERS`` (and its content type in
``content_types``).
"""

from ragkit.readers.base import BoundedReader, Sections, unit_document
from ragkit.readers.content_types import (
    BINARY_EXTENSIONS,
    CSV,
    DOCX,
    HTML,
    HTML_START,
    MARKDOWN,
    PDF,
    SUPPORTED_EXTENSIONS,
    SUPPORTED_TYPES,
    TEXT,
    TEXT_EXTENSIONS,
    decode_text,
    detect_content_type,
)
from ragkit.readers.html import SectionedHTMLReader, html_to_documents
from ragkit.readers.pdf import PagedPDFReader, PDFPages
from ragkit.readers.registry import READERS, Unit, extract_title, read_file, read_units
from ragkit.readers.text import (
    MARKDOWN_HEADING,
    PlainTextReader,
    RowsCSVReader,
    SectionedMarkdownReader,
    markdown_to_documents,
)
from ragkit.readers.word import SectionedDocxReader

__all__ = [
    "BINARY_EXTENSIONS",
    "CSV",
    "DOCX",
    "HTML",
    "HTML_START",
    "MARKDOWN",
    "MARKDOWN_HEADING",
    "PDF",
    "READERS",
    "SUPPORTED_EXTENSIONS",
    "SUPPORTED_TYPES",
    "TEXT",
    "TEXT_EXTENSIONS",
    "BoundedReader",
    "PDFPages",
    "PagedPDFReader",
    "PlainTextReader",
    "RowsCSVReader",
    "SectionedDocxReader",
    "SectionedHTMLReader",
    "SectionedMarkdownReader",
    "Sections",
    "Unit",
    "decode_text",
    "detect_content_type",
    "extract_title",
    "html_to_documents",
    "markdown_to_documents",
    "read_file",
    "read_units",
    "unit_document",
]
