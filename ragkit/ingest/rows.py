"""The rows a document's chunks are stored as: chunk rows, vector rows and unit records.

Also how the chunks of unchanged units move into place in a new version (see
:mod:`ragkit.ingest.units`); the lexical postings are in :mod:`ragkit.ingest.postings`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode
from llama_index.core.vector_stores.utils import node_to_metadata_dict
from sqlalchemy.orm import Session

from ragkit.chunking import ChunkDraft
from ragkit.index import VectorStores
from ragkit.ingest.units import VersionLayout
from ragkit.schema import Chunk, Document, DocumentUnit, IndexStatus, VectorIndex

# chunk_index is unique per document at every row: moved chunks go through negative numbers.
MOVE_CHUNKS_SQL = """
UPDATE chunks AS c
SET chunk_index = CASE WHEN m.new_index = m.old_index THEN c.chunk_index
                       ELSE -1 - m.new_index END,
    start_char = c.start_char + m.shift,
    end_char = c.end_char + m.shift,
    page_number = m.page
FROM unnest(CAST(:old AS int[]), CAST(:new AS int[]), CAST(:shift AS int[]),
            CAST(:page AS int[])) AS m(old_index, new_index, shift, page)
WHERE c.document_id = :document_id AND c.chunk_index = m.old_index
  AND (m.new_index <> m.old_index OR m.shift <> 0 OR c.page_number IS DISTINCT FROM m.page)
RETURNING c.id, m.new_index <> m.old_index OR c.page_number IS DISTINCT FROM m.page
"""
SYNC_VECTOR_METADATA_SQL = """
UPDATE {table} AS v
SET metadata_ = v.metadata_ || jsonb_build_object(
    'chunk_index', c.chunk_index,
    'page_number', c.page_number,
    '_node_content', jsonb_set(
        jsonb_set(CAST(v.metadata_->>'_node_content' AS jsonb),
                  '{{metadata,chunk_index}}', to_jsonb(c.chunk_index)),
        '{{metadata,page_number}}', coalesce(to_jsonb(c.page_number), 'null')
    )::text)
FROM chunks AS c
WHERE c.id = ANY(:chunk_ids) AND v.node_id = CAST(c.id AS varchar)
"""


def chunk_row(document: Document, draft: ChunkDraft, language: str | None) -> Chunk:
    """A new chunk of ``document`` from its draft (not added to any session)."""
    return Chunk(
        id=uuid.uuid4(),
        document_id=document.id,
        organization_id=document.organization_id,
        chunk_index=draft.index,
        content=draft.content,
        content_hash=draft.content_hash,
        page_number=draft.page_number,
        section_title=draft.section_title,
        start_char=draft.start_char,
        end_char=draft.end_char,
        token_count=draft.token_count,
        language=language,
    )


def chunk_values(chunk: Chunk) -> dict[str, Any]:
    """The column values of a chunk not yet in the database, for a multi-row insert."""
    return {
        "id": chunk.id,
        "document_id": chunk.document_id,
        "organization_id": chunk.organization_id,
        "chunk_index": chunk.chunk_index,
        "content": chunk.content,
        "content_hash": chunk.content_hash,
        "page_number": chunk.page_number,
        "section_title": chunk.section_title,
        "start_char": chunk.start_char,
        "end_char": chunk.end_char,
        "token_count": chunk.token_count,
        "language": chunk.language,
    }


def vector_row(document: Document, chunk: Chunk, vector: Any, embed_model: str) -> dict[str, Any]:
    """A ``PGVectorStore`` row for a chunk: the node id is the chunk id."""
    node = TextNode(
        id_=str(chunk.id),
        text=chunk.content,
        metadata={
            "organization_id": document.organization_id,
            "document_id": str(document.id),
            "title": document.title,
            "source": document.source,
            "chunk_index": chunk.chunk_index,
            "page_number": chunk.page_number,
            "section_title": chunk.section_title,
            "chunk_hash": chunk.content_hash,
            "embed_model": embed_model,
        },
        relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=str(document.id))},
    )
    return {
        "node_id": node.node_id,
        "text": chunk.content,
        "metadata_": node_to_metadata_dict(node, remove_text=True, flat_metadata=False),
        "embedding": vector,
    }


def delete_vectors(
    session: Session,
    stores: VectorStores,
    document_ids: Sequence[uuid.UUID],
    keep: Mapping[uuid.UUID, str] | None = None,
) -> None:
    """Remove the documents' vectors from every generation that may hold them.

    ``keep`` maps documents to the generation (by name) whose rows of their still existing
    chunks stay; everything else of those documents goes too.
    """
    keep = keep or {}
    generations = session.scalars(
        sa.select(VectorIndex).where(VectorIndex.status != IndexStatus.RETIRED)
    )
    for index in generations:
        rows = stores.row_model(index)
        kept = [str(document_id) for document_id, name in keep.items() if name == index.name]
        ids = [str(document_id) for document_id in document_ids if str(document_id) not in kept]
        if ids:
            session.execute(sa.delete(rows).where(rows.metadata_["ref_doc_id"].astext.in_(ids)))
        if kept:
            orphan = ~sa.exists().where(Chunk.id == sa.cast(rows.node_id, sa.Uuid))
            session.execute(
                sa.delete(rows).where(rows.metadata_["ref_doc_id"].astext.in_(kept), orphan)
            )


def keep_chunks(session: Session, document_id: uuid.UUID, layout: VersionLayout) -> list[uuid.UUID]:
    """Delete the chunks of removed or changed units and move the kept ones into place.

    Returns the kept chunks whose number or page changed (their vector rows repeat both).
    Postings go with their chunks (``ON DELETE CASCADE``).
    """
    moves = _moves(layout)
    session.execute(
        sa.delete(Chunk).where(
            Chunk.document_id == document_id, Chunk.chunk_index.not_in(moves["old"])
        )
    )
    if not moves["old"]:
        return []
    moved = session.execute(sa.text(MOVE_CHUNKS_SQL), {"document_id": document_id, **moves})
    renumbered = [chunk_id for chunk_id, renumbered in moved.all() if renumbered]
    session.execute(
        sa.update(Chunk)
        .where(Chunk.document_id == document_id, Chunk.chunk_index < 0)
        .values(chunk_index=-1 - Chunk.chunk_index)
    )
    return renumbered


def _moves(layout: VersionLayout) -> dict[str, list[Any]]:
    """Each kept chunk's old and new number, its shift in characters and its new page."""
    moves: dict[str, list[Any]] = {"old": [], "new": [], "shift": [], "page": []}
    for kept in layout.kept:
        for step in range(kept.old.chunk_count):
            moves["old"].append(kept.old.first_chunk + step)
            moves["new"].append(kept.first_chunk + step)
            moves["shift"].append(kept.shift)
            moves["page"].append(kept.page_number)
    return moves


def sync_vector_metadata(session: Session, table: str, chunk_ids: Sequence[uuid.UUID]) -> None:
    """Copy chunks' number and page into their vector rows (columns and ``_node_content``)."""
    if chunk_ids:
        statement = sa.text(SYNC_VECTOR_METADATA_SQL.format(table=table))
        session.execute(statement, {"chunk_ids": list(chunk_ids)})


def write_units(session: Session, layouts: Mapping[uuid.UUID, VersionLayout]) -> None:
    """Record the units of the documents' new versions in place of the old ones."""
    session.execute(sa.delete(DocumentUnit).where(DocumentUnit.document_id.in_(list(layouts))))
    rows = [
        unit.values(document_id) for document_id, layout in layouts.items() for unit in layout.units
    ]
    if rows:
        session.execute(sa.insert(DocumentUnit), rows)
