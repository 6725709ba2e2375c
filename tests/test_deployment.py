"""The deployment files are valid as written."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def compose(*args: str, environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("docker-compose") or str(Path(sys.executable).parent / "docker-compose")
    return subprocess.run(
        [binary, "-f", str(ROOT / "docker-compose.yml"), *args],
        capture_output=True,
        text=True,
        env={"PATH": os.environ.get("PATH", ""), **environment},
        timeout=60,
    )


def test_compose_file_is_valid_and_wires_every_service() -> None:
    result = compose(
        "config",
        "--format",
        "json",
        environment={"SECRET_KEY": "s" * 32, "JWT_SECRET_KEY": "j" * 32},
    )
    assert result.returncode == 0, result.stderr
    services = json.loads(result.stdout)["services"]
    assert set(services) == {"db", "redis", "migrate", "web", "worker"}
    assert services["db"]["image"].startswith("pgvector/pgvector")
    for name in ("migrate", "web", "worker"):
        environment = services[name]["environment"]
        assert environment["DATABASE_URL"].startswith("postgresql://")
        assert environment["RAGKIT_ENV"] == "production"


def test_compose_refuses_to_run_without_secrets() -> None:
    result = compose("config", environment={})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
