"""Re-embedding a document's stored chunks into a run's target generation."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ragkit.chunking import embedding_text
from ragkit.index import active_index
from ragkit.ingest.rows import vector_row
from ragkit.schema import Chunk, Document, ReindexRun, VectorIndex

if TYPE_CHECKING:
    from ragkit.kit import RagKit


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
