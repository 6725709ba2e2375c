"""Bounds on the process a job runs in, and the failures that cross them.

A forking worker's work horse may take ``RAGKIT_JOB_MEMORY`` of address space beyond what it
shares with its worker (the loaded model): past that an allocation fails with ``MemoryError``
inside the job instead of the kernel killing the process, or the whole machine swapping. RQ's
job timeout bounds its time. Either ends the document ``failed`` with a message that names the
limit, and neither is retried: the same file would cross the same limit again.
"""

from __future__ import annotations

import contextlib
import logging
import os
import resource
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from redis.exceptions import RedisError
from rq.timeouts import JobTimeoutException

from ragkit import Document, DocumentStatus, DocumentTooLarge, RagKit, megabytes

log = logging.getLogger(__name__)

# How native code (PyTorch, tokenizers) reports an allocation refused by the limit.
NATIVE_OUT_OF_MEMORY = ("can't allocate memory", "bad_alloc", "out of memory")


def address_space() -> int:
    """The address space this process maps now, in bytes (0 where ``/proc`` is missing)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0
    return pages * os.sysconf("SC_PAGE_SIZE")


def limit_memory(allowance: int) -> int:
    """Let this process map at most ``allowance`` bytes more than it maps now; the new limit.

    Only the soft limit is lowered (never above the hard one), so the process cannot be
    given back more than it had.
    """
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = address_space() + allowance
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    return limit


class BoundedWorkHorse:
    """Mixin for a forking RQ worker: each work horse is memory-limited before its job runs,
    and how a horse died is noted for the job (see :func:`workers.recovery.counting_crashes`).

    The worker itself is not limited: it only waits for its horses.
    """

    connection: Any

    def main_work_horse(self, *args: Any, **kwargs: Any) -> None:
        from workers.context import knowledge_base

        allowance = knowledge_base().settings.job_memory
        limit = limit_memory(allowance)
        log.debug("work horse %d limited to %s of address space", os.getpid(), megabytes(limit))
        super().main_work_horse(*args, **kwargs)  # type: ignore[misc]

    def handle_work_horse_killed(
        self, job: Any, retpid: int, ret_val: int, rusage: resource.struct_rusage | None
    ) -> None:
        from workers.recovery import record_crash

        super().handle_work_horse_killed(job, retpid, ret_val, rusage)  # type: ignore[misc]
        try:
            record_crash(self.connection, job.id, how_it_died(ret_val, rusage))
        except RedisError as error:  # the crash is still counted; only its description is lost
            log.warning("could not record how job %s died: %s", job.id, error)


def how_it_died(status: int | None, rusage: resource.struct_rusage | None) -> str:
    """``killed by SIGKILL at 1.2 GB``, from the wait status and resource use of a process."""
    if status is not None and os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            how = f"killed by {signal.Signals(number).name}"
        except ValueError:
            how = f"killed by signal {number}"
    elif status is not None and os.WIFEXITED(status):
        how = f"exited with status {os.WEXITSTATUS(status)}"
    else:
        how = "ended"
    if rusage is not None and rusage.ru_maxrss:
        how += f" at {megabytes(rusage.ru_maxrss * 1024)} of memory"  # Linux counts kilobytes
    return how


def is_out_of_memory(error: BaseException) -> bool:
    """Whether ``error``, or an error it was raised from, is an allocation that failed.

    ragkit reports the model's failures as ``EmbeddingError`` with the native message in it.
    """
    seen: BaseException | None = error
    for _ in range(20):  # a chain can loop back on itself
        if seen is None:
            return False
        if isinstance(seen, MemoryError) or any(
            marker in str(seen) for marker in NATIVE_OUT_OF_MEMORY
        ):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


@contextlib.contextmanager
def limit_failures(kit: RagKit, document_id: uuid.UUID, timeout: float | None) -> Iterator[None]:
    """Turn running out of memory or time into a ``failed`` document naming the limit.

    Raises:
        DocumentTooLarge: instead of the ``MemoryError`` or timeout, so RQ does not retry.
    """
    try:
        yield
    except JobTimeoutException as error:
        reason = f"processing took longer than the job timeout ({timeout or 0:g} s)"
        raise DocumentTooLarge(fail_document(kit, document_id, reason)) from error
    except Exception as error:
        if not is_out_of_memory(error):
            raise
        limit = megabytes(kit.settings.job_memory)
        reason = f"processing needed more memory than a job may use ({limit}, RAGKIT_JOB_MEMORY)"
        raise DocumentTooLarge(fail_document(kit, document_id, reason)) from error


def fail_document(kit: RagKit, document_id: uuid.UUID, reason: str) -> str:
    """Mark the document ``failed`` with ``reason`` (after its file's name); the message."""
    with kit.database.sessions() as session:
        document = session.get(Document, document_id)
        if document is None:
            return reason
        message = f"{Path(document.source or '').name or document_id}: {reason}"
        document.status = DocumentStatus.FAILED
        document.processing_error = message
        session.commit()
    return message
