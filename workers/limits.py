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
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rq.timeouts import JobTimeoutException

from ragkit import Document, DocumentStatus, RagKit
from ragkit.errors import DocumentTooLarge
from ragkit.limits import megabytes

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
    """Mixin for a forking RQ worker: each work horse is memory-limited before its job runs.

    The worker itself is not limited: it only waits for its horses.
    """

    def main_work_horse(self, *args: Any, **kwargs: Any) -> None:
        from workers.context import knowledge_base

        allowance = knowledge_base().settings.job_memory
        limit = limit_memory(allowance)
        log.debug("work horse %d limited to %s of address space", os.getpid(), megabytes(limit))
        super().main_work_horse(*args, **kwargs)  # type: ignore[misc]


def is_out_of_memory(error: BaseException) -> bool:
    if isinstance(error, MemoryError):
        return True
    return isinstance(error, RuntimeError) and any(
        marker in str(error) for marker in NATIVE_OUT_OF_MEMORY
    )


@contextlib.contextmanager
def limit_failures(kit: RagKit, document_id: uuid.UUID, timeout: int | None) -> Iterator[None]:
    """Turn running out of memory or time into a ``failed`` document naming the limit.

    Raises:
        DocumentTooLarge: instead of the ``MemoryError`` or timeout, so RQ does not retry.
    """
    try:
        yield
    except JobTimeoutException as error:
        reason = f"processing took longer than the job timeout ({timeout} s)"
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
        document.status = DocumentStatus.FAILED.value
        document.processing_error = message
        session.commit()
    return message
