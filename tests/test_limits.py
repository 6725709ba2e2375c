"""Limits on the work one document may cause: each refuses its file with a message naming it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ragkit.cli import main
from ragkit.errors import ConfigurationError, DocumentTooLarge
from ragkit.limits import DocumentLimits, parse_size
from ragkit.readers import PDF, detect_content_type, read_file, read_units
from ragkit.settings import ENVIRONMENT, Settings
from tests.hostile_corpus import (
    TEST_LIMITS,
    Maker,
    dense_docx,
    many_pages_pdf,
    million_rows_csv,
    one_line_text,
    oversized_text,
    zip_bomb_docx,
)

VARIABLES = {variable for variable, _ in ENVIRONMENT.values()}


@pytest.mark.parametrize(
    "make",
    [zip_bomb_docx, dense_docx, million_rows_csv, one_line_text, oversized_text, many_pages_pdf],
)
def test_a_file_beyond_a_limit_is_refused_naming_the_file_and_the_setting(
    workdir: Path, make: Maker
) -> None:
    item = make(workdir, "small")
    content_type = detect_content_type(item.path.read_bytes(), item.path.name)

    with pytest.raises(DocumentTooLarge, match=re.escape(item.expect)) as refused:
        read_file(item.path, content_type, limits=TEST_LIMITS)

    message = str(refused.value)
    assert message.startswith(f"{item.path.name}: ")
    assert item.expect in message
    assert set(re.findall(r"RAGKIT_[A-Z_]+", message)) <= VARIABLES


def test_the_same_files_are_read_within_the_default_limits(workdir: Path) -> None:
    for make in (million_rows_csv, one_line_text, many_pages_pdf):
        item = make(workdir, "small")
        units = read_file(item.path, detect_content_type(item.path.read_bytes(), item.path.name))
        assert sum(len(unit.text) for unit in units) > 0


def test_pdf_text_is_counted_page_by_page_as_pages_are_read(workdir: Path) -> None:
    item = many_pages_pdf(workdir, "small")
    units = read_units(item.path, PDF, limits=DocumentLimits(text_chars=500))
    read: list[str] = []

    with pytest.raises(DocumentTooLarge, match=r"many-pages\.pdf: .*RAGKIT_MAX_TEXT_CHARS"):
        for unit in units:
            read.append(unit.read().text)

    assert 0 < len(read) < len(units)
    assert sum(map(len, read)) <= 500


def test_limits_are_read_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "RAGKIT_MAX_FILE_SIZE": "3MB",
            "RAGKIT_MAX_UNPACKED_SIZE": "1.5 GiB",
            "RAGKIT_MAX_COMPRESSION_RATIO": "40",
            "RAGKIT_MAX_ROWS": "5000",
            "RAGKIT_MAX_PAGES": "10",
            "RAGKIT_MAX_TEXT_CHARS": "90000",
            "RAGKIT_JOB_MEMORY": "512M",
        }
    )

    assert settings.limits == DocumentLimits(
        file_size=3 * 1024**2,
        unpacked_size=int(1.5 * 1024**3),
        compression_ratio=40,
        rows=5000,
        pages=10,
        text_chars=90000,
    )
    assert settings.job_memory == 512 * 1024**2


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("RAGKIT_MAX_FILE_SIZE", "lots"),
        ("RAGKIT_MAX_FILE_SIZE", "0"),
        ("RAGKIT_MAX_ROWS", "-1"),
        ("RAGKIT_MAX_PAGES", "ten"),
        ("RAGKIT_JOB_MEMORY", "2 parsecs"),
    ],
)
def test_a_malformed_or_non_positive_limit_is_refused(variable: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match=variable):
        Settings.from_env({variable: value})


@pytest.mark.parametrize(
    ("raw", "size"),
    [("1024", 1024), ("2KB", 2048), ("3 mb", 3 * 1024**2), ("1.5G", int(1.5 * 1024**3))],
)
def test_sizes_take_binary_multiples(raw: str, size: int) -> None:
    assert parse_size(raw) == size


def test_ragkit_ingest_reports_a_file_beyond_a_limit_and_prints_its_summary(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    settings: Settings,
    organization: str,
    workdir: Path,
    example_docs: Path,
) -> None:
    monkeypatch.setenv("DATABASE_URL", settings.database_url or "")
    monkeypatch.setenv("RAGKIT_HOME", str(settings.home))
    monkeypatch.setenv("RAGKIT_ORG", organization)
    monkeypatch.setenv("RAGKIT_MAX_TEXT_CHARS", "200000")
    big = one_line_text(workdir, "small").path
    (workdir / "faq.md").write_bytes((example_docs / "faq.md").read_bytes())

    code = main(["ingest", str(workdir), "--json"])

    summary = json.loads(capsys.readouterr().out)
    assert code == 1
    assert (summary["files"], summary["documents_added"]) == (2, 1)
    assert summary["failed"] == [
        {
            "path": str(big),
            "error": "one-line.txt: the file holds more than 200,000 characters of text "
            "(RAGKIT_MAX_TEXT_CHARS)",
        }
    ]
