"""A corpus of hostile and unlucky files, generated: bombs, floods, corrupt and mislabelled files.

Each file is made at one of two scales. ``small`` files trip the low limits of
:data:`TEST_LIMITS` in a second or two, for the test suite; ``full`` files are the real thing
(a DOCX that inflates to 1 GiB, a million-row CSV, a 50 MB line of text) for the documented
manual run against the default limits (``benchmarks/hostile_files.py``)::

    python tests/hostile_corpus.py DIR [--scale small|full]

Every file says how it must end: ``ready``, or ``failed`` with a message that contains
``expect`` (the name of the limit it crosses, or what is wrong with it).
"""

from __future__ import annotations

import argparse
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ragkit.limits import DocumentLimits

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "docs"
MB = 1024 * 1024
SCALES = ("small", "full")

#: Limits low enough that the small files cross them.
TEST_LIMITS = DocumentLimits(
    file_size=2 * MB,
    unpacked_size=4 * MB,
    compression_ratio=50,
    rows=1_000,
    pages=50,
    text_chars=200_000,
)

HOSTILE_MARKDOWN = """# Resetting a password <img src=x onerror="alert('heading')">

Open **Settings** and choose *Reset password*.<script>fetch('/steal?c=' + document.cookie)</script>
The link in the e-mail is valid for 30 minutes.

<div class="note" onclick="alert('div')">
<p>Tip: <a href="javascript:alert('raw link')">check your spam folder</a> if it is late.</p>
<iframe src="javascript:alert('frame')"></iframe>
</div>

Still stuck? [Contact support](javascript:alert('markdown link')) or
[write to us](JaVaScRiPt:alert('mixed case')) or [call](java&#115;cript:alert('entity')).
![diagram](javascript:alert('image')) <javascript:alert('autolink')>

[ref-link]: javascript:alert('reference')

<style>body { display: none }</style>
<svg onload="alert('svg')"><text>vector</text></svg>
Support hours are 9:00 to 17:00 on weekdays.
<!-- <script>alert('comment')</script> -->
"""

HTML_PAGE = """<!DOCTYPE html>
<html><head><title>Billing help</title><script>alert('head')</script></head>
<body><h1>Invoices</h1>
<p onmouseover="alert('p')">Invoices are sent on the first day of each month.</p>
<script>document.write('<img src=x onerror=alert(1)>')</script>
<p><a href="javascript:alert('a')">Download all invoices</a> from the billing page.</p>
</body></html>
"""

LATIN_TEXT = (
    "Café opening hours: the support café in Zürich answers questions about façade "
    "permits and crème brûlée recipes from 9:00 to 17:00.\n"
)


@dataclass(frozen=True)
class HostileFile:
    """A generated file and how its processing must end."""

    path: Path
    outcome: str  # ready or failed
    expect: str  # a fragment of the failure message, or of the text when ready


Maker = Callable[[Path, str], HostileFile]


def zip_bomb_docx(folder: Path, scale: str) -> HostileFile:
    """A real DOCX whose document.xml inflates to 20 MB (small) or 1 GiB (full)."""
    size = 20 * MB if scale == "small" else 1024 * MB
    path = folder / "zip-bomb.docx"
    _docx_with_body(path, size)
    return HostileFile(path, "failed", "RAGKIT_MAX_UNPACKED_SIZE")


def dense_docx(folder: Path, scale: str) -> HostileFile:
    """A DOCX within the unpacked limit whose body inflates to a thousand times its size."""
    size = 3 * MB if scale == "small" else 150 * MB
    path = folder / "dense.docx"
    _docx_with_body(path, size)
    return HostileFile(path, "failed", "RAGKIT_MAX_COMPRESSION_RATIO")


def _docx_with_body(path: Path, size: int) -> None:
    """The example DOCX with its body replaced by ``size`` bytes of one repeated paragraph."""
    paragraph = b"<w:p><w:r><w:t>" + b"A" * 4000 + b"</w:t></w:r></w:p>"
    with (
        zipfile.ZipFile(EXAMPLES / "refund-policy.docx") as source,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target,
    ):
        for member in source.infolist():
            if member.filename != "word/document.xml":
                target.writestr(member, source.read(member))
        with target.open("word/document.xml", "w", force_zip64=True) as body:
            body.write(b'<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats')
            body.write(b'.org/wordprocessingml/2006/main"><w:body>')
            for _ in range(size // len(paragraph)):
                body.write(paragraph)
            body.write(b"</w:body></w:document>")


def million_rows_csv(folder: Path, scale: str) -> HostileFile:
    rows = 5_000 if scale == "small" else 1_000_000
    path = folder / "million-rows.csv"
    with path.open("w") as handle:
        handle.write("id,plan,seats\n")
        for n in range(rows):
            handle.write(f"{n},team,{n % 50}\n")
    return HostileFile(path, "failed", "RAGKIT_MAX_ROWS")


def one_line_text(folder: Path, scale: str) -> HostileFile:
    """Words without a single line break or full stop."""
    size = 300_000 if scale == "small" else 50 * MB
    path = folder / "one-line.txt"
    words = b"sync proxy region error ticket restart client "
    with path.open("wb") as handle:
        for _ in range(size // len(words)):
            handle.write(words)
    return HostileFile(path, "failed", "RAGKIT_MAX_TEXT_CHARS")


def oversized_text(folder: Path, scale: str) -> HostileFile:
    size = 3 * MB if scale == "small" else 150 * MB
    path = folder / "oversized.txt"
    line = b"The invoice is sent on the first day of the month.\n"
    with path.open("wb") as handle:
        for _ in range(size // len(line) + 1):
            handle.write(line)
    return HostileFile(path, "failed", "RAGKIT_MAX_FILE_SIZE")


def many_pages_pdf(folder: Path, scale: str) -> HostileFile:
    from reportlab.pdfgen.canvas import Canvas

    pages = 60 if scale == "small" else 20_000
    path = folder / "many-pages.pdf"
    canvas = Canvas(str(path))
    for number in range(pages):
        canvas.drawString(72, 720, f"Page {number + 1}: error E-{1000 + number} means a timeout.")
        canvas.showPage()
    canvas.save()
    return HostileFile(path, "failed", "RAGKIT_MAX_PAGES")


def deep_html(folder: Path, scale: str) -> HostileFile:
    """Every element opened inside the previous one, never closed, each holding text."""
    depth = 20_000 if scale == "small" else 200_000
    path = folder / "deep-nesting.html"
    path.write_text("<html><body>" + "<div>deep " * depth + "</body></html>")
    return HostileFile(path, "ready", "deep")


def unclosed_tags_html(folder: Path, scale: str) -> HostileFile:
    """Tags never finished: quadratic for Python's own HTML parser, so not parsed by it."""
    count = 100_000 if scale == "small" else 1_000_000
    path = folder / "unclosed-tags.html"
    path.write_text("<html><body><p>Intro</p>" + "<a " * count)
    return HostileFile(path, "ready", "Intro")


def hostile_markdown(folder: Path, scale: str) -> HostileFile:
    path = folder / "hostile.md"
    path.write_text(HOSTILE_MARKDOWN)
    return HostileFile(path, "ready", "valid for 30 minutes")


def html_named_markdown(folder: Path, scale: str) -> HostileFile:
    path = folder / "billing.md"
    path.write_text(HTML_PAGE)
    return HostileFile(path, "ready", "Invoices are sent on the first day")


def nul_filled_text(folder: Path, scale: str) -> HostileFile:
    path = folder / "nul-filled.txt"
    path.write_bytes(b"Support notes\n" + b"\x00" * 65536 + b"\nmore notes\n")
    return HostileFile(path, "failed", "binary content")


def utf16_text(folder: Path, scale: str) -> HostileFile:
    path = folder / "utf16-bom.txt"
    path.write_bytes(LATIN_TEXT.encode("utf-16"))
    return HostileFile(path, "ready", "Zürich")


def utf16_text_without_mark(folder: Path, scale: str) -> HostileFile:
    path = folder / "utf16-no-bom.txt"
    path.write_bytes(LATIN_TEXT.encode("utf-16-be"))
    return HostileFile(path, "ready", "crème brûlée")


def latin1_text(folder: Path, scale: str) -> HostileFile:
    path = folder / "latin1.txt"
    path.write_bytes(LATIN_TEXT.encode("latin-1"))
    return HostileFile(path, "ready", "façade")


def truncated_pdf(folder: Path, scale: str) -> HostileFile:
    data = (EXAMPLES / "troubleshooting.pdf").read_bytes()
    path = folder / "truncated.pdf"
    path.write_bytes(data[: len(data) // 3])
    return HostileFile(path, "failed", "could not be read")


def corrupt_docx(folder: Path, scale: str) -> HostileFile:
    data = (EXAMPLES / "refund-policy.docx").read_bytes()
    path = folder / "corrupt.docx"
    path.write_bytes(data[: len(data) // 2])
    return HostileFile(path, "failed", "not a supported document")


def text_named_pdf(folder: Path, scale: str) -> HostileFile:
    path = folder / "manual.pdf"
    path.write_text("This is a plain text file that claims to be a PDF.\n")
    return HostileFile(path, "failed", "not a valid PDF")


def empty_text(folder: Path, scale: str) -> HostileFile:
    path = folder / "blank.txt"
    path.write_text(" \n\n\t\n")
    return HostileFile(path, "failed", "no text")


MAKERS: tuple[Maker, ...] = (
    zip_bomb_docx,
    dense_docx,
    million_rows_csv,
    one_line_text,
    oversized_text,
    many_pages_pdf,
    deep_html,
    unclosed_tags_html,
    hostile_markdown,
    html_named_markdown,
    nul_filled_text,
    utf16_text,
    utf16_text_without_mark,
    latin1_text,
    truncated_pdf,
    corrupt_docx,
    text_named_pdf,
    empty_text,
)


def generate(folder: Path, scale: str = "small") -> list[HostileFile]:
    """Write every file of the corpus into ``folder``."""
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, not {scale!r}")
    folder.mkdir(parents=True, exist_ok=True)
    return [make(folder, scale) for make in MAKERS]


def main() -> None:
    parser = argparse.ArgumentParser(description="Write the hostile-file corpus into a folder.")
    parser.add_argument("folder", type=Path)
    parser.add_argument("--scale", choices=SCALES, default="small")
    arguments = parser.parse_args()
    for item in generate(arguments.folder, arguments.scale):
        size = item.path.stat().st_size
        print(f"{item.path.name:<22} {size / MB:>9.2f} MB  must end {item.outcome}: {item.expect}")
    print(f"(free space left: {shutil.disk_usage(arguments.folder).free / MB / 1024:.1f} GB)")


if __name__ == "__main__":
    main()
