"""Planning a reindex run: its scope, whether it switches generations, and its batches."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ragkit.errors import ConfigurationError
from ragkit.index import active_index, create_generation, find_generation
from ragkit.reindex.finish import drop_retired_generations
from ragkit.schema import (
    Document,
    DocumentStatus,
    IndexStatus,
    ReindexItem,
    ReindexRun,
    VectorIndex,
)

if TYPE_CHECKING:
    from ragkit.embeddings import EmbeddingModel
    from ragkit.kit import RagKit


@dataclass(frozen=True)
class ReindexPlan:
    """A run and its batches of document ids (batch number -> ids)."""

    run_id: uuid.UUID
    batches: dict[int, list[uuid.UUID]]


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
        switches = _changes_model(session, {org for _, org in documents}, model)
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
        batches = _split(session, run, [document_id for document_id, _ in documents], batch_size)
        session.commit()
        return ReindexPlan(run.id, batches)


def _split(
    session: Session, run: ReindexRun, document_ids: list[uuid.UUID], batch_size: int
) -> dict[int, list[uuid.UUID]]:
    """Record the run's items, ``batch_size`` to a batch; returns batch number -> ids."""
    batches: dict[int, list[uuid.UUID]] = {}
    for position, document_id in enumerate(document_ids):
        number = position // batch_size
        batches.setdefault(number, []).append(document_id)
        session.add(ReindexItem(run_id=run.id, document_id=document_id, batch=number))
    return batches


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


def _changes_model(session: Session, organizations: set[str], model: EmbeddingModel) -> bool:
    """Whether some organization's active generation was embedded by another model."""
    return any(
        (index.embed_model, index.dimensions) != (model.name, model.dimensions)
        for index in (active_index(session, org) for org in sorted(organizations))
    )


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
