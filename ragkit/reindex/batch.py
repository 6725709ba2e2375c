"""Running a reindex run's batches: each document re-embedded or re-chunked, then recorded."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ragkit.errors import ReindexFailed
from ragkit.reindex.finish import finish_run
from ragkit.reindex.plan import plan_reindex
from ragkit.reindex.progress import ReindexProgress, load_run
from ragkit.reindex.reembed import reembed_document
from ragkit.schema import ReindexItem, ReindexItemState, ReindexRun, ReindexState

if TYPE_CHECKING:
    from ragkit.kit import RagKit


def reindex_batch(kit: RagKit, run_id: uuid.UUID, batch: int) -> ReindexProgress:
    """Reindex the pending documents of one batch, then finish the run if it was the last.

    Safe to run twice: documents already done are skipped, and re-embedding skips chunks whose
    vectors in the target generation are current.

    Raises:
        ReindexFailed: some documents failed (they are recorded; the rest are done).
    """
    with kit.database.sessions() as session:
        run = load_run(session, run_id)
        _reopen_for_retry(session, run, batch)
        pending = list(
            session.scalars(
                sa.select(ReindexItem.document_id).where(
                    ReindexItem.run_id == run_id,
                    ReindexItem.batch == batch,
                    ReindexItem.state != ReindexItemState.DONE,
                )
            )
        )
    failures = [error for document_id in pending if (error := _reindex_one(kit, run, document_id))]
    progress = finish_run(kit, run_id)
    if failures:
        raise ReindexFailed(f"{len(failures)} of {len(pending)} documents failed: {failures[0]}")
    return progress


def _reopen_for_retry(session: Session, run: ReindexRun, batch: int) -> None:
    """A retried batch of a failed run gets another chance to complete it."""
    if run.state != ReindexState.FAILED:
        return
    retried: Any = session.execute(
        sa.update(ReindexItem)
        .where(
            ReindexItem.run_id == run.id,
            ReindexItem.batch == batch,
            ReindexItem.state == ReindexItemState.FAILED,
        )
        .values(state=ReindexItemState.PENDING, error=None)
    )
    if retried.rowcount:
        run.state, run.error, run.finished_at = ReindexState.RUNNING, None, None
    session.commit()


def _reindex_one(kit: RagKit, run: ReindexRun, document_id: uuid.UUID) -> str | None:
    try:
        if run.chunk_size is not None:
            _rechunk(kit, run.chunk_size, document_id)
        else:
            with kit.database.sessions() as session:
                reembed_document(kit, session, run, document_id)
                session.commit()
    except Exception as error:  # recorded per document; the batch then fails as a whole
        _mark(kit, run.id, document_id, ReindexItemState.FAILED, f"{type(error).__name__}: {error}")
        return f"{document_id}: {error}"
    _mark(kit, run.id, document_id, ReindexItemState.DONE, None)
    return None


def _mark(
    kit: RagKit,
    run_id: uuid.UUID,
    document_id: uuid.UUID,
    state: ReindexItemState,
    error: str | None,
) -> None:
    with kit.database.sessions() as session:
        item = session.get(ReindexItem, (run_id, document_id))
        if item is not None:
            item.state, item.error = state, error
            session.commit()


def _rechunk(kit: RagKit, chunk_size: int, document_id: uuid.UUID) -> None:
    pipeline = kit.pipeline.with_settings(kit.settings.replace(chunk_size=chunk_size))
    pipeline.process_document(document_id, force=True)


def reindex(kit: RagKit, **scope: Any) -> ReindexProgress:
    """Plan and run a whole reindex in this process (batches one after another)."""
    plan = plan_reindex(kit, **scope)
    for batch in plan.batches:
        try:
            reindex_batch(kit, plan.run_id, batch)
        except ReindexFailed:
            continue
    return finish_run(kit, plan.run_id)
