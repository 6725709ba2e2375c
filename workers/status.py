"""What the queues hold: waiting, running, scheduled (retries) and failed jobs, with errors."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from redis import Redis
from rq import Queue
from rq.job import Job
from rq.registry import BaseRegistry

from workers.queue import QUEUES


@dataclass(frozen=True)
class JobSummary:
    queue: str
    state: str
    id: str
    description: str
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "queue": self.queue,
            "state": self.state,
            "id": self.id,
            "description": self.description,
            "error": self.error,
        }


def job_summaries(connection: Redis, queues: tuple[str, ...] = QUEUES) -> list[JobSummary]:
    """Every queued, started, scheduled and failed job of the queues."""
    return [
        summary for name in queues for summary in _summaries(Queue(name, connection=connection))
    ]


def _summaries(queue: Queue) -> Iterator[JobSummary]:
    for job in queue.get_jobs():
        yield _summary(queue, "queued", job)
    registries: dict[str, BaseRegistry] = {
        "started": queue.started_job_registry,
        "scheduled": queue.scheduled_job_registry,
        "failed": queue.failed_job_registry,
    }
    for state, registry in registries.items():
        for job in Job.fetch_many(registry.get_job_ids(), connection=queue.connection):
            if job is not None:
                yield _summary(queue, state, job)


def _summary(queue: Queue, state: str, job: Job) -> JobSummary:
    error = failure_of(job) if state == "failed" else None
    return JobSummary(queue.name, state, job.id, job.description or job.func_name or "", error)


def failure_of(job: Job) -> str | None:
    """The last line of the job's latest failure (the exception and its message)."""
    result = job.latest_result()
    if result is None or not result.exc_string:
        return None
    lines = [line for line in result.exc_string.strip().splitlines() if line.strip()]
    return lines[-1] if lines else None
