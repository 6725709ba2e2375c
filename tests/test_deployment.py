"""The deployment files are valid as written, and share nothing between containers but the
database and Redis."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from redis import Redis
from rq import Worker

ROOT = Path(__file__).resolve().parent.parent
SECRETS = {"SECRET_KEY": "s" * 32, "JWT_SECRET_KEY": "j" * 32}


def compose(*args: str, environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("docker-compose") or str(Path(sys.executable).parent / "docker-compose")
    return subprocess.run(
        [binary, "-f", str(ROOT / "docker-compose.yml"), *args],
        capture_output=True,
        text=True,
        env={"PATH": os.environ.get("PATH", ""), **environment},
        timeout=60,
    )


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    result = compose("config", "--format", "json", environment=SECRETS)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["services"]


def test_compose_file_is_valid_and_wires_every_service(services: dict[str, Any]) -> None:
    assert set(services) == {"db", "redis", "migrate", "web", "worker"}
    assert services["db"]["image"].startswith("pgvector/pgvector")
    for name in ("migrate", "web", "worker"):
        environment = services[name]["environment"]
        assert environment["DATABASE_URL"].startswith("postgresql://")
        assert environment["RAGKIT_ENV"] == "production"
        assert services[name].get("depends_on")


def test_web_and_workers_share_no_volume_only_the_database_and_redis(
    services: dict[str, Any],
) -> None:
    for name in ("migrate", "web", "worker"):
        assert not services[name].get("volumes"), name
        assert "MEDIA_ROOT" not in services[name]["environment"], name
    stateful = {name for name, service in services.items() if service.get("volumes")}
    assert stateful == {"db", "redis"}


def test_web_and_workers_can_be_scaled(services: dict[str, Any]) -> None:
    for name in ("web", "worker"):
        assert "container_name" not in services[name], name
    assert not services["worker"].get("ports")
    published = services["web"]["ports"][0]["published"]
    first, last = (int(port) for port in published.split("-"))
    assert last > first  # each web replica takes its own host port


def test_web_is_healthy_when_readyz_answers(services: dict[str, Any]) -> None:
    check = services["web"]["healthcheck"]

    assert check["test"][:3] == ["CMD", "python", "-c"]
    assert "/readyz" in check["test"][3]
    assert services["web"]["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully"
    )


@pytest.fixture
def empty_redis() -> Iterator[Redis]:
    url = os.environ.get("WORKERS_TEST_REDIS_URL", "redis://127.0.0.1:6379/12")
    connection = Redis.from_url(url)
    connection.flushdb()
    yield connection
    connection.flushdb()
    connection.close()


def test_the_worker_health_check_passes_only_while_its_worker_is_registered(
    services: dict[str, Any], empty_redis: Redis
) -> None:
    check = services["worker"]["healthcheck"]["test"]
    assert check[:3] == ["CMD", "python", "-c"]
    url = empty_redis.connection_pool.connection_kwargs
    environment = {**os.environ, "REDIS_URL": f"redis://{url['host']}:{url['port']}/{url['db']}"}

    def healthy() -> bool:
        command = [sys.executable, "-c", check[3]]
        return subprocess.run(command, env=environment, timeout=60).returncode == 0

    without = healthy()
    worker = Worker(["ingest"], connection=empty_redis)
    worker.register_birth()
    assert worker.hostname == socket.gethostname()
    registered = healthy()
    worker.register_death()
    after = healthy()

    assert (without, registered, after) == (False, True, False)


def test_compose_refuses_to_run_without_secrets() -> None:
    result = compose("config", environment={})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_the_image_keeps_no_files_and_serves_with_gunicorn() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    command = json.loads(dockerfile.split("CMD ", 1)[1].strip())

    assert "MEDIA_ROOT" not in dockerfile and "VOLUME" not in dockerfile
    assert command[:2] == ["gunicorn", "--bind"]
    assert "webapp:create_app()" in command
