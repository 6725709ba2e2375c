"""RQ workers with the project's start-up, retry and outage policy.

``KnowledgeWorker`` (forking, the default) and ``SimpleKnowledgeWorker`` (jobs in the worker's
own process) both, before their first job: load the embedding model once, queue stale documents
again, and stop retrying jobs whose input can never be processed.

Both ride out outages of Redis and of the database instead of exiting: while Redis cannot be
reached they try again with a growing pause (1 s, doubling, at most ``RECONNECT_MAX_SECONDS``)
and start their scheduler again once it is back; the periodic upkeep logs what it could not do
and tries again next time. A job that fails because the database is down is retried by RQ (see
``workers.queue.retry_policy``), like any other failed job.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

import psycopg
import rq
import sqlalchemy.exc
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq.exceptions import InvalidJobOperation, StopRequested
from rq.job import Job, JobStatus
from rq.worker import WorkerStatus

from ragkit import (
    ConfigurationError,
    DatabaseError,
    DocumentNotFound,
    DocumentReadError,
    UnsupportedFileType,
)
from workers import limits, queue
from workers.context import knowledge_base, load_model
from workers.recovery import requeue_stale

log = logging.getLogger(__name__)

T = TypeVar("T")

# Errors about the input itself: a retry would fail the same way.
PERMANENT_ERRORS = (DocumentReadError, UnsupportedFileType, DocumentNotFound, ConfigurationError)
# Redis could not be reached, or stopped answering.
REDIS_OUTAGES = (RedisConnectionError, RedisTimeoutError)
# The database could not be reached, or dropped the connection.
DATABASE_OUTAGES = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    psycopg.OperationalError,
    DatabaseError,
)
RECONNECT_FIRST_SECONDS = 1.0
RECONNECT_MAX_SECONDS = 10.0


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
    """What every worker does before it takes its first job, and how it survives outages."""

    connection: Any
    scheduler: Any
    maintenance_interval: int
    _stop_requested: bool
    # RQ's own pause between attempts to dequeue while Redis is down (it defaults to 60 s).
    max_connection_wait_time = RECONNECT_MAX_SECONDS

    def __init__(self, *args: Any, queue_prefix: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.push_exc_handler(give_up_on_bad_input)  # type: ignore[attr-defined]
        # RQ's own ``rq worker -w ...`` passes none: the environment names it then.
        self.queue_prefix = queue.queue_prefix() if queue_prefix is None else queue_prefix

    def work(self, *args: Any, **kwargs: Any) -> bool:
        prepare(self.connection, self.queue_prefix)
        return super().work(*args, **kwargs)  # type: ignore[misc]

    @property
    def dequeue_timeout(self) -> int:
        """How long to wait for a job: RQ's ~7 minutes, but never past the next upkeep."""
        waited = super().dequeue_timeout  # type: ignore[misc]
        return max(1, min(int(waited), int(self.maintenance_interval)))

    def run_maintenance_tasks(self) -> None:
        """RQ's periodic clean-up, then re-queue documents whose worker died meanwhile.

        Neither stops the worker when Redis or the database is down: the failure is logged and
        the upkeep runs again later (RQ's clean-up on the next loop, ours at the next interval).
        """
        try:
            super().run_maintenance_tasks()  # type: ignore[misc]
        except REDIS_OUTAGES as error:
            log.error("RQ's clean-up could not reach Redis (%s); it runs again shortly", error)
            return
        requeue_lost_documents(self.connection, self.queue_prefix)

    # Redis outages: wait for Redis instead of exiting.

    def through_redis_outages(self, action: Callable[..., T], *args: Any) -> T:
        """``action(*args)``, tried again after a growing pause while Redis cannot be reached."""
        pause = RECONNECT_FIRST_SECONDS
        while True:
            try:
                return action(*args)
            except REDIS_OUTAGES as error:
                if self._stop_requested:
                    raise StopRequested() from error
                log.error("Redis is unreachable (%s); trying again in %.0f s", error, pause)
                time.sleep(pause)
                pause = min(pause * 2, RECONNECT_MAX_SECONDS)

    def bootstrap(self, *args: Any) -> None:
        self.through_redis_outages(super().bootstrap, *args)  # type: ignore[misc]

    def check_for_suspension(self, burst: bool) -> None:
        self.through_redis_outages(super().check_for_suspension, burst)  # type: ignore[misc]

    def dequeue_job_and_maintain_ttl(self, *args: Any) -> tuple[Job, rq.Queue] | None:
        dequeue = super().dequeue_job_and_maintain_ttl  # type: ignore[misc]
        return self.through_redis_outages(dequeue, *args)

    def execute_job(self, job: Job, job_queue: rq.Queue) -> None:
        """Run the job; if Redis is lost meanwhile, retry the job once Redis is back."""
        try:
            super().execute_job(job, job_queue)  # type: ignore[misc]
        except REDIS_OUTAGES as error:
            log.error(
                "Redis was lost around job %s (%s); retrying it when it is back", job.id, error
            )
            self.through_redis_outages(self.retry_interrupted, job, job_queue)

    def retry_interrupted(self, job: Job, job_queue: rq.Queue) -> None:
        """Fail a job whose outcome Redis could not take (it still says ``started``) as RQ does.

        RQ then retries it (processing is idempotent), instead of leaving it to the clean-up of
        abandoned jobs minutes later. By now its work horse has ended.
        """
        try:
            interrupted = job.get_status(refresh=True) == JobStatus.STARTED
        except InvalidJobOperation:  # the job is gone: nothing left to retry
            interrupted = False
        if interrupted:
            log.warning(
                "job %s did not record its outcome in Redis: failing it to retry it", job.id
            )
            message = "Redis could not be reached while the job ran"
            self.handle_job_failure(job, queue=job_queue, exc_string=message)  # type: ignore[attr-defined]
        self.set_state(WorkerStatus.IDLE)  # type: ignore[attr-defined]

    def heartbeat(self, timeout: int | None = None, pipeline: Any = None) -> None:
        """RQ's heartbeat; a missed one is logged (the next loop waits for Redis)."""
        if pipeline is not None:
            super().heartbeat(timeout, pipeline)  # type: ignore[misc]
            return
        try:
            super().heartbeat(timeout)  # type: ignore[misc]
        except REDIS_OUTAGES as error:
            log.error("missed a heartbeat, Redis is unreachable: %s", error)
            return
        self.revive_scheduler()

    def maintain_heartbeats(self, *args: Any) -> None:
        """The heartbeats sent while a work horse runs; Redis lost meanwhile must not stop it."""
        try:
            super().maintain_heartbeats(*args)  # type: ignore[misc]
        except REDIS_OUTAGES as error:
            log.error("missed a heartbeat during a job, Redis is unreachable: %s", error)

    def revive_scheduler(self) -> None:
        """Start the scheduler again if it has died (it exits when it loses Redis).

        Retries wait in the scheduler's registry: without it they would run only once RQ's own
        upkeep noticed, minutes later.
        """
        process = getattr(self.scheduler, "_process", None)
        if process is None or self.is_horse or self._stop_requested or process.is_alive():  # type: ignore[attr-defined]
            return
        log.warning("the scheduler had stopped; starting it again")
        self.scheduler.acquire_locks(auto_start=True)

    def teardown(self) -> None:
        try:
            super().teardown()  # type: ignore[misc]
        except REDIS_OUTAGES as error:
            log.error("could not sign off in Redis (%s); the worker's key expires by itself", error)


def prepare(connection: Any, prefix: str = "") -> None:
    """Load the model, re-queue lost processing, then close connections before forking."""
    load_model()
    requeue_lost_documents(connection, prefix)
    knowledge_base().database.engine.dispose()


def requeue_lost_documents(connection: Any, prefix: str = "") -> None:
    """Queue stale documents again; never raises, so an outage cannot stop the worker."""
    try:
        requeued = requeue_stale(knowledge_base(), connection, prefix=prefix)
    except REDIS_OUTAGES + DATABASE_OUTAGES as error:
        log.error("could not look for stale documents (%s); the next upkeep tries again", error)
        return
    except Exception:  # a bug must not stop the worker either
        log.exception("looking for stale documents failed; the next upkeep tries again")
        return
    if requeued:
        log.warning("queued %d stale documents again: %s", len(requeued), requeued)


class KnowledgeWorker(StartUp, limits.BoundedWorkHorse, rq.Worker):
    """Forks a work horse per job, sharing the model loaded before the fork."""


class SimpleKnowledgeWorker(StartUp, rq.SimpleWorker):
    """Runs jobs in its own process (tests, or platforms without ``fork``)."""
