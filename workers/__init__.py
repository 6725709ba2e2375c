"""RQ workers: process uploaded documents and reindex batches (``python -m workers``)."""

from workers.queue import (
    INGEST,
    QUEUES,
    REINDEX,
    connect,
    enqueue_processing,
    enqueue_reindex,
    process_job_id,
    reindex_job_id,
)

__all__ = [
    "INGEST",
    "QUEUES",
    "REINDEX",
    "connect",
    "enqueue_processing",
    "enqueue_reindex",
    "process_job_id",
    "reindex_job_id",
]
