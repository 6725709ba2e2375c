"""Batch reindexing: re-embed stored chunks with another model, or re-chunk documents.

A run is split into batches of documents that can be processed anywhere (RQ jobs in the web
application, or in-process). A change of embedding model writes into a new vector-table
generation while queries keep using the current one; when every document has succeeded the
organizations switch to the new generation in one transaction and unused old tables are dropped.
A run with failures leaves the old generation active and lists what failed.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ragkit.chunking import embedding_text
from ragkit.errors import ConfigurationError, ReindexFailed
from ragkit.index import (
    active_index,
    create_generation,
    find_generation,
    switch_organization,
)
from ragkit.ingest.rows import vector_row
from ragkit.schema import (
    Chunk,
    Document,
    DocumentStatus,
    IndexStatus,
    OrganizationIndex,
    ReindexItem,
    ReindexItemState,
    ReindexRun,
    ReindexState,
    VectorIndex,
)

if TYPE_CHECKING:
    from ragkit.kit import RagKit


@dataclass(frozen=True)
class ReindexPlan:
    """A run and its batches of document ids (batch number -> ids)."""

    run_id: uuid.UUID
    batches: dict[int, list[uuid.UUID]]


@dataclass(frozen=True)
class ReindexProgress:
    """How far a run is; ``to_json`` is the API's and CLI's shape."""

    run_id: uuid.UUID
    state: ReindexState
    total: int
    done: int
    failed: int
    embed_model: str
    dimensions: int
    switches_index: bool
    errors: list[dict[str, str]] = field(default_factory=list)
    error: str | None = None

    @property
    def pending(self) -> int:
        return self.total - self.done - self.failed

    def to_json(self) -> dict[str, Any]:
        return {
            "id": str(self.run_id),
            "state": self.state,
            "total": self.total,
            "done": self.done,
            "failed": self.failed,
            "pending": self.pending,
            "embed_model": self.embed_model,
            "dimensions": self.dimensions,
            "switches_index": self.switches_index,
            "errors": self.errors,
            "error": self.error,
        }


def plan_reindex(
    kit: RagKit,
    *,
    organization: str | None = None,
    document_ids: Sequence[uuid.UUID] | None = None,
    embed_model: str | None = None,
    chunk_size: int | None = None,
    batch_size: int = 10,
) -> ReindexPlan:
    """Record a reindex run over the scope and split it into batches.

    Args:
        organization: only this organization's documents (default: every organization).
        document_ids: only these documents (not with a model change: a switch is per organization).
        embed_model: the model to embed with (default: the configured one). A model other than an
            organization's current one builds a new vector-table generation.
        chunk_size: re-chunk the documents from their files with this chunk size.
        batch_size: documents per batch.
    """
    if batch_size < 1:
        raise ConfigurationError("the batch size must be at least 1")
    drop_retired_generations(kit)
    model = kit.model_named(embed_model or kit.settings.embed_model)
    if chunk_size is not None:
        kit.settings.replace(chunk_size=chunk_size)  # validates it
    with kit.database.sessions() as session:
        documents = _documents_in_scope(session, organization, document_ids)
        organizations = sorted({org for _, org in documents})
        switches = any(
            _differs(active_index(session, org), model.name, model.dimensions)
            for org in organizations
        )
        _check_scope(switches, document_ids, chunk_size)
        target = _target_generation(session, model.name, model.dimensions) if switches else None
        run = ReindexRun(
            organization_id=organization,
            embed_model=model.name,
            dimensions=model.dimensions,
            chunk_size=chunk_size,
            target_index_id=target.id if target else None,
            switches_index=switches,
        )
        session.add(run)
        session.flush()
        batches: dict[int, list[uuid.UUID]] = {}
        for position, (document_id, _) in enumerate(documents):
            number = position // batch_size
            batches.setdefault(number, []).append(document_id)
            session.add(ReindexItem(run_id=run.id, document_id=document_id, batch=number))
        session.commit()
        return ReindexPlan(run.id, batches)


def _documents_in_scope(
    session: Session, organization: str | None, document_ids: Sequence[uuid.UUID] | None
) -> list[tuple[uuid.UUID, str]]:
    query = sa.select(Document.id, Document.organization_id).where(
        Document.status == DocumentStatus.READY
    )
    if organization is not None:
        query = query.where(Document.organization_id == organization)
    if document_ids:
        query = query.where(Document.id.in_(list(document_ids)))
    rows = session.execute(query.order_by(Document.created_at, Document.id)).all()
    if document_ids and len(rows) != len(set(document_ids)):
        found = {row[0] for row in rows}
        missing = ", ".join(str(i) for i in document_ids if i not in found)
        raise ConfigurationError(f"no processed document with id {missing} in the scope")
    return [(row[0], row[1]) for row in rows]


def _differs(index: VectorIndex, embed_model: str, dimensions: int) -> bool:
    return (index.embed_model, index.dimensions) != (embed_model, dimensions)


def _check_scope(
    switches: bool, document_ids: Sequence[uuid.UUID] | None, chunk_size: int | None
) -> None:
    if switches and document_ids:
        raise ConfigurationError(
            "a change of embedding model reindexes whole organizations: use an organization "
            "or all of them, not document ids"
        )
    if switches and chunk_size is not None:
        raise ConfigurationError("change the embedding model and the chunk size in two runs")


def _target_generation(session: Session, embed_model: str, dimensions: int) -> VectorIndex:
    existing = find_generation(session, embed_model, dimensions)
    if existing is not None:
        return existing
    return create_generation(session, embed_model, dimensions, status=IndexStatus.BUILDING)


def reindex_batch(kit: RagKit, run_id: uuid.UUID, batch: int) -> ReindexProgress:
    """Reindex the pending documents of one batch, then finish the run if it was the last.

    Safe to run twice: documents already done are skipped, and re-embedding skips chunks whose
    vectors in the target generation are current.

    Raises:
        ReindexFailed: some documents failed (they are recorded; the rest are done).
    """
    with kit.database.sessions() as session:
        run = _run(session, run_id)
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


def _run(session: Session, run_id: uuid.UUID) -> ReindexRun:
    run = session.get(ReindexRun, run_id)
    if run is None:
        raise ConfigurationError(f"no reindex run {run_id}")
    return run


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


def target_for(session: Session, run: ReindexRun, organization: str) -> VectorIndex:
    if run.target_index_id is not None:
        index = session.get(VectorIndex, run.target_index_id)
        if index is not None:
            return index
    return active_index(session, organization)


def reembed_document(kit: RagKit, session: Session, run: ReindexRun, document_id: uuid.UUID) -> int:
    """Write current vectors of a document's stored chunks into the run's target generation.

    Chunks whose vector there is already current (same chunk, same text) are skipped; rows
    of chunks that no longer exist are removed. Returns the number of chunks embedded.
    """
    document = session.get(Document, document_id, with_for_update=True)
    if document is None:
        return 0  # deleted since the run was planned: nothing to index
    index = target_for(session, run, document.organization_id)
    rows = kit.stores.row_model(index)
    stored: dict[str, str | None] = {
        node_id: chunk_hash
        for node_id, chunk_hash in session.execute(
            sa.select(rows.node_id, rows.metadata_["chunk_hash"].astext).where(
                rows.metadata_["ref_doc_id"].astext == str(document_id)
            )
        )
    }
    chunks = list(session.scalars(sa.select(Chunk).where(Chunk.document_id == document_id)))
    stale = [node for node in stored if node not in {str(chunk.id) for chunk in chunks}]
    todo = [chunk for chunk in chunks if stored.get(str(chunk.id)) != chunk.content_hash]
    model = kit.model_named(index.embed_model)
    vectors = model.embed_texts([embedding_text(c.content, c.section_title) for c in todo])
    replaced = stale + [str(chunk.id) for chunk in todo]
    if replaced:
        session.execute(sa.delete(rows).where(rows.node_id.in_(replaced)))
    if todo:
        session.execute(
            sa.insert(rows.__table__),
            [vector_row(document, c, v, index.embed_model) for c, v in zip(todo, vectors)],
        )
    return len(todo)


def finish_run(kit: RagKit, run_id: uuid.UUID) -> ReindexProgress:
    """Close the run if every document is handled: switch generations, or record the failure."""
    with kit.database.sessions() as session:
        run = session.get(ReindexRun, run_id, with_for_update=True)
        if run is None:
            raise ConfigurationError(f"no reindex run {run_id}")
        counts = _counts(session, run_id)
        if run.state == ReindexState.RUNNING and counts.get(ReindexItemState.PENDING, 0) == 0:
            if failed := counts.get(ReindexItemState.FAILED, 0):
                run.state = ReindexState.FAILED
                run.error = f"{failed} documents failed; the current index stays active"
            else:
                if run.switches_index:
                    _switch(kit, session, run)
                run.state = ReindexState.SUCCEEDED
            run.finished_at = datetime.now(UTC)
        session.commit()
    return reindex_progress(kit, run_id)


def _counts(session: Session, run_id: uuid.UUID) -> dict[ReindexItemState, int]:
    rows = session.execute(
        sa.select(ReindexItem.state, sa.func.count())
        .where(ReindexItem.run_id == run_id)
        .group_by(ReindexItem.state)
    ).all()
    return {state: count for state, count in rows}


def _switch(kit: RagKit, session: Session, run: ReindexRun) -> None:
    """Catch up on chunks added meanwhile, point the organizations at the new generation."""
    target = session.get(VectorIndex, run.target_index_id, with_for_update=True)
    if target is None:
        raise ConfigurationError(f"the target index of run {run.id} has been dropped")
    organizations = _organizations(session, run)
    late = session.scalars(
        sa.select(Document.id).where(
            Document.organization_id.in_(organizations),
            Document.status == DocumentStatus.READY,
        )
    )
    for document_id in late:
        reembed_document(kit, session, run, document_id)
    for organization in organizations:
        switch_organization(session, organization, target)
    if run.organization_id is None:
        session.execute(sa.update(VectorIndex).values(is_default=False))
        target.is_default = True
    session.flush()
    _drop_unused_generations(session, keep=target.id)


def _organizations(session: Session, run: ReindexRun) -> list[str]:
    if run.organization_id is not None:
        return [run.organization_id]
    return list(session.scalars(sa.select(Document.organization_id).distinct()))


def _drop_unused_generations(session: Session, keep: int) -> None:
    """Retire generations no organization (and not the default) uses any more.

    Their tables are dropped later (:func:`drop_retired_generations`): a query that looked up
    the old generation just before the switch may still be reading it.
    """
    used = set(session.scalars(sa.select(OrganizationIndex.vector_index_id)))
    candidates = session.scalars(
        sa.select(VectorIndex).where(
            VectorIndex.status == IndexStatus.ACTIVE,
            VectorIndex.is_default.is_(False),
            VectorIndex.id != keep,
        )
    )
    for index in candidates:
        if index.id not in used:
            index.status = IndexStatus.RETIRED


def drop_retired_generations(kit: RagKit) -> list[str]:
    """Drop the tables of retired generations; returns their names.

    Called when a new reindex is planned, so a retired table outlives its switch by at least
    one run; call it directly to reclaim the space sooner.
    """
    dropped = []
    with kit.database.sessions() as session:
        retired = session.scalars(
            sa.select(VectorIndex).where(VectorIndex.status == IndexStatus.RETIRED)
        )
        for index in retired:
            exists = session.execute(
                sa.text("SELECT to_regclass(:table)"), {"table": index.table_name}
            ).scalar()
            if exists:
                session.execute(sa.text(f"DROP TABLE IF EXISTS {index.table_name}"))
                dropped.append(index.table_name)
        session.commit()
    return dropped


def reindex_progress(kit: RagKit, run_id: uuid.UUID) -> ReindexProgress:
    """The run's state and counts."""
    with kit.database.sessions() as session:
        run = _run(session, run_id)
        counts = _counts(session, run_id)
        failed_items = session.execute(
            sa.select(ReindexItem.document_id, ReindexItem.error)
            .where(ReindexItem.run_id == run_id, ReindexItem.state == ReindexItemState.FAILED)
            .limit(50)
        ).all()
        return ReindexProgress(
            run_id=run.id,
            state=run.state,
            total=sum(counts.values()),
            done=counts.get(ReindexItemState.DONE, 0),
            failed=counts.get(ReindexItemState.FAILED, 0),
            embed_model=run.embed_model,
            dimensions=run.dimensions,
            switches_index=run.switches_index,
            errors=[{"document_id": str(d), "error": e or ""} for d, e in failed_items],
            error=run.error,
        )


def reindex(kit: RagKit, **scope: Any) -> ReindexProgress:
    """Plan and run a whole reindex in this process (batches one after another)."""
    plan = plan_reindex(kit, **scope)
    for batch in plan.batches:
        try:
            reindex_batch(kit, plan.run_id, batch)
        except ReindexFailed:
            continue
    return finish_run(kit, plan.run_id)
