"""The Redis connection, the queues by priority, and the helpers that enqueue jobs.

Job ids are deterministic, so enqueueing the same work twice while it is waiting or running
adds nothing: ``process-<document id>-<content hash[:12]>`` is one document version, and
``reindex-<run id>-<batch>`` one batch of a reindex run.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping

from redis import Redis
from rq import Queue, Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"

INGEST = "ingest"
REINDEX = "reindex"
# Highest priority first: a worker drains uploads before reindex batches.
QUEUES = (INGEST, REINDEX)

PROCESS_TIMEOUT = 600
REINDEX_TIMEOUT = 1800
RETRY_INTERVALS = [10, 30, 60]
# A job in one of these states will still run: enqueueing it again would run it twice.
WAITING_OR_RUNNING = {
    JobStatus.QUEUED,
    JobStatus.STARTED,
    JobStatus.SCHEDULED,
    JobStatus.DEFERRED,
}


def redis_url(environ: Mapping[str, str] | None = None) -> str:
    """``REDIS_URL`` from the environment, or the local default."""
    env = os.environ if environ is None else environ
    return env.get("REDIS_URL") or DEFAULT_REDIS_URL


def connect(url: str | None = None) -> Redis:
    """A Redis connection to ``url`` (default: :func:`redis_url`)."""
    return Redis.from_url(url or redis_url())


def retry_policy() -> Retry:
    """Three more attempts, 10, 30 and 60 seconds apart (needs a worker with a scheduler)."""
    return Retry(max=len(RETRY_INTERVALS), interval=list(RETRY_INTERVALS))


def process_job_id(document_id: uuid.UUID, content_hash: str | None) -> str:
    """The id of the job that processes this version of the document."""
    return f"process-{document_id}-{(content_hash or 'none')[:12]}"


def reindex_job_id(run_id: uuid.UUID, batch: int) -> str:
    return f"reindex-{run_id}-{batch}"


def live_job(connection: Redis, job_id: str) -> Job | None:
    """The job with this id if it is still waiting or running."""
    try:
        job = Job.fetch(job_id, connection=connection)
    except NoSuchJobError:
        return None
    return job if job.get_status(refresh=False) in WAITING_OR_RUNNING else None


def enqueue_processing(
    connection: Redis, document_id: uuid.UUID, content_hash: str | None, *, force: bool = False
) -> Job:
    """Queue ``process_document`` for the document, unless that version is already queued."""
    job_id = process_job_id(document_id, content_hash)
    existing = live_job(connection, job_id)
    if existing is not None:
        return existing
    return Queue(INGEST, connection=connection).enqueue(
        "workers.jobs.process_document",
        str(document_id),
        force=force,
        job_id=job_id,
        job_timeout=PROCESS_TIMEOUT,
        retry=retry_policy(),
        description=f"process document {document_id}",
    )


def enqueue_reindex(connection: Redis, run_id: uuid.UUID, batches: list[int]) -> list[Job]:
    """Queue one ``reindex_batch`` job per batch of the run."""
    queue = Queue(REINDEX, connection=connection)
    jobs = []
    for batch in batches:
        job_id = reindex_job_id(run_id, batch)
        existing = live_job(connection, job_id)
        jobs.append(
            existing
            or queue.enqueue(
                "workers.jobs.reindex_batch",
                str(run_id),
                batch,
                job_id=job_id,
                job_timeout=REINDEX_TIMEOUT,
                retry=retry_policy(),
                description=f"reindex run {run_id} batch {batch}",
            )
        )
    return jobs
