"""A real ``python -m workers`` rides out a Redis outage and a database outage.

The worker runs on a Redis server and an embedded PostgreSQL of this module's own, which it
stops and starts again (the shared ones are never touched). Each test prints what it measured
(run with ``-s``): how long the service was down and how long the worker took to work again.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis
from rq import Worker
from rq.job import Job, JobStatus

from ragkit import Document, DocumentStatus, Settings
from ragkit.database import Database
from tests.outage_servers import PostgresServer, RedisServer
from tests.workers.test_worker_process import children_of, wait_until
from workers.queue import enqueue_processing

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 120
OUTAGE_SECONDS = 4
FINISH_SECONDS = 120
# RQ's first retry comes 10 s after the failure; the job itself takes a few more.
RETRIED_SECONDS = 45


@pytest.fixture(scope="module")
def database(
    postgres_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    """The own server's database, migrated; this test reads and writes documents through it."""
    settings = Settings(database_url=postgres_server.url, home=tmp_path_factory.mktemp("home"))
    migrated = Database.from_settings(settings)
    yield migrated
    migrated.close()


class WorkerProcess:
    """``python -m workers`` on the own servers, upkeep every second, its output in a log."""

    def __init__(self, env: dict[str, str], connection: Redis, log: Path) -> None:
        self.connection = connection
        self.log = log
        with log.open("ab") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "workers", "--maintenance-interval", "1"],
                cwd=log.parent,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        wait_until(self.registered, STARTUP_SECONDS, f"the worker to start (log: {log})")

    def registered(self) -> bool:
        self.assert_alive()
        return any(w.pid == self.process.pid for w in Worker.all(connection=self.connection))

    def assert_alive(self) -> None:
        assert self.process.poll() is None, self.output()[-4000:]

    def alive(self) -> bool:
        """True while the worker runs; fails the test at once if it has exited."""
        self.assert_alive()
        return True

    def output(self, since: int = 0) -> str:
        """What the worker logged, from byte ``since`` on."""
        with self.log.open("rb") as log:
            log.seek(since)
            return log.read().decode(errors="replace")

    def logged(self) -> int:
        return self.log.stat().st_size

    def has_scheduler(self) -> bool:
        """A live (not zombie) child process runs the scheduler that queues retries."""
        return any(state(pid) not in ("Z", None) for pid in children_of(self.process.pid))

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def state(pid: int) -> str | None:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


@pytest.fixture(scope="module")
def worker(
    redis_server: RedisServer,
    postgres_server: PostgresServer,
    database: Database,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[WorkerProcess]:
    home = tmp_path_factory.mktemp("outage-worker")
    env = {
        **os.environ,
        "DATABASE_URL": postgres_server.url,
        "REDIS_URL": redis_server.url,
        "RAGKIT_HOME": str(home),
        "PYTHONPATH": str(ROOT),
        "RAGKIT_QUEUE_PREFIX": "",
    }
    connection = Redis.from_url(redis_server.url)
    started = WorkerProcess(env, connection, home / "worker.log")
    yield started
    started.stop()
    connection.close()


@pytest.fixture
def connection(redis_server: RedisServer) -> Iterator[Redis]:
    redis = Redis.from_url(redis_server.url)
    yield redis
    redis.close()


def pending_document(database: Database, folder: Path, paragraphs: int) -> uuid.UUID:
    """A new organization's uploaded-style ``pending`` document of ``paragraphs`` paragraphs."""
    text = "\n\n".join(
        f"Section {n}. Customers who see error E-{1000 + n} should restart the sync client, "
        f"check the proxy settings of region {n % 11} and contact support after {n % 5 + 1} days."
        for n in range(paragraphs)
    )
    path = folder / f"guide-{uuid.uuid4().hex[:8]}.txt"
    path.write_text(text)
    data = path.read_bytes()
    document = Document(
        id=uuid.uuid4(),
        organization_id=f"outage-{uuid.uuid4().hex[:8]}",
        title=path.stem,
        source=path.name,
        file_path=str(path),
        content_type="text/plain",
        file_size=len(data),
        content_hash=hashlib.sha256(data).hexdigest(),
        status=DocumentStatus.PENDING.value,
    )
    with database.sessions() as session:
        session.add(document)
        session.commit()
    return document.id


def enqueue(database: Database, connection: Redis, document_id: uuid.UUID) -> Job:
    with database.sessions() as session:
        document = session.get(Document, document_id)
        assert document is not None
        return enqueue_processing(connection, document_id, document.content_hash)


def document_status(database: Database, document_id: uuid.UUID) -> str:
    with database.sessions() as session:
        document = session.get(Document, document_id)
        assert document is not None
        return document.status


def chunk_count(database: Database, document_id: uuid.UUID) -> int | None:
    with database.sessions() as session:
        document = session.get(Document, document_id)
        assert document is not None
        return document.chunk_count


def test_worker_rides_out_a_redis_outage_in_the_middle_of_a_job_then_takes_the_next_job(
    worker: WorkerProcess,
    redis_server: RedisServer,
    connection: Redis,
    database: Database,
    tmp_path: Path,
) -> None:
    wait_until(worker.has_scheduler, 30, "the worker's scheduler")
    first = pending_document(database, tmp_path, 120)
    interrupted = enqueue(database, connection, first)
    wait_until(lambda: document_status(database, first) == "processing", 60, "processing")
    logged = worker.logged()

    redis_server.stop()
    down = time.monotonic()
    # The job ends while Redis is down: its worker cannot record the outcome in Redis.
    wait_until(lambda: worker.alive() and document_status(database, first) == "ready", 60, "job")
    time.sleep(OUTAGE_SECONDS / 2)
    worker.assert_alive()
    redis_server.start()
    back = time.monotonic()
    second = pending_document(database, tmp_path, 20)
    job = enqueue(database, connection, second)
    wait_until(
        lambda: worker.alive() and job.get_status() != JobStatus.QUEUED,
        FINISH_SECONDS,
        "the next job",
    )
    taken = time.monotonic()
    wait_until(lambda: document_status(database, second) == "ready", FINISH_SECONDS, "ready")
    # The job whose outcome Redis missed is retried at once, not left to RQ's clean-up of
    # abandoned jobs (a minute and a half later).
    wait_until(lambda: interrupted.get_status() == JobStatus.FINISHED, RETRIED_SECONDS, "the retry")
    finished = time.monotonic()

    worker.assert_alive()
    assert worker.registered()
    wait_until(worker.has_scheduler, 30, "the scheduler to run again")
    assert "Redis was lost around job" in worker.output(logged)
    print(
        f"\nworker, Redis outage during a job: down {back - down:.1f} s; next job taken "
        f"{taken - back:.1f} s after Redis came back, the interrupted one retried and finished "
        f"after {finished - back:.1f} s; worker restarts 0; jobs lost 0"
    )


def test_job_failing_in_a_database_outage_is_retried_and_the_worker_survives_its_upkeep(
    worker: WorkerProcess,
    postgres_server: PostgresServer,
    connection: Redis,
    database: Database,
    tmp_path: Path,
) -> None:
    document_id = pending_document(database, tmp_path, 200)
    job = enqueue(database, connection, document_id)
    wait_until(lambda: document_status(database, document_id) == "processing", 60, "processing")
    logged = worker.logged()

    postgres_server.stop()
    down = time.monotonic()
    wait_until(lambda: job.get_status() == JobStatus.SCHEDULED, FINISH_SECONDS, "the job to fail")
    wait_until(
        lambda: worker.alive() and "could not look for stale documents" in worker.output(logged),
        30,
        "the upkeep to meet the outage",
    )
    worker.assert_alive()
    postgres_server.start()
    back = time.monotonic()
    wait_until(
        lambda: document_status(database, document_id) == "ready", FINISH_SECONDS, "the retry"
    )
    ready = time.monotonic()

    worker.assert_alive()
    job.refresh()
    assert job.retries_left == 2  # failed once, in the outage; the retry succeeded
    assert (chunk_count(database, document_id) or 0) > 0
    print(
        f"\nworker, database outage: down {back - down:.1f} s; the job that failed in it was "
        f"ready {ready - back:.1f} s after the database came back (RQ retries after 10 s); "
        f"worker restarts 0; jobs lost 0"
    )
