"""The last stage: embedded documents replace their stored versions, each in one transaction.

Chunks of unchanged units stay, moved into place; the others are deleted with their vectors;
the new chunks, their vector rows and their postings go in with one multi-row statement per
table for all the documents of a group; the units are recorded and the document goes
``ready``. A reader never sees half of an old and half of a new version, and storing the same
version twice (or again after a crash) ends with exactly one set of chunks.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ragkit.chunking import ChunkDraft
from ragkit.database import Database
from ragkit.errors import DocumentChanged, DocumentNotFound, RagkitError
from ragkit.index import VectorStores
from ragkit.ingest.embed import Embedded, EmbeddedDocument, EmbeddingFailed
from ragkit.ingest.postings import record_languages, write_postings
from ragkit.ingest.prepare import PreparedDocument, pipeline_signature
from ragkit.ingest.rows import (
    chunk_row,
    chunk_values,
    delete_vectors,
    keep_chunks,
    sync_vector_metadata,
    vector_row,
    write_units,
)
from ragkit.ingest.status import failing, mark_ready
from ragkit.ingest.units import stored_units
from ragkit.languages import detect_languages
from ragkit.schema import Chunk, Document, VectorIndex
from ragkit.settings import Settings

# Per vector generation (by name): the generation and the ids of some of its chunks.
ChunksByIndex = dict[str, tuple[VectorIndex, list[uuid.UUID]]]


class Storage:
    """Writes embedded documents to one database: chunks, vectors, postings, units, status."""

    def __init__(self, database: Database, settings: Settings, stores: VectorStores) -> None:
        self.database = database
        self.settings = settings
        self.stores = stores

    def store(self, embedded: Embedded) -> Document:
        """Replace the document's chunks, vectors and postings with the embedded ones.

        A failure, the embedding's included, marks the document ``failed`` and is raised again.
        """
        document_id = embedded.prepared.document_id
        with self.database.sessions() as session:
            document = session.get(Document, document_id)
            if document is None:
                raise DocumentNotFound(f"no document {document_id}")
            with failing(session, document):
                if isinstance(embedded, EmbeddingFailed):
                    raise embedded.error
                self.replace(session, [embedded])
                session.commit()
            return document

    def store_many(self, batch: Sequence[Embedded]) -> list[int | RagkitError]:
        """Store embedded documents in one transaction; each one's chunk count or error.

        If the shared transaction fails, every document is stored on its own instead, so one
        bad document marks only itself ``failed``.
        """
        stored: dict[uuid.UUID, int | RagkitError] = {}
        ready = [embedded for embedded in batch if isinstance(embedded, EmbeddedDocument)]
        if len(ready) > 1:
            try:
                with self.database.sessions() as session:
                    counts = self.replace(session, ready)
                    session.commit()
                stored.update(counts)
            except Exception:  # anything: each document is then stored on its own, below
                pass
        for embedded in batch:
            document_id = embedded.prepared.document_id
            if document_id not in stored:
                try:
                    stored[document_id] = self.store(embedded).chunk_count
                except RagkitError as error:
                    stored[document_id] = error
        return [stored[embedded.prepared.document_id] for embedded in batch]

    def replace(self, session: Session, batch: Sequence[EmbeddedDocument]) -> dict[uuid.UUID, int]:
        """Swap documents' chunks, vectors and postings for the embedded ones (no commit).

        Returns each document's chunk count.
        """
        documents = _locked(session, sorted(item.prepared.document_id for item in batch))
        todo = [item for item in batch if not self._already_stored(session, documents, item)]
        self._swap_chunks(session, documents, todo)
        for item in batch:
            prepared = item.prepared
            mark_ready(
                documents[prepared.document_id],
                prepared.layout.chunk_count,
                prepared.digest,
                pipeline_signature(self.settings, prepared.index),
            )
        return {item.prepared.document_id: item.prepared.layout.chunk_count for item in batch}

    def _swap_chunks(
        self,
        session: Session,
        documents: Mapping[uuid.UUID, Document],
        batch: Sequence[EmbeddedDocument],
    ) -> None:
        """Keep the unchanged units' chunks; delete the others with their vectors; insert the
        new chunks, their vectors and postings; record the units."""
        prepared = [item.prepared for item in batch]
        ids = sorted(document.document_id for document in prepared)
        moved = _keep_unchanged(session, prepared)
        keep = {
            document.document_id: document.index.name
            for document in prepared
            if document.layout.kept
        }
        delete_vectors(session, self.stores, ids, keep=keep)
        for index, chunk_ids in moved.values():
            sync_vector_metadata(session, index.table_name, chunk_ids)
        added = self.insert_chunks(session, documents, batch)
        write_postings(session, ids, self.settings.text_search_config, added)
        record_languages(session, ids)
        write_units(session, {document.document_id: document.layout for document in prepared})

    def add(
        self, session: Session, documents: Sequence[Document], batch: Sequence[EmbeddedDocument]
    ) -> None:
        """Insert new documents with their chunks, vectors and postings (no commit)."""
        session.add_all(documents)
        session.flush()
        self.insert_chunks(session, {document.id: document for document in documents}, batch)
        ids = [document.id for document in documents]
        write_postings(session, ids, self.settings.text_search_config)
        record_languages(session, ids)

    def insert_chunks(
        self,
        session: Session,
        documents: Mapping[uuid.UUID, Document],
        batch: Sequence[EmbeddedDocument],
    ) -> list[uuid.UUID]:
        """Insert the documents' new chunks and their vector rows; the new chunks' ids."""
        chunk_rows: list[dict[str, Any]] = []
        vector_rows: dict[str, tuple[VectorIndex, list[dict[str, Any]]]] = {}
        for item in batch:
            prepared = item.prepared
            document = documents[prepared.document_id]
            rows = vector_rows.setdefault(prepared.index.name, (prepared.index, []))[1]
            for draft, language in zip(prepared.drafts, self._languages(prepared.drafts)):
                chunk = chunk_row(document, draft, language)
                chunk_rows.append(chunk_values(chunk))
                vector = item.vectors[draft.content_hash]
                rows.append(vector_row(document, chunk, vector, prepared.index.embed_model))
        if chunk_rows:
            session.execute(sa.insert(Chunk), chunk_rows)
        for index, rows in vector_rows.values():
            if rows:
                session.execute(sa.insert(self.stores.row_model(index).__table__), rows)
        return [row["id"] for row in chunk_rows]

    def _already_stored(
        self, session: Session, documents: Mapping[uuid.UUID, Document], item: EmbeddedDocument
    ) -> bool:
        """Whether an identical version has been stored since this one was prepared.

        Raises:
            DocumentChanged: another version was stored since: the kept chunks are not there.
        """
        prepared = item.prepared
        if not prepared.layout.kept:
            return False
        stored = tuple(stored_units(session, prepared.document_id))
        if stored == prepared.layout.base:
            return False
        document = documents[prepared.document_id]
        if (
            stored == prepared.layout.units
            and document.content_hash == prepared.digest
            and document.pipeline_signature == pipeline_signature(self.settings, prepared.index)
        ):
            return True
        raise DocumentChanged(
            f"{document.source}: another version was stored while this one was prepared; "
            "ingest it again"
        )

    def _languages(self, drafts: Sequence[ChunkDraft]) -> list[str | None]:
        """Each new chunk's language, or None for all when detection is off."""
        if not self.settings.detect_languages:
            return [None] * len(drafts)
        return detect_languages([draft.content for draft in drafts])


def _locked(session: Session, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Document]:
    """The documents, locked until the transaction ends (in id order, against deadlocks).

    Raises:
        DocumentNotFound: one of them has been deleted.
    """
    documents = {
        document.id: document
        for document in session.scalars(
            sa.select(Document).where(Document.id.in_(ids)).with_for_update()
        )
    }
    missing = [document_id for document_id in ids if document_id not in documents]
    if missing:
        raise DocumentNotFound(f"no document {missing[0]}")
    return documents


def _keep_unchanged(session: Session, batch: Sequence[PreparedDocument]) -> ChunksByIndex:
    """Delete the documents' chunks that are not kept; move the kept ones into place.

    Returns, per vector generation, the kept chunks whose number or page changed.
    """
    rebuilt = [prepared.document_id for prepared in batch if not prepared.layout.kept]
    if rebuilt:
        session.execute(sa.delete(Chunk).where(Chunk.document_id.in_(rebuilt)))
    moved: ChunksByIndex = {}
    for prepared in batch:
        if prepared.layout.kept:
            chunk_ids = keep_chunks(session, prepared.document_id, prepared.layout)
            moved.setdefault(prepared.index.name, (prepared.index, []))[1].extend(chunk_ids)
    return moved
