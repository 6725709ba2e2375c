"""Worker fixtures: an app that queues its work on a real Redis, and real RQ workers.

The queues live in their own Redis database (``WORKERS_TEST_REDIS_URL``, default database 12 of
the local server), emptied before and after every test. Jobs run in this process through
``SimpleKnowledgeWorker`` in burst mode, on the session's ``RagKit`` (the model loads once).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from redis import Redis

from ragkit import RagKit
from tests.fixtures import app_config_for
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
    media_root = tmp_path_factory.mktemp("queued-media")
    application = create_app(
        app_config_for(database_url, queue_redis_url, kit, media_root, PROCESSING_MODE="queue")
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
def run_worker(connection: Redis) -> Callable[[], SimpleKnowledgeWorker]:
    """Run a real worker in this process until the queues are empty."""

    def run() -> SimpleKnowledgeWorker:
        worker = SimpleKnowledgeWorker(list(QUEUES), connection=connection, queue_prefix="")
        worker.work(burst=True, logging_level="WARNING")
        return worker

    return run
