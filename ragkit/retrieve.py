"""Retrieval behind one object: a :class:`Retriever` runs dense, BM25 or hybrid searches.

Every search is confined to one organization, and optionally to some of its documents. The
searches themselves live by what they are: :mod:`ragkit.dense` (pgvector HNSW),
:mod:`ragkit.bm25` (lexical) and :mod:`ragkit.fusion` (hybrid); this module picks and combines
them as :class:`SearchOptions` say, and reads the chunks they found.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ragkit.bm25 import BM25
from ragkit.database import Database
from ragkit.dense import nearest_chunks
from ragkit.embeddings import EmbeddingModel
from ragkit.errors import ConfigurationError
from ragkit.fusion import Ranked, fuse
from ragkit.index import VectorStores, active_index
from ragkit.schema import Chunk, Document
from ragkit.settings import RETRIEVAL_MODES, RetrievalMode, Settings


@dataclass(frozen=True)
class RetrievedChunk:
    """A chunk found for a query, with its document and how it scored."""

    chunk_id: uuid.UUID
    document_id: uuid.UUID
    title: str
    source: str
    page_number: int | None
    section_title: str | None
    content: str
    start_char: int
    end_char: int
    score: float
    dense_score: float | None = None
    text_score: float | None = None

    @classmethod
    def from_row(
        cls,
        row: Any,
        score: float,
        dense_score: float | None = None,
        text_score: float | None = None,
    ) -> RetrievedChunk:
        """A row of :data:`CHUNK_COLUMNS` with its scores."""
        return cls(
            chunk_id=row.id,
            document_id=row.document_id,
            title=row.title,
            source=row.source,
            page_number=row.page_number,
            section_title=row.section_title,
            content=row.content,
            start_char=row.start_char,
            end_char=row.end_char,
            score=score,
            dense_score=dense_score,
            text_score=text_score,
        )


# What a retrieved chunk is read as: plain columns, not ORM objects, which would cost their
# bookkeeping for rows only read once.
CHUNK_COLUMNS = (
    Chunk.id,
    Chunk.document_id,
    Document.title,
    Document.source,
    Chunk.page_number,
    Chunk.section_title,
    Chunk.content,
    Chunk.start_char,
    Chunk.end_char,
)


@dataclass(frozen=True)
class SearchOptions:
    """How a search runs: its mode, how many chunks it returns, within which documents (none:
    all of them), and how hybrid search fuses its lists (``dense_weight``, each list
    ``candidate_k`` deep)."""

    mode: RetrievalMode
    top_k: int
    dense_weight: float
    candidate_k: int
    document_ids: tuple[uuid.UUID, ...] = ()

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        mode: RetrievalMode | None = None,
        top_k: int | None = None,
        document_ids: Sequence[uuid.UUID] | None = None,
    ) -> SearchOptions:
        """The settings' defaults, with what one call asks for instead."""
        mode = mode or settings.retrieval_mode
        if mode not in RETRIEVAL_MODES:
            raise ConfigurationError(f"mode must be one of {', '.join(RETRIEVAL_MODES)}")
        return cls(
            mode=mode,
            top_k=top_k or settings.top_k,
            dense_weight=settings.dense_weight,
            candidate_k=settings.candidate_k,
            document_ids=tuple(document_ids or ()),
        )

    @property
    def depth(self) -> int:
        """How many chunks each search reads: hybrid fuses deeper lists than it returns."""
        return max(self.top_k, self.candidate_k) if self.mode == "hybrid" else self.top_k

    def with_top_k(self, top_k: int) -> SearchOptions:
        return dataclasses.replace(self, top_k=top_k)

    def rank(self, dense: Ranked, text: Ranked) -> Ranked:
        """The mode's list, or both fused."""
        if self.mode == "hybrid":
            return fuse(dense, text, self.dense_weight)
        return dense if self.mode == "dense" else text


@dataclass(frozen=True)
class ActiveIndex:
    """An organization's vector generation as a question found it: its rows and its model."""

    rows: Any  # the SQLAlchemy row model of the generation's table
    embed_model: str


class Retriever:
    """Searches one organization's chunks with its active vector index and that index's model.

    ``RagKit.retriever`` builds one per question. The index (and so the model) is resolved once,
    by the first search or question embedding that needs it, so every search for the question
    (a follow-up makes several) reads the same generation and embeds with the model that built
    it, and a text-only search never resolves it. BM25 reads the kit's corpus statistics.
    Inside :meth:`searching`, the question's searches share one connection and transaction.
    """

    def __init__(
        self,
        database: Database,
        stores: VectorStores,
        models: Callable[[str], EmbeddingModel],
        bm25: BM25,
    ) -> None:
        self.database = database
        self.stores = stores
        self.bm25 = bm25
        self.organization = bm25.organization
        self._models = models
        self._index: ActiveIndex | None = None
        self._session: Session | None = None

    @contextmanager
    def searching(self) -> Iterator[None]:
        """Run the searches made inside in one session: a question in a conversation makes
        several, and each session costs a connection check-out and a transaction."""
        with self.database.sessions() as session:
            self._session = session
            try:
                yield
            finally:
                self._session = None

    @contextmanager
    def session(self) -> Iterator[Session]:
        """The session of :meth:`searching`, else one of its own."""
        if self._session is not None:
            yield self._session
            return
        with self.database.sessions() as session:
            yield session

    def index(self, session: Session) -> ActiveIndex:
        """The active generation, resolved on first use."""
        if self._index is None:
            index = active_index(session, self.organization)
            self._index = ActiveIndex(self.stores.row_model(index), index.embed_model)
        return self._index

    @property
    def model(self) -> EmbeddingModel:
        """The model that embedded the active index: queries must use it too."""
        if self._index is None:
            with self.session() as session:
                self.index(session)
        assert self._index is not None
        return self._models(self._index.embed_model)

    def search(
        self, query: str, options: SearchOptions, embedding: Sequence[float] | None = None
    ) -> list[RetrievedChunk]:
        """The ``options.top_k`` chunks that best match ``query`` (``embedding``: its vector,
        when it is already computed)."""
        with self.session() as session:
            dense = self._dense(session, query, options, embedding)
            text = self._text(session, query, options)
            return load_chunks(session, options.rank(dense, text)[: options.top_k], dense, text)

    def rank(
        self, query: str, options: SearchOptions, embedding: Sequence[float] | None = None
    ) -> Ranked:
        """The ids and scores of the chunks :meth:`search` would return, without reading the
        chunks: enough to re-rank others by."""
        with self.session() as session:
            dense = self._dense(session, query, options, embedding)
            text = self._text(session, query, options)
            return options.rank(dense, text)[: options.top_k]

    def _dense(
        self,
        session: Session,
        query: str,
        options: SearchOptions,
        embedding: Sequence[float] | None,
    ) -> Ranked:
        if options.mode == "text":
            return []
        rows = self.index(session).rows
        vector = embedding or self.model.embed_query(query)
        # The size decides between an exact scan and the HNSW walk (see ragkit.dense); BM25's
        # cached count costs nothing here.
        chunks, _ = self.bm25.corpus.get(session, self.organization)
        return nearest_chunks(
            session,
            rows,
            vector,
            self.organization,
            options.depth,
            options.document_ids,
            organization_chunks=chunks,
        )

    def _text(self, session: Session, query: str, options: SearchOptions) -> Ranked:
        if options.mode == "dense":
            return []
        return self.bm25.search(session, query, options.depth, options.document_ids)


def load_chunks(
    session: Session,
    ranked: Sequence[tuple[str, float]],
    dense: Ranked,
    text: Ranked,
) -> list[RetrievedChunk]:
    """The chunks behind ranked ids, in rank order, with their documents."""
    ids = [uuid.UUID(chunk_id) for chunk_id, _ in ranked]
    rows = session.execute(
        sa.select(*CHUNK_COLUMNS)
        .join(Document, Document.id == Chunk.document_id)
        .where(Chunk.id.in_(ids))
    ).all()
    by_id = {str(row.id): row for row in rows}
    dense_scores, text_scores = dict(dense), dict(text)
    return [
        RetrievedChunk.from_row(
            by_id[chunk_id], score, dense_scores.get(chunk_id), text_scores.get(chunk_id)
        )
        for chunk_id, score in ranked
        if chunk_id in by_id  # else deleted between the search and this read
    ]
