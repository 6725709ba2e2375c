"""Finding documents whose processing was lost, and queueing them again.

A document is stale when it is ``pending`` or ``processing`` but no job will finish it: its job
is gone (Redis was flushed, the upload happened while Redis was down) or has ended without
updating it, the worker running it has died (SIGKILL, out of memory, a lost machine), or it has
been ``processing`` for longer than a job may run.

A document is not queued again for ever: each run of its job counts as a crash until it ends
(returning or raising), so a run whose process is killed (out of memory, a crash in a parser,
a lost machine) stays counted. After :data:`MAX_CRASHES` in a row the document is marked
``failed`` with the last crash's reason, by its next run or by the stale-work check, whichever
comes first, and the worker goes on with the next job. Reprocessing the document by hand starts
the count again.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from redis import Redis
from redis.exceptions import RedisError
from rq import Worker
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from ragkit import Document, DocumentStatus, DocumentTooLarge, RagKit
from workers.limits import fail_document
from workers.queue import PROCESS_TIMEOUT, enqueue_processing, live_job, process_job_id
from workers.status import failure_of

log = logging.getLogger(__name__)

# RQ gives up on a job a minute after its timeout; after that nothing will finish it.
STALE_AFTER = timedelta(seconds=PROCESS_TIMEOUT + 60)
UNFINISHED = (DocumentStatus.PENDING, DocumentStatus.PROCESSING)
# Runs of a document's job that may end with their process dead before it is given up.
MAX_CRASHES = 3
# A count outlives the job's retries and any stale-work check, but not an abandoned document.
CRASH_COUNT_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class UnfinishedDocument:
    id: uuid.UUID
    content_hash: str | None
    status: str
    updated_at: datetime

    def job_id(self, prefix: str = "") -> str:
        return process_job_id(self.id, self.content_hash, prefix)


def unfinished_documents(kit: RagKit) -> list[UnfinishedDocument]:
    """Every document waiting for, or in the middle of, processing."""
    with kit.database.sessions() as session:
        rows = session.execute(
            sa.select(Document.id, Document.content_hash, Document.status, Document.updated_at)
            .where(Document.status.in_(UNFINISHED))
            .order_by(Document.updated_at)
        ).all()
    return [UnfinishedDocument(*row) for row in rows]


def is_stale(
    connection: Redis, document: UnfinishedDocument, now: datetime, prefix: str = ""
) -> bool:
    """No job will finish this document."""
    job = live_job(connection, document.job_id(prefix))
    if job is None:
        return True
    if job.get_status(refresh=False) == JobStatus.STARTED and not worker_alive(connection, job):
        return True
    running_for = now - document.updated_at
    return document.status == DocumentStatus.PROCESSING and running_for > STALE_AFTER


def worker_alive(connection: Redis, job: Job) -> bool:
    """Whether the worker that started the job still runs.

    A worker's key expires about 90 seconds after its last heartbeat; a worker on this machine
    is checked at once by its process id.
    """
    if not job.worker_name:
        return False
    worker = Worker.find_by_key(Worker.redis_worker_namespace_prefix + job.worker_name, connection)
    if worker is None:
        return False
    if worker.hostname == socket.gethostname() and worker.pid:
        return process_exists(worker.pid)
    return True


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, as another user
    return True


def requeue_stale(kit: RagKit, connection: Redis, *, prefix: str = "") -> list[uuid.UUID]:
    """Queue the processing of every stale document again (on the ``prefix``'s queue).

    A document whose job has crashed :data:`MAX_CRASHES` times is marked ``failed`` instead.
    Returns the documents queued again.
    """
    now = datetime.now(UTC)
    stale = [doc for doc in unfinished_documents(kit) if is_stale(connection, doc, now, prefix)]
    requeued = []
    for document in stale:
        job_id = document.job_id(prefix)
        crashes = crash_count(connection, job_id)
        if crashes >= MAX_CRASHES:
            message = fail_document(
                kit, document.id, crashed(crashes, last_crash(connection, job_id))
            )
            log.warning("document %s is not queued again: %s", document.id, message)
            forget_crashes(connection, job_id)
            continue
        _forget_lost_job(connection, document, prefix)
        enqueue_processing(connection, document.id, document.content_hash, prefix=prefix)
        requeued.append(document.id)
    return requeued


def _forget_lost_job(connection: Redis, document: UnfinishedDocument, prefix: str) -> None:
    """Delete a job that claims to run but never will finish, so it can be queued anew."""
    job = live_job(connection, document.job_id(prefix))
    if job is not None:
        job.delete()


def crash_key(job_id: str) -> str:
    """Where the runs of the job that have not ended are counted (under the job's own id)."""
    return f"{job_id}:crashes"


def record_crash(connection: Redis, job_id: str, how: str) -> None:
    """Note how the job's process died (its worker saw it), for the message that gives up."""
    connection.set(f"{crash_key(job_id)}:last", how, ex=CRASH_COUNT_SECONDS)


def crash_count(connection: Redis, job_id: str) -> int:
    """Runs of the job whose process died before they ended."""
    return int(connection.get(crash_key(job_id)) or 0)


def forget_crashes(connection: Redis, job_id: str) -> None:
    connection.delete(crash_key(job_id), f"{crash_key(job_id)}:last")


@contextlib.contextmanager
def counting_crashes(kit: RagKit, job: Job | None, document_id: uuid.UUID) -> Iterator[None]:
    """Count this run of ``job`` as a crash until it ends; give up after too many.

    Raises:
        DocumentTooLarge: the job has crashed :data:`MAX_CRASHES` times already; the document
            is marked ``failed`` (and RQ does not retry an error about the input).
    """
    if job is None:  # called outside a worker
        yield
        return
    key = crash_key(job.id)
    with job.connection.pipeline() as pipeline:
        pipeline.incr(key)
        pipeline.expire(key, CRASH_COUNT_SECONDS)
        runs, _ = pipeline.execute()
    try:
        if runs - 1 >= MAX_CRASHES:
            reason = crashed(runs - 1, last_crash(job.connection, job.id))
            raise DocumentTooLarge(fail_document(kit, document_id, reason))
        yield
    finally:
        try:
            forget_crashes(job.connection, job.id)
        except RedisError as error:  # the count only matters if the process dies; it has not
            log.warning("could not clear the crash count of job %s: %s", job.id, error)


def last_crash(connection: Redis, job_id: str) -> str | None:
    """How the job's process died the last time, as its worker saw it or RQ recorded it."""
    seen = connection.get(f"{crash_key(job_id)}:last")
    if seen:
        return seen.decode() if isinstance(seen, bytes) else str(seen)
    try:
        return failure_of(Job.fetch(job_id, connection=connection))
    except NoSuchJobError:
        return None


def crashed(crashes: int, last: str | None) -> str:
    """Why a document is given up after its job crashed ``crashes`` times."""
    cause = f"; the last {last.rstrip('; ')}" if last else ""
    return (
        f"processing was given up after its job process died {crashes} times "
        f"(killed, out of memory or crashed{cause})"
    )
