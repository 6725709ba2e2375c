"""Each reader on a real file of its type."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ragkit.errors import DocumentReadError, UnsupportedFileType
from ragkit.readers import (
    CSV,
    DOCX,
    HTML,
    MARKDOWN,
    PDF,
    TEXT,
    detect_content_type,
    html_to_documents,
    markdown_to_documents,
    read_file,
)


def read(path: Path) -> list:
    return read_file(path, detect_content_type(path.read_bytes(), path.name))


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("faq.md", MARKDOWN),
        ("troubleshooting.pdf", PDF),
        ("refund-policy.docx", DOCX),
        ("getting-started.html", HTML),
        ("plans.csv", CSV),
        ("release-notes.txt", TEXT),
    ],
)
def test_content_type_is_detected_from_content(
    example_docs: Path, name: str, content_type: str
) -> None:
    path = example_docs / name
    assert detect_content_type(path.read_bytes(), path.name) == content_type


def test_pdf_gives_one_unit_per_page_with_page_numbers(example_docs: Path) -> None:
    units = read(example_docs / "troubleshooting.pdf")
    assert [unit.metadata["page_number"] for unit in units] == list(range(1, len(units) + 1))
    assert "E-1042" in units[1].text
    assert "E-1042" not in units[3].text


def test_markdown_sections_are_titled_by_their_headings(example_docs: Path) -> None:
    units = read(example_docs / "faq.md")
    by_title = {unit.metadata["section_title"]: unit.text for unit in units}
    assert "30 minutes" in by_title["Resetting your password"]
    assert "30 minutes" not in by_title["Locked accounts"]


def test_markdown_headings_inside_code_fences_are_not_sections() -> None:
    units = markdown_to_documents("# Setup\nRun this:\n```\n# not a heading\n```\n## Next\nMore.")
    assert [unit.metadata["section_title"] for unit in units] == ["Setup", "Next"]


def test_docx_sections_follow_heading_styles(example_docs: Path) -> None:
    units = read(example_docs / "refund-policy.docx")
    titles = [unit.metadata["section_title"] for unit in units]
    assert "14-day refund window for annual plans" in titles
    window = next(u for u in units if u.metadata["section_title"].startswith("14-day"))
    assert "14 days" in window.text


def test_html_keeps_visible_text_only_and_titles_sections(example_docs: Path) -> None:
    units = read(example_docs / "getting-started.html")
    text = "\n".join(unit.text for unit in units)
    assert "<" not in text and "function" not in text and "{" not in text
    titles = [unit.metadata["section_title"] for unit in units]
    assert "Inviting teammates" in titles


def test_html_drops_scripts_styles_and_hidden_elements() -> None:
    units = html_to_documents(
        "<html><head><title>T</title><style>p{color:red}</style></head><body>"
        "<script>var secret = 1;</script><h1>Intro</h1><p>Visible <b>text</b>.</p>"
        "<div hidden>invisible</div><h2>Two</h2><ul><li>first</li><li>second</li></ul></body>"
    )
    assert [(u.metadata["section_title"], u.text) for u in units] == [
        ("Intro", "Intro\nVisible text ."),
        ("Two", "Two\nfirst\nsecond"),
    ]


def test_csv_rows_become_column_value_paragraphs(example_docs: Path) -> None:
    (unit,) = read(example_docs / "plans.csv")
    assert "plan: Team" in unit.text
    assert unit.text.count("\n\n") == 2


@pytest.mark.parametrize(
    ("name", "data", "refusal"),
    [
        ("manual.pdf", b"this is not a pdf", "is not a valid PDF file"),
        ("policy.docx", b"PK\x03\x04 broken zip", "a zip archive is not a supported document"),
        ("image.png", b"\x89PNG\r\n\x1a\n\x00\x00", r"unsupported file type \(binary content\)"),
        ("notes.md", b"%PDF-1.7 pretending to be markdown", r"\.md name but holds application/pdf"),
        ("data.bin", "caf\u00e9".encode("latin-1"), "unsupported file type '.bin'"),
    ],
)
def test_unsupported_or_mislabelled_content_is_rejected(
    name: str, data: bytes, refusal: str
) -> None:
    with pytest.raises(UnsupportedFileType, match=f"^{re.escape(name)}.*{refusal}"):
        detect_content_type(data, name)


def test_corrupt_pdf_is_a_read_error(workdir: Path) -> None:
    path = workdir / "broken.pdf"
    path.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage")
    with pytest.raises(DocumentReadError, match=r"^broken\.pdf: could not be read \("):
        read_file(path, PDF)


def test_empty_text_file_is_a_read_error(workdir: Path) -> None:
    path = workdir / "empty.txt"
    path.write_text("   \n\n")
    with pytest.raises(DocumentReadError, match="no text"):
        read_file(path, TEXT)


@pytest.mark.parametrize(
    ("name", "title"),
    [
        ("faq.md", "Nimbus Notes — Frequently Asked Questions"),
        ("troubleshooting.pdf", "Nimbus Notes Troubleshooting Guide"),
        ("refund-policy.docx", "Nimbus Notes Refund and Cancellation Policy"),
        ("getting-started.html", "Getting started with Nimbus Notes | Nimbus Notes Help Center"),
        ("plans.csv", None),
    ],
)
def test_documents_are_titled_by_their_own_metadata_or_heading(
    example_docs: Path, name: str, title: str | None
) -> None:
    from ragkit.readers import extract_title

    path = example_docs / name
    assert extract_title(path, detect_content_type(path.read_bytes(), name)) == title


def test_pdf_page_fingerprints_survive_a_rebuild_and_follow_the_text(
    example_docs: Path, workdir: Path
) -> None:
    from pypdf import PdfReader, PdfWriter

    from ragkit.readers import read_units

    original = example_docs / "troubleshooting.pdf"
    writer = PdfWriter()
    for page in reversed(PdfReader(original).pages):
        writer.add_page(page)
    rebuilt = workdir / "reversed.pdf"
    writer.write(rebuilt)
    units = read_units(original, PDF)
    again = read_units(rebuilt, PDF)
    assert [unit.fingerprint for unit in reversed(again)] == [unit.fingerprint for unit in units]
    assert len({unit.fingerprint for unit in units}) == len(units)
    assert [unit.read().text for unit in units] == [unit.text for unit in read(original)]
    assert [unit.page_number for unit in again] == list(range(1, len(units) + 1))


LATIN_TEXT = "Café hours in Zürich: crème brûlée, façade permits — 9:00 to 17:00.\n"


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252", "utf-16", "utf-16-le", "utf-16-be"])
def test_text_in_latin1_or_utf16_is_decoded(workdir: Path, encoding: str) -> None:
    text = LATIN_TEXT if encoding != "latin-1" else LATIN_TEXT.replace("—", "-")
    path = workdir / "hours.txt"
    path.write_bytes(text.encode(encoding))

    (unit,) = read(path)

    assert unit.text == text


@pytest.mark.parametrize(
    "data",
    [b"notes\n" + b"\x00" * 4096, bytes(range(256)) * 8, "odd".encode("utf-16")[:-1]],
)
def test_binary_content_named_txt_is_refused(data: bytes) -> None:
    with pytest.raises(UnsupportedFileType, match="binary content"):
        detect_content_type(data, "notes.txt")


@pytest.mark.parametrize("name", ["page.md", "page.txt", "page"])
def test_an_html_page_under_another_name_is_read_as_html(workdir: Path, name: str) -> None:
    path = workdir / name
    path.write_text(
        "<!-- saved page --><!DOCTYPE html><html><body><h1>Billing</h1>"
        "<script>alert(1)</script><p>Invoices monthly.</p></body></html>"
    )

    assert detect_content_type(path.read_bytes(), name) == HTML
    assert [unit.text for unit in read(path)] == ["Billing\nInvoices monthly."]


def test_markdown_raw_html_is_reduced_to_its_text() -> None:
    (unit,) = markdown_to_documents(
        "# Reset <img src=x onerror=alert(1)>\nUse <b>Settings</b>.<script>steal()</script>\n"
        '<div onclick="alert(2)">\n<p>Tip: <a href="javascript:alert(3)">spam folder</a></p>\n'
        "</div>\n<!-- <script>alert(4)</script> --><style>p{}</style><iframe src=x></iframe>"
        "\nx <img src=x onerror=alert(5)"
    )
    assert unit.metadata["section_title"] == "Reset"
    assert "Use Settings." in unit.text and "Tip: spam folder" in unit.text
    assert "<" not in unit.text.replace("&lt;", "") and "alert" not in unit.text


@pytest.mark.parametrize(
    ("markdown", "text"),
    [
        ("[Contact us](javascript:alert(1))", "Contact us"),
        ("[Contact us](JaVaScRiPt:alert('a b'))", "Contact us"),
        ("[Contact us](java&#115;cript:alert(1))", "Contact us"),
        ("[Contact us](  java\tscript:x  )", "Contact us"),
        ("[Contact us](<vbscript:x>)", "[Contact us]()"),
        ("![diagram](data:text/html;base64,PHNjcmlwdD4=)", "diagram"),
        ("Write <javascript:alert(1)> now", "Write  now"),
        ("[ref]: javascript:alert(1)", ""),
        ('[Help](https://example.com/help "Help")', '[Help](https://example.com/help "Help")'),
        (
            "[Wiki](https://en.wikipedia.org/wiki/A_(b))",
            "[Wiki](https://en.wikipedia.org/wiki/A_(b))",
        ),
        (
            "[Mail](mailto:help@example.com) [Up](../faq.md#top)",
            "[Mail](mailto:help@example.com) [Up](../faq.md#top)",
        ),
        (
            "See <https://example.com> or <help@example.com>",
            "See https://example.com or help@example.com",
        ),
    ],
)
def test_markdown_links_keep_their_target_only_when_it_is_safe(markdown: str, text: str) -> None:
    from ragkit.markup import strip_markdown_html

    assert strip_markdown_html(markdown) == text


def test_markdown_code_is_kept_as_written() -> None:
    markdown = (
        'Paste `<script src="/widget.js"></script>` into your page:\n'
        '```html\n<script src="/widget.js" async></script>\n```\nDone <b>then</b>.'
    )
    (unit,) = markdown_to_documents(markdown)
    assert unit.text == markdown.replace("<b>then</b>", "then")


def test_markdown_title_has_no_markup(workdir: Path) -> None:
    from ragkit.readers import extract_title

    path = workdir / "guide.md"
    path.write_text("# Password <script>alert(1)</script>reset <img src=x onerror=y>\nText.")
    assert extract_title(path, MARKDOWN) == "Password reset"
