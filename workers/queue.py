"""The Redis connection, the queues by priority, and the helpers that enqueue jobs.

Job ids are deterministic, so enqueueing the same work twice while it is waiting or running
adds nothing: ``process-<document id>-<content hash[:12]>`` is one document version,
``reindex-<run id>-<batch>`` one batch of a reindex run, ``handoff-<id>`` one webhook delivery.

Two deployments can share one Redis when each has its own ``RAGKIT_QUEUE_PREFIX``: with
``acme`` the queues are ``acme:ingest`` and ``acme:reindex``, the job ids ``acme-process-...``
(RQ allows no colon in an id) and the app's own keys ``acme:...``. Without one, nothing changes.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Mapping, Sequence

from redis import Redis
from rq import Queue, Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from ragkit import ConfigurationError

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"

INGEST = "ingest"
REINDEX = "reindex"
WEBHOOKS = "webhooks"
# Highest priority first: a worker drains uploads before reindex batches, then webhook deliveries.
QUEUES = (INGEST, REINDEX, WEBHOOKS)
# It ends up in job ids too, which RQ limits to these characters.
PREFIX_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,40}")

PROCESS_TIMEOUT = 600
REINDEX_TIMEOUT = 1800
RETRY_INTERVALS = [10, 30, 60]
DELIVERY_TIMEOUT = 120
# A webhook that is down for a while still gets the handoff: the last try is ~40 minutes later.
DELIVERY_RETRY_INTERVALS = [30, 120, 600, 1800]
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


def queue_prefix(environ: Mapping[str, str] | None = None) -> str:
    """``RAGKIT_QUEUE_PREFIX`` from the environment, checked; empty when unset."""
    env = os.environ if environ is None else environ
    return checked_prefix(env.get("RAGKIT_QUEUE_PREFIX", ""))


def checked_prefix(prefix: str) -> str:
    """``prefix`` if it can name queues, job ids and keys; raises ``ConfigurationError``."""
    prefix = prefix.strip()
    if prefix and not PREFIX_PATTERN.fullmatch(prefix):
        raise ConfigurationError(
            f"RAGKIT_QUEUE_PREFIX={prefix!r} is not valid: use 1 to 40 letters, digits, '-' or '_'"
        )
    return prefix


def prefixed(name: str, prefix: str = "") -> str:
    """A queue name or Redis key under the deployment's prefix (``acme:ingest``)."""
    return f"{prefix}:{name}" if prefix else name


def queue_names(prefix: str = "", names: Sequence[str] = QUEUES) -> tuple[str, ...]:
    """The deployment's names of the queues (default: all of them, highest priority first)."""
    return tuple(prefixed(name, prefix) for name in names)


def connect(url: str | None = None) -> Redis:
    """A Redis connection to ``url`` (default: :func:`redis_url`)."""
    return Redis.from_url(url or redis_url())


def retry_policy() -> Retry:
    """Three more attempts, 10, 30 and 60 seconds apart (needs a worker with a scheduler)."""
    return Retry(max=len(RETRY_INTERVALS), interval=list(RETRY_INTERVALS))


def process_job_id(document_id: uuid.UUID, content_hash: str | None, prefix: str = "") -> str:
    """The id of the job that processes this version of the document."""
    return _job_id(f"process-{document_id}-{(content_hash or 'none')[:12]}", prefix)


def reindex_job_id(run_id: uuid.UUID, batch: int, prefix: str = "") -> str:
    return _job_id(f"reindex-{run_id}-{batch}", prefix)


def _job_id(name: str, prefix: str) -> str:
    return f"{prefix}-{name}" if prefix else name


def live_job(connection: Redis, job_id: str) -> Job | None:
    """The job with this id if it is still waiting or running."""
    try:
        job = Job.fetch(job_id, connection=connection)
    except NoSuchJobError:
        return None
    return job if job.get_status(refresh=False) in WAITING_OR_RUNNING else None


def enqueue_processing(
    connection: Redis,
    document_id: uuid.UUID,
    content_hash: str | None,
    *,
    force: bool = False,
    prefix: str = "",
) -> Job:
    """Queue ``process_document`` for the document, unless that version is already queued."""
    job_id = process_job_id(document_id, content_hash, prefix)
    existing = live_job(connection, job_id)
    if existing is not None:
        return existing
    return Queue(prefixed(INGEST, prefix), connection=connection).enqueue(
        "workers.jobs.process_document",
        str(document_id),
        force=force,
        job_id=job_id,
        job_timeout=PROCESS_TIMEOUT,
        retry=retry_policy(),
        description=f"process document {document_id}",
    )


def enqueue_reindex(
    connection: Redis, run_id: uuid.UUID, batches: list[int], *, prefix: str = ""
) -> list[Job]:
    """Queue one ``reindex_batch`` job per batch of the run."""
    queue = Queue(prefixed(REINDEX, prefix), connection=connection)
    jobs = []
    for batch in batches:
        job_id = reindex_job_id(run_id, batch, prefix)
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


def handoff_job_id(handoff_id: uuid.UUID, prefix: str = "") -> str:
    return _job_id(f"handoff-{handoff_id}", prefix)


def enqueue_handoff_delivery(connection: Redis, handoff_id: uuid.UUID, *, prefix: str = "") -> Job:
    """Queue ``deliver_handoff`` (retried with growing intervals), unless it is queued already."""
    job_id = handoff_job_id(handoff_id, prefix)
    existing = live_job(connection, job_id)
    if existing is not None:
        return existing
    retry = Retry(max=len(DELIVERY_RETRY_INTERVALS), interval=list(DELIVERY_RETRY_INTERVALS))
    return Queue(prefixed(WEBHOOKS, prefix), connection=connection).enqueue(
        "workers.jobs.deliver_handoff",
        str(handoff_id),
        job_id=job_id,
        job_timeout=DELIVERY_TIMEOUT,
        retry=retry,
        description=f"deliver handoff {handoff_id} to the webhook",
    )
