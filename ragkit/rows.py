"""The rows a document's chunks are stored as: chunk values, vector rows and BM25 postings."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode
from llama_index.core.vector_stores.utils import node_to_metadata_dict
from sqlalchemy.orm import Session

from ragkit.index import VectorStores
from ragkit.languages import NEUTRAL_CONFIG, TEXT_SEARCH_CONFIGS
from ragkit.schema import Chunk, Document, IndexStatus, VectorIndex


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
        sa.select(VectorIndex).where(VectorIndex.status != IndexStatus.RETIRED.value)
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


def write_postings(
    session: Session,
    document_ids: uuid.UUID | Sequence[uuid.UUID],
    text_search_config: str,
    chunk_ids: Sequence[uuid.UUID] | None = None,
) -> None:
    """Fill the lexical index for documents' chunks from PostgreSQL's own stemming.

    Each chunk is stemmed in its own language (see :func:`ragkit.languages.text_search_config`):
    ``text_search_config`` for chunks of undecided language, ``simple`` for languages PostgreSQL
    cannot stem (or whose configuration this server lacks). With ``chunk_ids``, only for those
    chunks (the others of the documents already have theirs).
    """
    ids = [document_ids] if isinstance(document_ids, uuid.UUID) else list(document_ids)
    if chunk_ids is not None and not chunk_ids:
        return
    chunk_column, term_column, values = "document_id", "document_id", ids
    if chunk_ids is not None:
        chunk_column, term_column, values = "id", "chunk_id", list(chunk_ids)
    session.execute(
        sa.text(
            f"""
            INSERT INTO chunk_terms (chunk_id, term, organization_id, document_id, tf, doc_len)
            SELECT chunk_id, term, organization_id, document_id, tf,
                   sum(tf) OVER (PARTITION BY chunk_id)
            FROM (
                SELECT c.id AS chunk_id, t.lexeme AS term, c.organization_id, c.document_id,
                       coalesce(array_length(t.positions, 1), 1) AS tf
                FROM chunks c
                LEFT JOIN unnest(CAST(:languages AS text[]), CAST(:configs AS text[]))
                    AS stemmed(language, config) ON stemmed.language = c.language
                LEFT JOIN pg_ts_config available
                    ON available.cfgname = stemmed.config
                    AND available.cfgnamespace = 'pg_catalog'::regnamespace
                CROSS JOIN LATERAL unnest(to_tsvector(
                    CASE WHEN c.language IS NULL THEN CAST(:config AS regconfig)
                         ELSE coalesce(available.oid::regconfig, CAST(:neutral AS regconfig)) END,
                    c.content)) AS t
                WHERE c.{chunk_column} = ANY(:ids)
            ) AS terms
            """
        ),
        {
            "config": text_search_config,
            "languages": list(TEXT_SEARCH_CONFIGS),
            "configs": list(TEXT_SEARCH_CONFIGS.values()),
            "neutral": NEUTRAL_CONFIG,
            "ids": values,
        },
    )
    session.execute(
        sa.text(
            f"""
            UPDATE chunks SET term_count = totals.n
            FROM (SELECT chunk_id, sum(tf) AS n FROM chunk_terms
                  WHERE {term_column} = ANY(:ids) GROUP BY chunk_id) AS totals
            WHERE chunks.id = totals.chunk_id
            """
        ),
        {"ids": values},
    )


def record_languages(session: Session, document_ids: Sequence[uuid.UUID]) -> None:
    """Set each document's language to the one most of its chunks' characters are in."""
    session.execute(
        sa.text(
            """
            UPDATE documents d SET language = (
                SELECT c.language FROM chunks c
                WHERE c.document_id = d.id AND c.language IS NOT NULL
                GROUP BY c.language
                ORDER BY sum(length(c.content)) DESC, c.language
                LIMIT 1)
            WHERE d.id = ANY(:ids)
            """
        ),
        {"ids": list(document_ids)},
    )
