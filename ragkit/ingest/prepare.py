"""The first stage: a recorded document read, split into units and chunks, ready to embed.

The document goes ``processing``; its file is read (a temporary copy of bytes kept in the
database, or the file the CLI named); units unchanged since the stored version keep their
chunks (:mod:`ragkit.ingest.units`), the others are split into new chunks; vectors stored
before for chunks of the same text are looked up. The result is one immutable
:class:`PreparedDocument`. A failure marks the document ``failed`` and is raised again.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from llama_index.core import Document as LlamaDocument
from llama_index.core.node_parser import SentenceSplitter
from sqlalchemy.orm import Session

from ragkit.chunking import ChunkDraft, make_splitter, split_unit, split_units
from ragkit.database import Database
from ragkit.embeddings import EmbeddingModel
from ragkit.errors import DocumentNotFound, DocumentReadError, DocumentTooLarge
from ragkit.files import local_copy
from ragkit.index import VectorStores, index_for_ingest
from ragkit.ingest.sources import file_digest, title_from_path
from ragkit.ingest.status import failing, mark_failed, mark_processing
from ragkit.ingest.units import UnitRecord, VersionLayout, layout_units, stored_units
from ragkit.readers import detect_content_type, extract_title, read_units
from ragkit.schema import Document, DocumentStatus, VectorIndex
from ragkit.settings import Settings

ModelResolver = Callable[[str], EmbeddingModel]


@dataclass(frozen=True)
class PreparedDocument:
    """A document read and chunked, waiting for its new chunks' vectors.

    ``drafts`` are the chunks of the units that changed; ``layout`` says which stored chunks the
    other units keep; ``known_vectors`` are vectors stored before, by chunk content hash.
    """

    document_id: uuid.UUID
    organization: str
    index: VectorIndex
    model: EmbeddingModel
    drafts: tuple[ChunkDraft, ...]
    digest: str
    known_vectors: Mapping[str, Any]
    layout: VersionLayout


@dataclass(frozen=True)
class FileContent:
    """The bytes of a document's file as read for this version, and where they were read."""

    path: Path
    data: bytes
    digest: str


def pipeline_signature(settings: Settings, index: VectorIndex) -> str:
    """What decides a document's stored chunks and vectors: settings and vector generation."""
    return f"{settings.pipeline_signature};index={index.name}"


class Preparer:
    """Prepares documents for one database and its embedding models."""

    def __init__(
        self, database: Database, settings: Settings, models: ModelResolver, stores: VectorStores
    ) -> None:
        self.database = database
        self.settings = settings
        self.models = models
        self.stores = stores
        self._splitters: dict[str, SentenceSplitter] = {}

    def index_for(self, session: Session, organization: str) -> VectorIndex:
        """The generation (and so the model) the organization's new chunks go to."""
        default = self.models(self.settings.embed_model)
        return index_for_ingest(session, organization, default.name, default.dimensions)

    def model_for(self, index: VectorIndex) -> EmbeddingModel:
        return self.models(index.embed_model)

    def splitter_for(self, model: EmbeddingModel) -> SentenceSplitter:
        """Chunks are sized in the tokens of the model that embeds them."""
        if model.name not in self._splitters:
            self._splitters[model.name] = make_splitter(
                self.settings.chunk_size,
                self.settings.chunk_overlap,
                model.tokenizer,
                model.max_tokens,
            )
        return self._splitters[model.name]

    def chunk_units(
        self, units: Sequence[LlamaDocument], model: EmbeddingModel
    ) -> list[ChunkDraft]:
        """Every unit split into chunks, numbered across the document."""
        return split_units(units, self.splitter_for(model), model.tokenizer)

    def signature(self, index: VectorIndex) -> str:
        return pipeline_signature(self.settings, index)

    def is_current(self, document: Document, digest: str, index: VectorIndex) -> bool:
        """Whether the document is stored from these bytes with these settings."""
        return (
            document.content_hash == digest
            and document.status == DocumentStatus.READY
            and document.pipeline_signature == self.signature(index)
        )

    def reusable_units(
        self, session: Session, document: Document | None, index: VectorIndex
    ) -> list[UnitRecord]:
        """The stored units a new version may keep chunks of: same settings and generation.

        Units are written in the transaction that writes their chunks, so they describe the
        stored chunks whatever the document's status (a failed or interrupted attempt leaves
        both as they were).
        """
        if document is None or document.pipeline_signature != self.signature(index):
            return []
        return stored_units(session, document.id)

    def prepare(
        self, document_id: uuid.UUID, *, force: bool = False
    ) -> PreparedDocument | Document:
        """Mark the document ``processing``, read and chunk it, and find re-usable vectors.

        Returns the document itself when it is already current (and not ``force``, which also
        chunks every unit again instead of keeping the chunks of unchanged ones).
        """
        with self.database.sessions() as session, contextlib.ExitStack() as files:
            document = session.get(Document, document_id)
            if document is None:
                raise DocumentNotFound(f"no document {document_id}")
            index = self.index_for(session, document.organization_id)
            content = self._read(session, document, files)
            if not force and self.is_current(document, content.digest, index):
                return document
            base = [] if force else self.reusable_units(session, document, index)
            mark_processing(document)
            session.commit()
            return self._chunk(session, document, index, content, base)

    def _read(
        self, session: Session, document: Document, files: contextlib.ExitStack
    ) -> FileContent:
        """The document's bytes: its ``file_path``, or a temporary copy of the stored bytes.

        A missing or too large file marks the document ``failed``.
        """
        try:
            path = files.enter_context(local_copy(session, document))
            self.settings.limits.check_file_size(path.stat().st_size)
            data = path.read_bytes()
        except OSError as error:
            mark_failed(session, document, f"the stored file is missing: {error.strerror}")
            shown = document.file_path or document.source
            raise DocumentReadError(f"{shown}: {error.strerror or error}") from error
        except DocumentTooLarge as error:
            reason = f"{Path(document.source or path.name).name}: {error}"
            mark_failed(session, document, reason)
            raise DocumentTooLarge(reason) from None
        return FileContent(path, data, file_digest(data))

    def _chunk(
        self,
        session: Session,
        document: Document,
        index: VectorIndex,
        content: FileContent,
        base: Sequence[UnitRecord],
    ) -> PreparedDocument:
        """Chunk the document's changed units and find their re-usable vectors; commit.

        A failure marks the document ``failed`` and is raised again.
        """
        model = self.model_for(index)
        with failing(session, document):
            layout, drafts = self._split(content, document, model, base)
            known = {}
            if document.pipeline_signature is not None:  # stored before: vectors to re-use
                hashes = {draft.content_hash for draft in drafts}
                known = self.previous_vectors(session, index, document.id, hashes)
            session.commit()
        return PreparedDocument(
            document.id,
            document.organization_id,
            index,
            model,
            tuple(drafts),
            content.digest,
            known,
            layout,
        )

    def _split(
        self,
        content: FileContent,
        document: Document,
        model: EmbeddingModel,
        base: Sequence[UnitRecord],
    ) -> tuple[VersionLayout, list[ChunkDraft]]:
        """Read and split the units not found among ``base``; the layout and the new chunks."""
        path = content.path
        content_type = detect_content_type(content.data, document.source or path.name)
        document.content_type = content_type
        units = read_units(path, content_type, name=document.source, limits=self.settings.limits)
        if document.title == title_from_path(Path(document.source)):
            document.title = extract_title(path, content_type) or document.title
        splitter = self.splitter_for(model)
        layout, drafts = layout_units(
            units,
            base,
            lambda unit, first, offset: split_unit(unit, splitter, model.tokenizer, first, offset),
        )
        if layout.chunk_count == 0:
            raise DocumentReadError(f"{Path(document.source).name}: no text could be extracted")
        return layout, drafts

    def previous_vectors(
        self,
        session: Session,
        index: VectorIndex,
        document_id: uuid.UUID,
        hashes: Collection[str] | None = None,
    ) -> dict[str, Any]:
        """Stored vectors of the document's chunks by content hash (only ``hashes``, if given)."""
        if hashes is not None and not hashes:
            return {}
        rows = self.stores.row_model(index)
        query = sa.select(rows.metadata_["chunk_hash"].astext, rows.embedding).where(
            rows.metadata_["ref_doc_id"].astext == str(document_id)
        )
        if hashes is not None:
            query = query.where(rows.metadata_["chunk_hash"].astext.in_(list(hashes)))
        return {chunk_hash: vector for chunk_hash, vector in session.execute(query) if chunk_hash}
