"""Finding documents whose processing was lost, and queueing them again.

A document is stale when it is ``pending`` or ``processing`` but no job will finish it: its job
is gone (Redis was flushed, the upload happened while Redis was down) or has ended without
updating it, the worker running it has died (SIGKILL, out of memory, a lost machine), or it has
been ``processing`` for longer than a job may run.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from redis import Redis
from rq import Worker
from rq.job import Job, JobStatus

from ragkit import Document, DocumentStatus, RagKit
from workers.queue import PROCESS_TIMEOUT, enqueue_processing, live_job, process_job_id

# RQ gives up on a job a minute after its timeout; after that nothing will finish it.
STALE_AFTER = timedelta(seconds=PROCESS_TIMEOUT + 60)
UNFINISHED = (DocumentStatus.PENDING.value, DocumentStatus.PROCESSING.value)


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
    return document.status == DocumentStatus.PROCESSING.value and running_for > STALE_AFTER


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
    """Queue the processing of every stale document again (on the ``prefix``'s queue)."""
    now = datetime.now(UTC)
    stale = [doc for doc in unfinished_documents(kit) if is_stale(connection, doc, now, prefix)]
    for document in stale:
        _forget_lost_job(connection, document, prefix)
        enqueue_processing(connection, document.id, document.content_hash, prefix=prefix)
    return [document.id for document in stale]


def _forget_lost_job(connection: Redis, document: UnfinishedDocument, prefix: str) -> None:
    """Delete a job that claims to run but never will finish, so it can be queued anew."""
    job = live_job(connection, document.job_id(prefix))
    if job is not None:
        job.delete()
