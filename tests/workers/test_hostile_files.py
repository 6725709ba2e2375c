"""The hostile-file corpus through the worker path: each file ends ``ready`` or ``failed`` with a
message naming what is wrong, in bounded time and memory, and the worker goes on.

Files are recorded as ``pending`` documents the way an upload records them (without the
upload's own checks, so the worker meets the files the API would refuse too) and processed by
real RQ workers: in this process with the limits of ``TEST_LIMITS``, and in forked work horses
of a ``python -m workers`` process for the memory limit and for jobs whose process dies.
"""

from __future__ import annotations

import hashlib
import os
import resource
import signal
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from redis import Redis
from rq import Queue, Retry
from rq.job import Job

from ragkit import Chunk, Document, DocumentStatus, RagKit
from ragkit.errors import RagkitError
from ragkit.readers import detect_content_type
from tests.fixtures import stored_rows
from tests.hostile_corpus import TEST_LIMITS, HostileFile, generate
from tests.workers.test_worker_process import (
    FINISH_SECONDS,
    ROOT,
    WorkerProcess,
    children_of,
    process_redis_url,
    status_of,
    wait_until,
)
from workers.context import use_knowledge_base
from workers.queue import INGEST, enqueue_processing, process_job_id
from workers.recovery import MAX_CRASHES, crash_key

# Per file, far above what each takes (well under a second) and far below a stuck job.
SECONDS_PER_FILE = 20
# How much the test process may grow while the worker reads the whole corpus.
MEMORY_GROWTH_MB = 400
MB = 1024 * 1024


def record_pending(kit: RagKit, organization: str, path: Path) -> uuid.UUID:
    """A ``pending`` document for the file, as an upload records it."""
    data = path.read_bytes()
    try:
        content_type = detect_content_type(data, path.name)
    except RagkitError:
        content_type = "application/octet-stream"
    document = Document(
        id=uuid.uuid4(),
        organization_id=organization,
        title=path.stem,
        source=path.name,
        file_path=str(path),
        content_type=content_type,
        file_size=len(data),
        content_hash=hashlib.sha256(data).hexdigest(),
        status=DocumentStatus.PENDING.value,
    )
    with kit.database.sessions() as session:
        session.add(document)
        session.commit()
    return document.id


def queue_document(kit: RagKit, connection: Redis, document_id: uuid.UUID) -> Job:
    with kit.database.sessions() as session:
        document = session.get(Document, document_id)
        assert document is not None
        return enqueue_processing(connection, document_id, document.content_hash)


def chunk_text(kit: RagKit, document_id: uuid.UUID) -> str:
    with kit.database.sessions() as session:
        return "\n".join(
            session.scalars(
                sa.select(Chunk.content)
                .where(Chunk.document_id == document_id)
                .order_by(Chunk.chunk_index)
            )
        )


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.fixture
def limited_kit(kit: RagKit) -> Iterator[RagKit]:
    """The session's knowledge base with the corpus's low limits, used by the jobs."""
    limited = RagKit(
        kit.settings.replace(
            max_file_size=TEST_LIMITS.file_size,
            max_unpacked_size=TEST_LIMITS.unpacked_size,
            max_compression_ratio=TEST_LIMITS.compression_ratio,
            max_rows=TEST_LIMITS.rows,
            max_pages=TEST_LIMITS.pages,
            max_text_chars=TEST_LIMITS.text_chars,
        ),
        kit.database,
    )
    use_knowledge_base(limited)
    yield limited
    use_knowledge_base(kit)


@pytest.fixture
def corpus(workdir: Path) -> list[HostileFile]:
    return generate(workdir / "corpus", "small")


def test_every_hostile_file_ends_ready_or_failed_with_its_reason_and_the_worker_goes_on(
    limited_kit: RagKit,
    organization: str,
    corpus: list[HostileFile],
    example_docs: Path,
    connection: Redis,
    run_worker: Callable[[], object],
) -> None:
    warm_up = record_pending(limited_kit, organization, example_docs / "plans.csv")
    queue_document(limited_kit, connection, warm_up)
    run_worker()  # the model loaded and used: what follows is the corpus's own cost
    documents = {item: record_pending(limited_kit, organization, item.path) for item in corpus}
    after = record_pending(limited_kit, organization, example_docs / "faq.md")
    jobs = [queue_document(limited_kit, connection, d) for d in [*documents.values(), after]]
    peak_before = peak_rss_mb()

    run_worker()

    outcomes = {item.path.name: stored_rows(limited_kit, d) for item, d in documents.items()}
    for item, document_id in documents.items():
        rows = outcomes[item.path.name]
        assert rows["status"] == item.outcome, (item.path.name, rows)
        if item.outcome == "failed":
            assert item.expect in rows["error"], (item.path.name, rows["error"])
            assert rows["error"].startswith(item.path.name), rows["error"]
        else:
            assert rows["chunks"] == rows["vectors"] == rows["chunk_count"] > 0
            assert item.expect in chunk_text(limited_kit, document_id)
    assert stored_rows(limited_kit, after)["status"] == "ready"  # the worker went on
    for job in jobs:
        job.refresh()
        assert job.ended_at is not None and job.started_at is not None
        assert (job.ended_at - job.started_at).total_seconds() < SECONDS_PER_FILE, job.id
    queue = Queue(INGEST, connection=connection)
    assert queue.scheduled_job_registry.count == 0  # no file is retried: each fails the same way
    assert queue.count == 0
    assert peak_rss_mb() - peak_before < MEMORY_GROWTH_MB


def test_ingest_applies_the_same_limits_and_reports_every_file(
    limited_kit: RagKit, organization: str, corpus: list[HostileFile]
) -> None:
    report = limited_kit.ingest_path(corpus[0].path.parent, organization=organization)

    results = {Path(result.path).name: result for result in report.results}
    for item in corpus:
        result = results[item.path.name]
        if item.outcome == "failed":
            assert result.outcome == "failed", (item.path.name, result)
            assert item.expect in (result.error or ""), (item.path.name, result.error)
        else:
            assert result.outcome == "added", (item.path.name, result)


# A document of a few hundred chunks: an embedding batch of 256 of them needs more memory than
# the job may take (a batch of a small document's few chunks much less).
MEMORY_HUNGRY_TEXT = "\n\n".join(
    f"Region {n} uses proxy {n % 13}; error E-{2000 + n} clears after restarting the sync "
    f"client and signing in again with the account of workspace {n * 7}."
    for n in range(2000)
)
JOB_MEMORY = "500MB"


@pytest.fixture(scope="module")
def process_redis() -> Iterator[Redis]:
    """The worker processes' Redis database (as in ``test_worker_process``), emptied around."""
    connection = Redis.from_url(process_redis_url())
    connection.flushdb()
    yield connection
    connection.flushdb()
    connection.close()


@pytest.fixture(scope="module")
def small_memory_worker(
    database_url: str, process_redis: Redis, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerProcess]:
    """``python -m workers`` whose work horses may map only 500 MB beyond the model."""
    home = tmp_path_factory.mktemp("small-memory-worker")
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": process_redis_url(),
        "RAGKIT_HOME": str(home),
        "PYTHONPATH": str(ROOT),
        "RAGKIT_QUEUE_PREFIX": "",
        "RAGKIT_JOB_MEMORY": JOB_MEMORY,
        "RAGKIT_EMBED_BATCH_SIZE": "256",
    }
    worker = WorkerProcess(env, process_redis, home / "worker.log")
    yield worker
    worker.stop()


def test_a_document_beyond_the_job_memory_fails_naming_the_limit_and_the_worker_goes_on(
    small_memory_worker: WorkerProcess,
    kit: RagKit,
    organization: str,
    workdir: Path,
    example_docs: Path,
    process_redis: Redis,
) -> None:
    hungry = workdir / "hungry.txt"
    hungry.write_text(MEMORY_HUNGRY_TEXT)
    hungry_id = record_pending(kit, organization, hungry)
    after = record_pending(kit, organization, example_docs / "release-notes.txt")
    hungry_job = queue_document(kit, process_redis, hungry_id)
    queue_document(kit, process_redis, after)

    wait_until(lambda: status_of(kit, after) == "ready", FINISH_SECONDS, "the next document")

    rows = stored_rows(kit, hungry_id)
    assert rows["status"] == "failed" and rows["chunks"] == 0, rows
    assert rows["error"] == (
        "hungry.txt: processing needed more memory than a job may use (500 MB, RAGKIT_JOB_MEMORY)"
    )
    hungry_job.refresh()
    assert hungry_job.get_status() == "failed" and hungry_job.retries_left == 0
    assert small_memory_worker.process.poll() is None


def test_a_job_whose_process_keeps_dying_is_given_up_and_the_worker_goes_on(
    small_memory_worker: WorkerProcess,
    kit: RagKit,
    organization: str,
    workdir: Path,
    example_docs: Path,
    process_redis: Redis,
) -> None:
    doomed_id = record_pending(kit, organization, slow_pdf(workdir / "doomed.pdf"))
    with kit.database.sessions() as session:
        content_hash = session.get(Document, doomed_id).content_hash
    # Retried at once (the queues' own retries wait 10 to 60 seconds), more often than it may.
    job = Queue(INGEST, connection=process_redis).enqueue(
        "workers.jobs.process_document",
        str(doomed_id),
        job_id=process_job_id(doomed_id, content_hash),
        retry=Retry(max=MAX_CRASHES + 2),
    )
    for crash in range(MAX_CRASHES):
        os.kill(horse_running(small_memory_worker, job, crash + 1), CRASHES[crash % 2])
    after = record_pending(kit, organization, example_docs / "faq.md")
    queue_document(kit, process_redis, after)

    wait_until(lambda: status_of(kit, doomed_id) == "failed", FINISH_SECONDS, "giving up")
    wait_until(lambda: status_of(kit, after) == "ready", FINISH_SECONDS, "the next document")
    rows = stored_rows(kit, doomed_id)
    assert rows["status"] == "failed", rows
    assert rows["error"].startswith(
        f"doomed.pdf: processing was given up after its job process died {MAX_CRASHES} times"
    )
    assert "the last killed by SIGKILL at " in rows["error"]
    job.refresh()
    assert job.get_status() == "failed" and job.retries_left == 0  # given up, not retried
    assert process_redis.get(crash_key(job.id)) is None
    assert small_memory_worker.process.poll() is None


# Killed by the kernel (out of memory) and aborted by native code.
CRASHES = (signal.SIGKILL, signal.SIGABRT)


def slow_pdf(path: Path) -> Path:
    """Two hundred pages of one line each: seconds of text extraction, little memory."""
    from reportlab.pdfgen.canvas import Canvas

    canvas = Canvas(str(path))
    for number in range(200):
        canvas.drawString(
            72, 720, f"Page {number + 1}: restart the sync client of region {number}."
        )
        canvas.showPage()
    canvas.save()
    return path


def horse_running(worker: WorkerProcess, job: Job, run: int) -> int:
    """The work horse of the job's ``run``-th run, once that run has started."""
    horses: set[int] = set()

    def started() -> bool:
        horses.clear()
        horses.update(children_of(worker.process.pid) - worker.helpers)
        return bool(horses) and worker.connection.get(crash_key(job.id)) == str(run).encode()

    wait_until(started, FINISH_SECONDS, f"run {run} of the job")
    return horses.pop()
