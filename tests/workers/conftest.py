"""Worker fixtures: an app that queues its work on a real Redis, and real RQ workers.

The queues live in their own Redis database (``WORKERS_TEST_REDIS_URL``, default database 12 of
the local server), emptied before and after every test. Jobs run in this process through
``SimpleKnowledgeWorker`` in burst mode, on the session's ``RagKit`` (the model loads once).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from redis import Redis
from werkzeug.test import TestResponse

from ragkit import Chunk, Document, RagKit
from ragkit.index import active_index
from tests.webapp.conftest import JWT_TEST_SECRET, Account, AuthActions
from webapp import create_app
from webapp.extensions import db
from workers.context import use_knowledge_base
from workers.queue import QUEUES
from workers.worker import SimpleKnowledgeWorker


@pytest.fixture(scope="session")
def queue_redis_url() -> str:
    return os.environ.get("WORKERS_TEST_REDIS_URL", "redis://127.0.0.1:6379/12")


@pytest.fixture
def connection(queue_redis_url: str) -> Iterator[Redis]:
    """The queues' Redis database, empty at the start and end of the test."""
    redis = Redis.from_url(queue_redis_url)
    redis.flushdb()
    yield redis
    redis.flushdb()
    redis.close()


@pytest.fixture(scope="session")
def queue_app(
    database_url: str, queue_redis_url: str, kit: RagKit, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Flask]:
    """The web app with ``PROCESSING_MODE=queue``, sharing the session's ``RagKit``."""
    application = create_app(
        {
            "TESTING": True,
            "PROCESSING_MODE": "queue",
            "DATABASE_URL": database_url,
            "REDIS_URL": queue_redis_url,
            "SECRET_KEY": "test-secret",
            "JWT_SECRET_KEY": JWT_TEST_SECRET,
            "JWT_ACCESS_TOKEN_EXPIRES": timedelta(hours=1),
            "MEDIA_ROOT": str(tmp_path_factory.mktemp("queued-media")),
            "RAGKIT_SETTINGS": kit.settings,
        }
    )
    application.extensions["ragkit"] = kit
    use_knowledge_base(kit)
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture
def client(queue_app: Flask, connection: Redis) -> FlaskClient:
    return queue_app.test_client()


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)


@pytest.fixture
def owner(auth: AuthActions) -> Account:
    return auth.register("Queued Support")


@pytest.fixture
def upload(client: FlaskClient) -> Callable[..., TestResponse]:
    """POST a file to /api/v1/documents/ as an account."""

    def post(account: Account, path: Path, **form: str) -> TestResponse:
        with path.open("rb") as handle:
            response = client.post(
                "/api/v1/documents/",
                data={**form, "file": (handle, path.name)},
                headers=account.headers,
                content_type="multipart/form-data",
            )
        return response

    return post


@pytest.fixture
def run_worker(connection: Redis) -> Callable[[], SimpleKnowledgeWorker]:
    """Run a real worker in this process until the queues are empty."""

    def run() -> SimpleKnowledgeWorker:
        worker = SimpleKnowledgeWorker(list(QUEUES), connection=connection, queue_prefix="")
        worker.work(burst=True, logging_level="WARNING")
        return worker

    return run


def stored_rows(kit: RagKit, document_id: uuid.UUID | str) -> dict[str, Any]:
    """The document's status and what is stored for it: chunks, chunk indexes, vector rows."""
    document_id = uuid.UUID(str(document_id))
    with kit.database.sessions() as session:
        document = session.get(Document, document_id)
        assert document is not None
        indexes = list(
            session.scalars(sa.select(Chunk.chunk_index).where(Chunk.document_id == document_id))
        )
        table = active_index(session, document.organization_id).table_name
        vectors = session.execute(
            sa.text(f"SELECT count(*) FROM {table} WHERE metadata_->>'ref_doc_id' = :id"),
            {"id": str(document_id)},
        ).scalar_one()
        return {
            "status": document.status,
            "error": document.processing_error,
            "chunk_count": document.chunk_count,
            "chunks": len(indexes),
            "distinct_chunk_indexes": len(set(indexes)),
            "vectors": vectors,
        }
