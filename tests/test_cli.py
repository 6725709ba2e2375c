"""The ``ragkit`` command, run in-process against the test database."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from ragkit import RagKit
from ragkit.cli import main
from ragkit.organizations import organizations_in
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
    with pytest.raises(SystemExit, match=r"^2$") as raised:
        main(["ask", "question", "--mode", "fuzzy"])
    assert raised.value.code == 2


@pytest.fixture
def web_organization(kit: RagKit) -> Iterator[Callable[[str], str]]:
    """Add a row to the web app's ``organizations`` table, as registering does; returns its id."""
    created: list[uuid.UUID] = []

    def add(name: str) -> str:
        created.append(uuid.uuid4())
        with kit.database.engine.begin() as connection:
            connection.execute(
                sa.text("INSERT INTO organizations (id, name) VALUES (:id, :name)"),
                {"id": created[-1], "name": name},
            )
        return str(created[-1])

    yield add
    with kit.database.engine.begin() as connection:
        connection.execute(
            sa.text("DELETE FROM organizations WHERE id = ANY(:ids)"), {"ids": created}
        )


def run_orgs(capsys: pytest.CaptureFixture[str]) -> dict[str, dict]:
    code = main(["orgs", "--json"])
    assert code == 0
    return {
        organization["id"]: organization for organization in json.loads(capsys.readouterr().out)
    }


def test_orgs_lists_web_organizations_by_name_and_cli_namespaces_with_their_counts(
    environment: str,
    capsys: pytest.CaptureFixture[str],
    example_docs: Path,
    web_organization: Callable[[str], str],
) -> None:
    name = f"Umbrella Help {uuid.uuid4().hex[:6]}"
    web_id = web_organization(name)
    main(["ingest", str(example_docs / "faq.md"), "--org", name, "--json"])
    main(["ingest", str(example_docs / "plans.csv"), str(example_docs / "faq.md"), "--json"])
    capsys.readouterr()

    listed = run_orgs(capsys)

    assert listed[web_id]["name"] == name
    assert listed[web_id]["documents"] == 1 and listed[web_id]["chunks"] > 0
    assert listed[environment]["name"] is None
    assert listed[environment]["documents"] == 2
    assert listed[environment]["chunks"] > listed[web_id]["chunks"]
    assert main(["orgs"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["id", "documents", "chunks", "name"]
    assert any(line.startswith(web_id) and line.endswith(name) for line in table)


def test_org_by_name_reaches_that_organizations_documents(
    environment: str,
    capsys: pytest.CaptureFixture[str],
    example_docs: Path,
    web_organization: Callable[[str], str],
) -> None:
    name = f"Initech Support {uuid.uuid4().hex[:6]}"
    web_id = web_organization(name)
    code, summary = run_json(
        capsys, "ingest", str(example_docs / "faq.md"), "--org", web_id, "--json"
    )
    assert code == 0 and summary["documents_added"] == 1

    code, status = run_json(capsys, "status", "--org", name.upper(), "--json")
    assert (code, status["documents"]) == (0, 1)
    code, answer = run_json(
        capsys, "ask", "How long is the password reset link valid?", "--org", name, "--json"
    )
    assert code == 0 and Path(answer["citations"][0]["source"]).name == "faq.md"


def test_org_name_shared_by_several_organizations_is_refused_listing_them(
    environment: str, capsys: pytest.CaptureFixture[str], web_organization: Callable[[str], str]
) -> None:
    name = f"Duplicate Name {uuid.uuid4().hex[:6]}"
    first, second = web_organization(name), web_organization(name)

    assert main(["status", "--org", name]) == 1

    error = capsys.readouterr().err
    assert f"2 organizations are named {name!r}" in error
    assert first in error and second in error


def test_an_organization_id_wins_over_another_organizations_name(
    environment: str,
    capsys: pytest.CaptureFixture[str],
    example_docs: Path,
    web_organization: Callable[[str], str],
) -> None:
    main(["ingest", str(example_docs / "faq.md"), "--json"])
    capsys.readouterr()
    web_organization(environment)  # a web organization named like the CLI namespace

    code, status = run_json(capsys, "status", "--org", environment, "--json")

    assert (code, status["documents"]) == (0, 1)


def test_status_of_an_unknown_organization_says_so(
    environment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status", "--org", "nobody-here", "--json"]) == 0

    output = capsys.readouterr()
    assert json.loads(output.out)["documents"] == 0
    assert "no organization 'nobody-here' has documents" in output.err


def test_orgs_without_the_web_apps_tables_lists_the_document_namespaces(
    environment: str, capsys: pytest.CaptureFixture[str], example_docs: Path, kit: RagKit
) -> None:
    main(["ingest", str(example_docs / "faq.md"), "--json"])
    capsys.readouterr()
    with kit.database.engine.connect() as connection, connection.begin() as transaction:
        connection.execute(sa.text("DROP TABLE organizations CASCADE"))
        listed = {summary.id: summary for summary in organizations_in(connection)}
        transaction.rollback()

    assert listed[environment].name is None and listed[environment].documents == 1
    assert all(summary.name is None for summary in listed.values())


def test_output_into_a_closed_pipe_ends_without_a_traceback(
    environment: str, example_docs: Path
) -> None:
    assert main(["ingest", str(example_docs / "faq.md")]) == 0  # so that orgs prints a row
    process = subprocess.Popen(
        [sys.executable, "-m", "ragkit.cli", "orgs"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
    )
    process.stdout.close()  # as `ragkit orgs | head -0` would, before anything is printed

    _, errors = process.communicate(timeout=120)

    assert process.returncode == 1
    assert b"Traceback" not in errors and b"BrokenPipe" not in errors


def test_help_loads_neither_torch_nor_llama_index() -> None:
    """``ragkit --help`` answers at once: the heavy libraries load only for commands using them."""
    probe = (
        "import sys, contextlib, io\n"
        "from ragkit.cli import main\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['--help'])\n"
        "import ragkit\n"
        "ragkit.Settings\n"
        "heavy = ('torch', 'transformers', 'llama_index')\n"
        "print(','.join(name for name in heavy if name in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_a_database_that_cannot_be_reached_is_an_error_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "no-server"
    monkeypatch.setenv(
        "DATABASE_URL", f"postgresql+psycopg://postgres:secret@/ragkit?host={missing}"
    )
    monkeypatch.setenv("RAGKIT_HOME", str(tmp_path / "home"))

    assert main(["status"]) == 1

    error = capsys.readouterr().err
    assert "cannot reach the database" in error
    assert str(missing) in error
    assert "Traceback" not in error
    assert "secret" not in error
