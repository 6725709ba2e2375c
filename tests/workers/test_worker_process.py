"""Real forked workers (``python -m workers``) killed in the middle of a job.

These workers run as separate processes on their own Redis database (default database 13),
emptied before and after the module; they load the model themselves, so this module is slow.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from redis import Redis
from rq import Worker
from rq.job import Job

from ragkit import Document, DocumentStatus, RagKit
from tests.fixtures import stored_rows
from webapp import create_app
from workers.queue import enqueue_processing

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 180
FINISH_SECONDS = 240


def wait_until(condition: Callable[[], object], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds} s waiting for {what}")
        time.sleep(0.05)


def children_of(pid: int) -> set[int]:
    """Processes whose parent is ``pid``."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


class WorkerProcess:
    """One ``python -m workers`` process (plus its scheduler and work horses)."""

    def __init__(self, env: dict[str, str], connection: Redis, log: Path) -> None:
        self.connection = connection
        self.log = log
        with log.open("ab") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "workers"],
                cwd=log.parent,  # not the checkout: a developer's .env there would apply
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        wait_until(self.registered, STARTUP_SECONDS, f"the worker to start (log: {log})")
        time.sleep(1)  # its scheduler process starts just after it registers
        self.helpers = children_of(self.process.pid)

    def registered(self) -> bool:
        assert self.process.poll() is None, self.log.read_text()[-3000:]
        return any(w.pid == self.process.pid for w in Worker.all(connection=self.connection))

    def work_horse(self) -> int:
        """The process running the current job."""
        horses = children_of(self.process.pid) - self.helpers
        assert len(horses) == 1, horses
        return horses.pop()

    def kill(self) -> None:
        """SIGKILL the worker and every process it started, as a crash would."""
        for pid in children_of(self.process.pid):
            os.kill(pid, signal.SIGKILL)
        self.process.kill()
        self.process.wait()  # reaped, as init would

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture(scope="module")
def process_redis() -> Iterator[Redis]:
    connection = Redis.from_url(process_redis_url())
    connection.flushdb()
    yield connection
    connection.flushdb()
    connection.close()


def process_redis_url() -> str:
    return os.environ.get("WORKERS_TEST_PROCESS_REDIS_URL", "redis://127.0.0.1:6379/13")


@pytest.fixture(scope="module")
def start_worker(
    database_url: str, process_redis: Redis, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[], WorkerProcess]]:
    """Start ``python -m workers`` processes on the test database; all stopped afterwards."""
    home = tmp_path_factory.mktemp("worker-home")
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": process_redis_url(),
        "RAGKIT_HOME": str(home),
        "PYTHONPATH": str(ROOT),
        "RAGKIT_QUEUE_PREFIX": "",  # the test queues its jobs without one
    }
    started: list[WorkerProcess] = []

    def start() -> WorkerProcess:
        started.append(WorkerProcess(env, process_redis, home / "worker.log"))
        return started[-1]

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture(scope="module")
def worker(start_worker: Callable[[], WorkerProcess]) -> WorkerProcess:
    return start_worker()


@pytest.fixture
def big_document(kit: RagKit, organization: str, workdir: Path) -> uuid.UUID:
    """A pending document long enough to be killed in the middle of its processing."""
    paragraphs = [
        f"Section {n}. Customers on plan {n % 7} who see error E-{1000 + n} should restart the "
        f"sync client, check the proxy settings of region {n % 11}, and contact support if "
        f"ticket {n * 37} is still open after {n % 5 + 1} days."
        for n in range(150)
    ]
    path = workdir / "handbook.txt"
    path.write_text("\n\n".join(paragraphs))
    data = path.read_bytes()
    document = Document(
        id=uuid.uuid4(),
        organization_id=organization,
        title="Handbook",
        source=path.name,
        file_path=str(path),
        content_type="text/plain",
        file_size=len(data),
        content_hash=hashlib.sha256(data).hexdigest(),
        status=DocumentStatus.PENDING.value,
    )
    with kit.database.sessions() as session:
        session.add(document)
        session.commit()
    return document.id


def status_of(kit: RagKit, document_id: uuid.UUID) -> str:
    with kit.database.sessions() as session:
        document = session.get(Document, document_id)
        assert document is not None
        return document.status


def enqueue(kit: RagKit, connection: Redis, document_id: uuid.UUID) -> Job:
    with kit.database.sessions() as session:
        content_hash = session.get(Document, document_id).content_hash
    return enqueue_processing(connection, document_id, content_hash)


def assert_ready_once(kit: RagKit, document_id: uuid.UUID) -> None:
    rows = stored_rows(kit, document_id)
    assert rows["status"] == "ready", rows
    assert rows["chunks"] == rows["vectors"] == rows["chunk_count"] > 0
    assert rows["distinct_chunk_indexes"] == rows["chunks"]


def test_killed_work_horse_is_retried_to_ready_without_duplicates(
    worker: WorkerProcess, big_document: uuid.UUID, kit: RagKit, process_redis: Redis
) -> None:
    job = enqueue(kit, process_redis, big_document)
    wait_until(lambda: status_of(kit, big_document) == "processing", 120, "processing to start")

    os.kill(worker.work_horse(), signal.SIGKILL)

    wait_until(lambda: status_of(kit, big_document) == "ready", FINISH_SECONDS, "the retry")
    assert_ready_once(kit, big_document)
    job.refresh()
    assert job.retries_left == 2  # RQ retried it once


def test_reindex_wait_shows_progress_until_the_worker_has_finished(
    worker: WorkerProcess,
    big_document: uuid.UUID,
    organization: str,
    kit: RagKit,
    process_redis: Redis,
    database_url: str,
    tmp_path: Path,
) -> None:
    enqueue(kit, process_redis, big_document)
    wait_until(lambda: status_of(kit, big_document) == "ready", FINISH_SECONDS, "processing")
    app = queued_app(database_url, kit, tmp_path)

    result = app.test_cli_runner().invoke(
        args=["ragkit", "reindex", "--org", organization, "--chunk-size", "120", "--wait"]
    )

    assert result.exit_code == 0, result.output
    assert "reindexing" in result.stderr
    assert json.loads(result.stdout)["state"] == "succeeded"
    assert_ready_once(kit, big_document)


def queued_app(database_url: str, kit: RagKit, media: Path) -> Flask:
    app = create_app(
        {
            "TESTING": True,
            "PROCESSING_MODE": "queue",
            "DATABASE_URL": database_url,
            "REDIS_URL": process_redis_url(),
            "MEDIA_ROOT": str(media),
            "RAGKIT_SETTINGS": kit.settings,
        }
    )
    app.extensions["ragkit"] = kit
    return app


def test_a_new_worker_finishes_the_job_of_a_worker_killed_outright(
    worker: WorkerProcess,
    start_worker: Callable[[], WorkerProcess],
    big_document: uuid.UUID,
    kit: RagKit,
    process_redis: Redis,
) -> None:
    enqueue(kit, process_redis, big_document)
    wait_until(lambda: status_of(kit, big_document) == "processing", 120, "processing to start")

    worker.kill()
    assert status_of(kit, big_document) == "processing"
    start_worker()  # finds the job's worker dead, and queues the document again

    wait_until(lambda: status_of(kit, big_document) == "ready", FINISH_SECONDS, "the new worker")
    assert_ready_once(kit, big_document)
