"""The ``ragkit`` command, run in-process against the test database."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ragkit.cli import main
from ragkit.settings import Settings


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, settings: Settings, organization: str) -> str:
    monkeypatch.setenv("DATABASE_URL", settings.database_url or "")
    monkeypatch.setenv("RAGKIT_HOME", str(settings.home))
    monkeypatch.setenv("RAGKIT_ORG", organization)
    return organization


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:
    code = main(list(argv))
    return code, json.loads(capsys.readouterr().out)


def test_ingest_then_ask_cites_the_right_file_and_page(
    environment: str, capsys: pytest.CaptureFixture[str], example_docs: Path
) -> None:
    code, summary = run_json(capsys, "ingest", str(example_docs), "--json")
    assert code == 0
    assert set(summary) == {
        "files",
        "documents_added",
        "documents_updated",
        "documents_unchanged",
        "chunks_added",
        "failed",
    }
    assert summary["documents_added"] == 6 and summary["chunks_added"] > 0

    code, again = run_json(capsys, "ingest", str(example_docs), "--json")
    assert (code, again["chunks_added"], again["documents_unchanged"]) == (0, 0, 6)

    code, answer = run_json(capsys, "ask", "What does error E-1042 mean?", "--json")
    assert code == 0 and answer["abstained"] is False
    first = answer["citations"][0]
    assert Path(first["source"]).name == "troubleshooting.pdf" and first["page"] == 2
    assert first["n"] == 1 and "[1]" in answer["answer"]

    code, status = run_json(capsys, "status", "--json")
    assert set(status) >= {"documents", "chunks", "embed_model", "dimensions", "database"}
    assert status["documents"] == 6 and status["dimensions"] == 384


def test_ask_in_plain_text_lists_numbered_sources(
    environment: str, capsys: pytest.CaptureFixture[str], example_docs: Path
) -> None:
    main(["ingest", str(example_docs / "faq.md")])
    capsys.readouterr()
    assert main(["ask", "How long is the password reset link valid?", "--mode", "text"]) == 0
    out = capsys.readouterr().out
    assert "30 minutes" in out and "[1] " in out and "faq.md" in out


def test_ingest_exit_status_says_some_files_failed(
    environment: str, capsys: pytest.CaptureFixture[str], example_docs: Path, workdir: Path
) -> None:
    shutil.copy(example_docs / "plans.csv", workdir)
    (workdir / "scan.pdf").write_bytes(b"not a pdf at all")
    code, summary = run_json(capsys, "ingest", str(workdir), str(workdir / "missing.md"), "--json")
    assert code == 1
    assert summary["documents_added"] == 1
    assert sorted(Path(item["path"]).name for item in summary["failed"]) == [
        "missing.md",
        "scan.pdf",
    ]


def test_configuration_errors_are_reported_without_a_traceback(
    environment: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAGKIT_CHUNK_SIZE", "ten")
    assert main(["status"]) == 1
    assert "RAGKIT_CHUNK_SIZE" in capsys.readouterr().err


def test_bad_arguments_exit_with_usage_status(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["ask", "question", "--mode", "fuzzy"])
    assert raised.value.code == 2
