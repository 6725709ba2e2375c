"""Content types: the supported ones, and which one a file is, decided by its bytes."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

from ragkit import charsets
from ragkit.errors import DocumentReadError, UnsupportedFileType

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
