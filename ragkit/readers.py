"""Files to LlamaIndex ``Document``s: one per page (PDF) or per section (Markdown, HTML, DOCX).

Each returned document carries ``page_number`` and ``section_title`` metadata; the chunker
turns them into chunks that keep both. ``read_units`` gives the same units with a fingerprint
each, reading a PDF page's text only when asked, so an edited file costs only its changed units.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llama_index.core import Document as LlamaDocument
from llama_index.core.readers.base import BaseReader

from ragkit import charsets
from ragkit.errors import DocumentReadError, UnsupportedFileType
from ragkit.limits import DocumentLimits, TextBudget
from ragkit.markup import INVISIBLE_TAGS, strip_markdown_html

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
HTML = "text/html"
MARKDOWN = "text/markdown"
CSV = "text/csv"
TEXT = "text/plain"
SUPPORTED_TYPES = (PDF, DOCX, HTML, MARKDOWN, CSV, TEXT)
TEXT_EXTENSIONS = {
    ".html": HTML,
    ".htm": HTML,
    ".md": MARKDOWN,
    ".markdown": MARKDOWN,
    ".csv": CSV,
    ".txt": TEXT,
    ".text": TEXT,
    ".rst": TEXT,
}
BINARY_EXTENSIONS = {".pdf": PDF, ".docx": DOCX}
SUPPORTED_EXTENSIONS = frozenset(TEXT_EXTENSIONS) | frozenset(BINARY_EXTENSIONS)
# An HTML page saved under another name (.md, .txt) is read as HTML; a CSV is always a CSV.
HTML_START = re.compile(
    r"\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)[\s>]", re.IGNORECASE | re.DOTALL
)


def detect_content_type(data: bytes, filename: str) -> str:
    """The content type of a file, decided by its bytes; the extension only tells text types apart.

    Raises:
        UnsupportedFileType: the content is not a supported type, or contradicts the extension.
    """
    suffix = Path(filename).suffix.lower()
    sniffed = _sniff_binary(data)
    if sniffed is not None:
        if sniffed not in SUPPORTED_TYPES:
            raise UnsupportedFileType(
                f"{filename}: a {sniffed} archive is not a supported document"
            )
        if suffix in TEXT_EXTENSIONS:
            raise UnsupportedFileType(f"{filename} has a {suffix} name but holds {sniffed} data")
        return sniffed
    if suffix in BINARY_EXTENSIONS:
        raise UnsupportedFileType(
            f"{filename} is not a valid {suffix[1:].upper()} file (its content does not match)"
        )
    text = charsets.decode(data)
    if text is None:
        raise UnsupportedFileType(
            f"{filename}: unsupported file type (binary content); supported are PDF, DOCX, "
            "HTML, Markdown, plain text and CSV"
        )
    if suffix != ".csv" and HTML_START.match(text[:4096]):
        return HTML
    if suffix in TEXT_EXTENSIONS:
        return TEXT_EXTENSIONS[suffix]
    if suffix == "":
        return TEXT
    raise UnsupportedFileType(
        f"{filename}: unsupported file type {suffix!r}; supported extensions are "
        + ", ".join(sorted(SUPPORTED_EXTENSIONS))
    )


def _sniff_binary(data: bytes) -> str | None:
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                if "word/document.xml" in archive.namelist():
                    return DOCX
        except zipfile.BadZipFile:
            pass
        return "zip"
    return None


def decode_text(data: bytes) -> str:
    """The text of a file in any supported encoding, with Unix newlines.

    Raises:
        DocumentReadError: the bytes are not text.
    """
    text = charsets.decode(data)
    if text is None:
        raise DocumentReadError("the file holds binary content, not text")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _unit(text: str, page: int | None = None, section: str | None = None) -> LlamaDocument:
    return LlamaDocument(text=text, metadata={"page_number": page, "section_title": section})


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


class BoundedReader(BaseReader):
    """A reader that refuses a file beyond its limits (default: the library's defaults)."""

    def __init__(self, limits: DocumentLimits | None = None) -> None:
        self.limits = limits or DocumentLimits()

    def read_text(self, file: Path) -> str:
        """The file's text, decoded, refused beyond the text limit before it is parsed."""
        text = decode_text(Path(file).read_bytes())
        self.limits.check_text(len(text))
        return text


class PagedPDFReader(BoundedReader):
    """PDF, one document per page, with 1-based page numbers."""

    def load_data(
        self, file: Path, extra_info: dict[str, Any] | None = None
    ) -> list[LlamaDocument]:
        pages = PDFPages(Path(file))
        self.limits.check_pages(len(pages))
        budget = TextBudget(self.limits)
        return [
            _unit(budget.take(pages.text(number)), page=number + 1) for number in range(len(pages))
        ]


HEADING_STYLE = re.compile(r"^(heading \d|title)$", re.IGNORECASE)


class SectionedDocxReader(BoundedReader):
    """DOCX, one document per section: a paragraph in a Heading style starts a new one."""

    def load_data(
        self, file: Path, extra_info: dict[str, Any] | None = None
    ) -> list[LlamaDocument]:
        import docx

        with zipfile.ZipFile(file) as archive:
            self.limits.check_archive(archive, Path(file).stat().st_size)
        sections = _Sections()
        for block in _docx_blocks(docx.Document(str(file))):
            text, is_heading = block
            if is_heading:
                sections.start(text)
            sections.add(text)
        documents = sections.documents()
        self.limits.check_text(sum(len(document.text) for document in documents))
        return documents


def _docx_blocks(document: Any) -> list[tuple[str, bool]]:
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    blocks: list[tuple[str, bool]] = []
    for item in document.iter_inner_content():
        if isinstance(item, Paragraph):
            text = item.text.strip()
            style = item.style.name if item.style is not None else ""
            if text:
                blocks.append((text, bool(HEADING_STYLE.match(style or ""))))
        elif isinstance(item, Table):
            for row in item.rows:
                cells = [cell.text.strip() for cell in row.cells if cell.text.strip()]
                if cells:
                    blocks.append((" | ".join(dict.fromkeys(cells)), False))
    return blocks


@dataclass
class _Sections:
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
            _unit(separator.join(blocks), section=title)
            for title, blocks in sections
            if any(block.strip() for block in blocks)
        ]


HEADING_TAGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
BLOCK_TAGS = frozenset(
    {"p", "li", "dt", "dd", "pre", "blockquote", "td", "th", "tr", "div", "section", "article"}
    | {"caption", "figcaption", "main", "header", "footer", "aside", "table", "ul", "ol", "body"}
)


class SectionedHTMLReader(BoundedReader):
    """HTML, visible text only, one document per heading-delimited section.

    The markup may be longer than the text limit (inline styles, scripts, images); the text
    read from it may not.
    """

    def load_data(
        self, file: Path, extra_info: dict[str, Any] | None = None
    ) -> list[LlamaDocument]:
        documents = html_to_documents(decode_text(Path(file).read_bytes()))
        self.limits.check_text(sum(len(document.text) for document in documents))
        return documents


def html_to_documents(markup: str) -> list[LlamaDocument]:
    """Split HTML into sections of visible text, titled by their headings.

    Parsed by lxml: Python's own ``html.parser`` takes quadratic time on unfinished tags (60 KB
    of ``<a <a <a`` took a minute).
    """
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(markup, "lxml")
    for tag in soup.find_all(list(INVISIBLE_TAGS)):
        tag.decompose()
    for tag in soup.find_all(hidden=True):
        tag.decompose()
    sections = _Sections()
    last_block: Any = None
    for node, block in _visible_nodes(soup.body or soup):
        if block is node:  # a heading
            title = " ".join(node.get_text(" ").split())
            if title:
                sections.start(title)
                sections.add(title)
            last_block = node
            continue
        text = " ".join(str(node).split())
        if not text:
            continue
        if block is not last_block or not sections.extend_last(text):
            sections.add(text)
        last_block = block
    return sections.documents(separator="\n")


def _visible_nodes(root: Any) -> Iterator[tuple[Any, Any]]:
    """Headings (as ``(heading, heading)``) and text outside them, with their nearest block.

    In document order, walked with a stack: a page nested a hundred thousand tags deep costs
    no more than a flat one, and no recursion.
    """
    from bs4 import CData, NavigableString, Tag
    from bs4.element import PreformattedString

    stack: list[tuple[Any, Any]] = [(root, None)]
    while stack:
        node, block = stack.pop()
        if isinstance(node, Tag):
            if node.name in HEADING_TAGS:
                yield node, node
                continue  # its text is its title
            inner = node if node.name in BLOCK_TAGS else block
            stack.extend((child, inner) for child in reversed(node.contents))
        elif isinstance(node, NavigableString) and (
            not isinstance(node, PreformattedString) or isinstance(node, CData)
        ):
            yield node, block


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
    sections = _Sections()
    in_fence = False
    for line in strip_markdown_html(text).split("\n"):
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
        heading = None if in_fence else MARKDOWN_HEADING.match(line)
        if heading:
            sections.start(heading.group(2).strip())
        sections.add(line)
    return [
        _unit(doc.text.strip("\n"), section=doc.metadata["section_title"])
        for doc in sections.documents(separator="\n")
    ]


class PlainTextReader(BoundedReader):
    """Plain text as one document."""

    def load_data(
        self, file: Path, extra_info: dict[str, Any] | None = None
    ) -> list[LlamaDocument]:
        return [_unit(self.read_text(file))]


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
        return [_unit(text)]


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
            return _unit(self.load(), page=self.page_number, section=self.section_title)


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


def _pdf_title(path: Path) -> str | None:
    from pypdf import PdfReader

    metadata = PdfReader(path).metadata
    return metadata.title if metadata is not None else None


def _docx_title(path: Path) -> str | None:
    import docx

    return str(docx.Document(str(path)).core_properties.title or "") or None


def _html_title(path: Path) -> str | None:
    from bs4 import BeautifulSoup

    title = BeautifulSoup(decode_text(path.read_bytes()), "lxml").title
    return title.get_text() if title is not None else None


def _markdown_title(path: Path) -> str | None:
    for line in strip_markdown_html(decode_text(path.read_bytes())).split("\n"):
        heading = MARKDOWN_HEADING.match(line)
        if heading and len(heading.group(1)) == 1:
            return heading.group(2)
    return None


_TITLE_READERS: dict[str, Callable[[Path], str | None]] = {
    PDF: _pdf_title,
    DOCX: _docx_title,
    HTML: _html_title,
    MARKDOWN: _markdown_title,
}


def _reason(error: Exception) -> str:
    cause = error
    while cause.__cause__ is not None or getattr(cause, "last_attempt", None) is not None:
        attempt = getattr(cause, "last_attempt", None)
        cause = attempt.exception() if attempt is not None else cause.__cause__  # type: ignore[assignment]
    return f"{type(cause).__name__}: {cause}" if str(cause) else type(cause).__name__
