"""The commands read ``.env`` from their working directory; the environment wins over it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ragkit import RagKit, Settings
from ragkit.envfile import load_env_file

ROOT = Path(__file__).resolve().parent.parent
# Variables a developer's shell may set that the tests below set through .env instead.
CONFIGURATION = ("DATABASE_URL", "RAGKIT_HOME", "RAGKIT_ORG", "RAGKIT_QUEUE_PREFIX")


def command(args: list[str], cwd: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m ...`` as a program in ``cwd``, with this checkout first on the path."""
    env = {key: value for key, value in os.environ.items() if key not in CONFIGURATION}
    env.update(variables, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def project(workdir: Path, settings: Settings, support_org: str) -> Path:
    """A folder whose .env names the test database and the organization with the examples."""
    (workdir / ".env").write_text(
        "# written by the test\n"
        f'DATABASE_URL="{settings.database_url}"\n'
        f"RAGKIT_HOME={settings.home}\n"
        f"RAGKIT_ORG={support_org}\n"
    )
    return workdir


def test_ragkit_reads_the_env_file_of_its_working_directory(
    project: Path, kit: RagKit, support_org: str
) -> None:
    result = command(["ragkit.cli", "status", "--json"], cwd=project)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["documents"] == kit.status(support_org).documents > 0


def test_a_variable_already_set_wins_over_the_env_file(project: Path) -> None:
    result = command(["ragkit.cli", "status", "--json"], cwd=project, RAGKIT_ORG="elsewhere")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["documents"] == 0


def test_a_worker_reads_its_queue_prefix_from_the_env_file(workdir: Path) -> None:
    (workdir / ".env").write_text("RAGKIT_QUEUE_PREFIX=not:valid\n")

    result = command(["workers", "--burst"], cwd=workdir)

    assert result.returncode == 2
    assert "RAGKIT_QUEUE_PREFIX='not:valid' is not valid" in result.stderr


def test_load_env_file_finds_the_file_in_a_parent_folder(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (workdir / ".env").write_text("RAGKIT_TEST_ENV_FILE=from the file\nRAGKIT_TEST_SET=file\n")
    (workdir / "sub").mkdir()
    monkeypatch.chdir(workdir / "sub")
    monkeypatch.setenv("RAGKIT_TEST_SET", "environment")
    monkeypatch.setenv("RAGKIT_TEST_ENV_FILE", "")  # restored to unset afterwards
    monkeypatch.delenv("RAGKIT_TEST_ENV_FILE")

    assert load_env_file() == workdir / ".env"

    assert os.environ["RAGKIT_TEST_ENV_FILE"] == "from the file"
    assert os.environ["RAGKIT_TEST_SET"] == "environment"
