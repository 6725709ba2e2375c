"""The second stage: vectors for prepared documents' new chunks, in few large batches.

Chunks whose text already has a stored vector keep it; the others of several documents are
embedded together, one call per model, since a model is fastest on full batches. A run over
many files embeds one group in a background thread (:class:`BackgroundEmbedding`) while the
next files are prepared and the previous group is stored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from ragkit.ingest.prepare import PreparedDocument


@dataclass(frozen=True)
class EmbeddedDocument:
    """A prepared document with a vector for each of its new chunks, by content hash."""

    prepared: PreparedDocument
    vectors: Mapping[str, Any]


@dataclass(frozen=True)
class EmbeddingFailed:
    """A prepared document whose new chunks could not be embedded."""

    prepared: PreparedDocument
    error: Exception


Embedded = EmbeddedDocument | EmbeddingFailed


def embed_documents(prepared: Sequence[PreparedDocument]) -> list[Embedded]:
    """Embed the new chunks of several documents in one call per model, in their order."""
    by_model: dict[str, list[int]] = {}
    for position, document in enumerate(prepared):
        by_model.setdefault(document.model.name, []).append(position)
    embedded: dict[int, Embedded] = {}
    for positions in by_model.values():
        group = [prepared[position] for position in positions]
        embedded.update(zip(positions, _embed_group(group)))
    return [embedded[position] for position in range(len(prepared))]


def _embed_group(group: Sequence[PreparedDocument]) -> list[Embedded]:
    """Embed the chunks of documents of one model that have no vector yet, in one call."""
    missing = {
        draft.content_hash: draft.embedding_text
        for document in group
        for draft in document.drafts
        if draft.content_hash not in document.known_vectors
    }
    try:
        fresh = dict(zip(missing, group[0].model.embed_texts(list(missing.values()))))
    except Exception as error:  # each document of the group is then stored as failed
        return [EmbeddingFailed(document, error) for document in group]
    return [EmbeddedDocument(document, _vectors(document, fresh)) for document in group]


def _vectors(document: PreparedDocument, fresh: Mapping[str, Any]) -> dict[str, Any]:
    """The vector of each of the document's new chunks: stored before, or just embedded."""
    known = document.known_vectors
    return {
        draft.content_hash: known[draft.content_hash]
        if draft.content_hash in known
        else fresh[draft.content_hash]
        for draft in document.drafts
    }


class BackgroundEmbedding:
    """Embeds groups of documents one after another in a background thread."""

    def __init__(self) -> None:
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ragkit-embed")

    def submit(self, prepared: Sequence[PreparedDocument]) -> Future[list[Embedded]]:
        return self._thread.submit(embed_documents, list(prepared))

    def __enter__(self) -> BackgroundEmbedding:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._thread.shutdown(wait=True)
