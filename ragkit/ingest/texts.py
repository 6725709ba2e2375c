"""Short texts stored as documents without a file (evaluation sets, exports), in one batch.

They take the stages' steps without a file to read or a stored version to keep chunks of:
each text is chunked (or kept whole), all are embedded together, and the documents, chunks,
vectors and postings are written in one transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from llama_index.core import Document as LlamaDocument

from ragkit.chunking import ChunkDraft
from ragkit.embeddings import EmbeddingModel
from ragkit.ingest.embed import EmbeddedDocument, EmbeddingFailed, embed_documents
from ragkit.ingest.prepare import PreparedDocument, Preparer
from ragkit.ingest.sources import file_digest
from ragkit.ingest.store import Storage
from ragkit.ingest.units import VersionLayout
from ragkit.schema import Document, DocumentStatus, VectorIndex


@dataclass(frozen=True)
class TextItem:
    """A text to store as a document without a file."""

    source: str
    title: str
    text: str


def whole(item: TextItem, model: EmbeddingModel) -> list[ChunkDraft]:
    """The item as a single chunk (none if it has no text)."""
    if not item.text.strip():
        return []
    return [ChunkDraft(0, item.text, None, None, 0, len(item.text), model.count_tokens(item.text))]


def ingest_texts(
    preparer: Preparer,
    storage: Storage,
    organization: str,
    items: Sequence[TextItem],
    content_type: str = "text/plain",
    *,
    split: bool = True,
) -> list[uuid.UUID]:
    """Store the items as new ``ready`` documents of the organization; their ids.

    With ``split=False`` each item is one chunk, embedded as far as the model's window reaches.
    """
    with preparer.database.sessions() as session:
        index = preparer.index_for(session, organization)
        model = preparer.model_for(index)
        documents, prepared = [], []
        for item in items:
            drafts = _drafts(preparer, item, model, split)
            document = _document(item, organization, content_type, len(drafts))
            document.pipeline_signature = preparer.signature(index)
            documents.append(document)
            prepared.append(_prepared(document, index, model, drafts))
        storage.add(session, documents, _embedded(prepared))
        session.commit()
        return [document.id for document in documents]


def _drafts(
    preparer: Preparer, item: TextItem, model: EmbeddingModel, split: bool
) -> list[ChunkDraft]:
    if not split:
        return whole(item, model)
    unit = LlamaDocument(text=item.text, metadata={"page_number": None, "section_title": None})
    return preparer.chunk_units([unit], model)


def _document(item: TextItem, organization: str, content_type: str, chunks: int) -> Document:
    data = item.text.encode()
    return Document(
        id=uuid.uuid4(),
        organization_id=organization,
        title=item.title,
        source=item.source,
        content_type=content_type,
        file_size=len(data),
        content_hash=file_digest(data),
        status=DocumentStatus.READY,
        chunk_count=chunks,
    )


def _prepared(
    document: Document, index: VectorIndex, model: EmbeddingModel, drafts: Sequence[ChunkDraft]
) -> PreparedDocument:
    return PreparedDocument(
        document.id,
        document.organization_id,
        index,
        model,
        tuple(drafts),
        document.content_hash,
        {},
        VersionLayout(),
    )


def _embedded(prepared: Sequence[PreparedDocument]) -> list[EmbeddedDocument]:
    """The documents embedded; the first failure is raised."""
    embedded = embed_documents(prepared)
    for item in embedded:
        if isinstance(item, EmbeddingFailed):
            raise item.error
    return [item for item in embedded if isinstance(item, EmbeddedDocument)]
