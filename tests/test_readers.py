"""Each reader on a real file of its type."""

from __future__ import annotations

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
    ("name", "data"),
    [
        ("manual.pdf", b"this is not a pdf"),
        ("policy.docx", b"PK\x03\x04 broken zip"),
        ("image.png", b"\x89PNG\r\n\x1a\n\x00\x00"),
        ("notes.md", b"%PDF-1.7 pretending to be markdown"),
        ("data.bin", "caf\u00e9".encode("latin-1")),
    ],
)
def test_unsupported_or_mislabelled_content_is_rejected(name: str, data: bytes) -> None:
    with pytest.raises(UnsupportedFileType):
        detect_content_type(data, name)


def test_corrupt_pdf_is_a_read_error(workdir: Path) -> None:
    path = workdir / "broken.pdf"
    path.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage")
    with pytest.raises(DocumentReadError):
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
