"""How much work one document may cause: its size, unpacked size, rows, pages and text.

A file beyond a limit is refused with :class:`~ragkit.errors.DocumentTooLarge`, whose message
names the limit and the environment variable that raises it, before it is parsed further: a
zip bomb, a million-row CSV or a 50 MB line of text ends as one failed document, not as a
process that runs out of memory.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass

from ragkit.errors import DocumentTooLarge

MB = 1024 * 1024
# A small archive may compress well beyond any ratio; only a large one can hurt.
RATIO_CHECKED_ABOVE = MB


@dataclass(frozen=True)
class DocumentLimits:
    """The limits one document is read within (see :class:`~ragkit.Settings` for each)."""

    file_size: int = 100 * MB
    unpacked_size: int = 200 * MB
    compression_ratio: float = 100.0
    rows: int = 200_000
    pages: int = 2_000
    text_chars: int = 2_000_000

    def check_file_size(self, size: int) -> None:
        if size > self.file_size:
            raise DocumentTooLarge(
                f"the file is {megabytes(size)}, larger than {megabytes(self.file_size)} "
                "(RAGKIT_MAX_FILE_SIZE)"
            )

    def check_archive(self, archive: zipfile.ZipFile, packed_size: int) -> None:
        """Refuse an archive that would unpack to too much, before anything is unpacked.

        The sizes come from the archive's directory; Python's ``zipfile`` stops reading a
        member at its declared size, so a member cannot unpack to more than it claims.
        """
        unpacked = sum(member.file_size for member in archive.infolist())
        if unpacked > self.unpacked_size:
            raise DocumentTooLarge(
                f"the file unpacks to {megabytes(unpacked)}, more than "
                f"{megabytes(self.unpacked_size)} (RAGKIT_MAX_UNPACKED_SIZE)"
            )
        ratio = unpacked / max(packed_size, 1)
        if unpacked > RATIO_CHECKED_ABOVE and ratio > self.compression_ratio:
            raise DocumentTooLarge(
                f"the file unpacks to {ratio:,.0f} times its size, more than "
                f"{self.compression_ratio:,.0f} (RAGKIT_MAX_COMPRESSION_RATIO)"
            )

    def check_rows(self, rows: int) -> None:
        if rows > self.rows:
            raise DocumentTooLarge(f"the file has more than {self.rows:,} rows (RAGKIT_MAX_ROWS)")

    def check_pages(self, pages: int) -> None:
        if pages > self.pages:
            raise DocumentTooLarge(
                f"the file has {pages:,} pages, more than {self.pages:,} (RAGKIT_MAX_PAGES)"
            )

    def check_text(self, chars: int) -> None:
        if chars > self.text_chars:
            raise DocumentTooLarge(
                f"the file holds more than {self.text_chars:,} characters of text "
                "(RAGKIT_MAX_TEXT_CHARS)"
            )


class TextBudget:
    """The characters a document's units may still add, for text read one unit at a time."""

    def __init__(self, limits: DocumentLimits) -> None:
        self.limits = limits
        self.used = 0

    def take(self, text: str) -> str:
        self.used += len(text)
        self.limits.check_text(self.used)
        return text


def megabytes(size: int) -> str:
    if size < MB:
        return f"{size / 1024:,.0f} KB"
    return f"{size / MB:,.1f} MB".replace(".0 MB", " MB")


SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*", re.IGNORECASE)
UNITS = {"": 1, "k": 1024, "m": MB, "g": 1024 * MB, "t": 1024 * 1024 * MB}


def parse_size(raw: str) -> int:
    """Bytes from ``"104857600"``, ``"100MB"``, ``"100 MiB"``, ``"2G"`` (binary multiples).

    Raises:
        ValueError: not a size.
    """
    match = SIZE.fullmatch(raw)
    if match is None:
        raise ValueError("use a number of bytes, or one with KB, MB or GB")
    return int(float(match.group(1)) * UNITS[match.group(2).lower()])
