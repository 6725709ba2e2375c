"""Text files in the encodings support documents come in, told apart from binary content.

UTF-8, UTF-16 and UTF-32 with a byte-order mark, UTF-16 without one (recognised by the zero
bytes of its Latin characters), and, when the bytes are not valid UTF-8, Windows-1252: the
Latin-1 superset older Western Windows and Mac files are written in.
"""

from __future__ import annotations

import codecs
import unicodedata

# Longest first: the UTF-32 little-endian mark starts with the UTF-16 one.
BYTE_ORDER_MARKS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
SAMPLE = 8192
# Whitespace controls that text holds; any other control character is a sign of binary data.
TEXT_CONTROLS = frozenset("\t\n\r\f\v\x1b")
MAX_CONTROL_SHARE = 0.01


def decode(data: bytes) -> str | None:
    """The text ``data`` holds, without a byte-order mark; None when it is not text."""
    encoding, start = detect_encoding(data)
    try:
        text = data[start:].decode(encoding)
    except UnicodeDecodeError:
        if encoding != "cp1252":
            return None
        text = data[start:].decode("latin-1")  # the five bytes cp1252 leaves undefined
    return text if looks_like_text(text[:SAMPLE]) else None


def detect_encoding(data: bytes) -> tuple[str, int]:
    """The encoding of ``data`` and the length of its byte-order mark."""
    for mark, encoding in BYTE_ORDER_MARKS:
        if data.startswith(mark):
            return encoding, len(mark)
    utf16 = _utf16_without_mark(data[:SAMPLE])
    if utf16 is not None:
        return utf16, 0
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "cp1252", 0
    return "utf-8", 0


def _utf16_without_mark(sample: bytes) -> str | None:
    """UTF-16 text of mostly Latin characters has a zero in every other byte, and only there."""
    pairs = len(sample) // 2
    if pairs < 2:
        return None
    zeros_even = sample[0 : pairs * 2 : 2].count(0)
    zeros_odd = sample[1 : pairs * 2 : 2].count(0)
    if zeros_odd > pairs * 0.3 and zeros_even < pairs * 0.02:
        return "utf-16-le"
    if zeros_even > pairs * 0.3 and zeros_odd < pairs * 0.02:
        return "utf-16-be"
    return None


def looks_like_text(text: str) -> bool:
    """No NUL and hardly any other control character."""
    if "\x00" in text:
        return False
    controls = sum(
        1 for char in text if char not in TEXT_CONTROLS and unicodedata.category(char) == "Cc"
    )
    return controls <= len(text) * MAX_CONTROL_SHARE
