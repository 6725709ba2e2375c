"""Turning uploaded documents into searchable chunks, and reindexing them.

Everything that starts processing or reindexing goes through this module. With
``PROCESSING_MODE=queue`` (the default when the app runs) the work is queued for the RQ workers;
with ``inline`` (the default in tests) it is done in the request.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence

from flask import current_app
from redis.exceptions import RedisError

from ragkit import (
    Document,
    RagkitError,
    ReindexFailed,
    ReindexProgress,
    finish_run,
    plan_reindex,
    reindex_batch,
    reindex_progress,
)
from webapp.config import queue_prefix
from webapp.extensions import db, redis_client
from webapp.services.knowledge import knowledge_base
from workers import queue
from workers.recovery import forget_crashes

log = logging.getLogger(__name__)


def queued() -> bool:
    """Whether work goes to the RQ workers (rather than being done in the request)."""
    return current_app.config["PROCESSING_MODE"] == "queue"


def enqueue_processing(document_id: uuid.UUID, *, force: bool = False) -> None:
    """Queue the document's processing (or do it now, inline).

    A document ragkit cannot read is not an error of the request: ragkit marks it ``failed``
    with the reason, which the client reads from the document. If Redis is down the document
    stays ``pending``; a worker queues it again when it starts (or ``flask ragkit requeue-stale``).
    """
    if queued():
        _enqueue(document_id, force)
        return
    try:
        knowledge_base().process_document(document_id, force=force)
    except RagkitError as error:
        log.info("document %s failed: %s", document_id, error)


def _enqueue(document_id: uuid.UUID, force: bool) -> None:
    content_hash = db.session.execute(
        db.select(Document.content_hash).where(Document.id == document_id)
    ).scalar()
    prefix = queue_prefix()
    try:
        # Asked for again (an upload or a reprocess): a job that crashed before starts afresh.
        forget_crashes(
            redis_client.connection, queue.process_job_id(document_id, content_hash, prefix)
        )
        queue.enqueue_processing(
            redis_client.connection, document_id, content_hash, force=force, prefix=prefix
        )
    except RedisError as error:
        log.error("could not queue document %s, it stays pending: %s", document_id, error)


def start_reindex(
    *,
    organization: str | None = None,
    document_ids: Sequence[uuid.UUID] | None = None,
    embed_model: str | None = None,
    chunk_size: int | None = None,
    batch_size: int = 10,
) -> ReindexProgress:
    """Plan a reindex run and queue its batches (or run them now, inline)."""
    kit = knowledge_base()
    plan = plan_reindex(
        kit,
        organization=organization,
        document_ids=document_ids,
        embed_model=embed_model,
        chunk_size=chunk_size,
        batch_size=batch_size,
    )
    if not plan.batches:
        return finish_run(kit, plan.run_id)
    if queued():
        queue.enqueue_reindex(
            redis_client.connection, plan.run_id, sorted(plan.batches), prefix=queue_prefix()
        )
    else:
        _reindex_inline(plan.run_id, sorted(plan.batches))
    return reindex_progress(kit, plan.run_id)


def _reindex_inline(run_id: uuid.UUID, batches: list[int]) -> None:
    for batch in batches:
        try:
            reindex_batch(knowledge_base(), run_id, batch)
        except ReindexFailed as error:  # recorded in the run; the other batches still run
            log.info("reindex run %s batch %d failed: %s", run_id, batch, error)
