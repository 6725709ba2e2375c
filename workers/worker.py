"""RQ workers with the project's start-up and retry policy.

``KnowledgeWorker`` (forking, the default) and ``SimpleKnowledgeWorker`` (jobs in the worker's
own process) both, before their first job: load the embedding model once, queue stale documents
again, and stop retrying jobs whose input can never be processed.
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Any

import rq
from rq.job import Job

from ragkit import DocumentNotFound, DocumentReadError, UnsupportedFileType
from ragkit.errors import ConfigurationError
from workers import limits, queue
from workers.context import knowledge_base, load_model
from workers.recovery import requeue_stale

log = logging.getLogger(__name__)

# Errors about the input itself: a retry would fail the same way.
PERMANENT_ERRORS = (DocumentReadError, UnsupportedFileType, DocumentNotFound, ConfigurationError)


def give_up_on_bad_input(
    job: Job,
    kind: type[BaseException] | None,
    error: BaseException | None,
    traceback: TracebackType | None,
) -> bool:
    """RQ exception handler: a job that failed on its input goes straight to the failed registry.

    Returns True so RQ's other handlers still run.
    """
    if isinstance(error, PERMANENT_ERRORS) and job.retries_left:
        log.info("job %s will not be retried: %s", job.id, error)
        job.retries_left = 0
    return True


class StartUp:
    """What every worker does before it takes its first job."""

    connection: Any

    def __init__(self, *args: Any, queue_prefix: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.push_exc_handler(give_up_on_bad_input)  # type: ignore[attr-defined]
        # RQ's own ``rq worker -w ...`` passes none: the environment names it then.
        self.queue_prefix = queue.queue_prefix() if queue_prefix is None else queue_prefix

    def work(self, *args: Any, **kwargs: Any) -> bool:
        prepare(self.connection, self.queue_prefix)
        return super().work(*args, **kwargs)  # type: ignore[misc]

    def run_maintenance_tasks(self) -> None:
        """RQ's periodic clean-up, then re-queue documents whose worker died meanwhile."""
        super().run_maintenance_tasks()  # type: ignore[misc]
        requeue_stale(knowledge_base(), self.connection, prefix=self.queue_prefix)


def prepare(connection: Any, prefix: str = "") -> None:
    """Load the model, re-queue lost processing, then close connections before forking."""
    load_model()
    requeued = requeue_stale(knowledge_base(), connection, prefix=prefix)
    if requeued:
        log.warning("queued %d stale documents again: %s", len(requeued), requeued)
    knowledge_base().database.engine.dispose()


class KnowledgeWorker(StartUp, limits.BoundedWorkHorse, rq.Worker):
    """Forks a work horse per job, sharing the model loaded before the fork."""


class SimpleKnowledgeWorker(StartUp, rq.SimpleWorker):
    """Runs jobs in its own process (tests, or platforms without ``fork``)."""
