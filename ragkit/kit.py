"""``RagKit``: the library's one entry point, tying database, model, index and answerer together."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ragkit import files
from ragkit.answer import (
    Answer,
    Answerer,
    AnswerEvent,
    Done,
    Retrieved,
    Turn,
    abstain,
    answer_events,
    final_answer,
)
from ragkit.bm25 import BM25
from ragkit.conversation import Found, search_in_conversation
from ragkit.corpus import CorpusStats
from ragkit.database import Database
from ragkit.embeddings import EmbeddingModel, load_embedding_model
from ragkit.errors import ConfigurationError, DocumentNotFound
from ragkit.extractive import ExtractiveAnswerer
from ragkit.index import VectorStores, active_index
from ragkit.retrieve import RetrievedChunk, Retriever, SearchOptions
from ragkit.schema import Chunk, Document
from ragkit.settings import RetrievalMode, Settings

if TYPE_CHECKING:  # imported where used: answering questions needs neither LlamaIndex nor ingest
    from llama_index.vector_stores.postgres import PGVectorStore

    from ragkit.ingest import IngestReport, IngestResult, Pipeline


@dataclass(frozen=True)
class Status:
    """What an organization's knowledge base holds; ``to_json`` is ``ragkit status --json``."""

    documents: int
    chunks: int
    embed_model: str
    dimensions: int
    database: str
    index: str

    def to_json(self) -> dict[str, Any]:
        return {
            "documents": self.documents,
            "chunks": self.chunks,
            "embed_model": self.embed_model,
            "dimensions": self.dimensions,
            "database": self.database,
            "index": self.index,
        }


class RagKit:
    """A knowledge base: ingest files, retrieve passages, answer questions with citations.

    Example:
        >>> kit = RagKit.from_env()
        >>> kit.ingest_path("docs/")
        >>> answer = kit.ask("How do I reset my password?")
        >>> answer.text, answer.citations
    """

    def __init__(self, settings: Settings, database: Database | None = None) -> None:
        self.settings = settings
        self.database = database or Database.from_settings(settings)
        self._model: EmbeddingModel | None = None
        self._pipeline: Pipeline | None = None
        self._answerer: Answerer | None = None
        # What BM25 counts over the corpus, shared by this kit's searches and forgotten by its
        # writes.
        self.corpus = CorpusStats()
        self.stores = VectorStores(
            self.database.engine, settings.hnsw_ef_search, settings.text_search_config
        )

    @classmethod
    def from_env(cls, **overrides: Any) -> RagKit:
        """Settings from the environment (``DATABASE_URL``, ``RAGKIT_*``), then ``overrides``."""
        return cls(Settings.from_env(**overrides))

    @classmethod
    def connect(cls, settings: Settings) -> RagKit:
        """The kit of a web or worker process: on ``settings.database_url`` (or the embedded
        server), leaving the schema to the deployment's migrations (``flask db upgrade``)."""
        return cls(settings, Database.from_settings(settings, migrate=False))

    @property
    def model(self) -> EmbeddingModel:
        """The embedding model, loaded on first use."""
        if self._model is None:
            self._model = load_embedding_model(self.settings)
        return self._model

    def model_named(self, embed_model: str) -> EmbeddingModel:
        """An embedding model by its ``PROVIDER:NAME`` (each loaded once per process)."""
        if embed_model == self.settings.embed_model:
            return self.model
        return load_embedding_model(self.settings.replace(embed_model=embed_model))

    def vector_store(self, organization: str | None = None) -> PGVectorStore:
        """The LlamaIndex ``PGVectorStore`` over the organization's active vector table.

        For use with LlamaIndex directly (e.g. ``VectorStoreIndex.from_vector_store``); filter
        on ``organization_id`` metadata to stay within the organization.
        """
        with self.database.sessions() as session:
            return self.stores.store(active_index(session, self._organization(organization)))

    def model_for(self, organization: str | None = None) -> EmbeddingModel:
        """The model that embedded the organization's active index: queries must use it too."""
        with self.database.sessions() as session:
            index = active_index(session, self._organization(organization))
            return self.model_named(index.embed_model)

    @property
    def pipeline(self) -> Pipeline:
        if self._pipeline is None:
            from ragkit.ingest import Pipeline

            self._pipeline = Pipeline(
                self.database, self.settings, self.model_named, self.stores, self.corpus
            )
        return self._pipeline

    @property
    def answerer(self) -> Answerer:
        if self._answerer is None:
            if self.settings.llm:
                from ragkit.llm import LLMAnswerer, build_llm

                self._answerer = LLMAnswerer(build_llm(self.settings), self.settings)
            else:
                self._answerer = ExtractiveAnswerer(self.settings)
        return self._answerer

    def _organization(self, organization: str | None) -> str:
        name = organization or self.settings.organization
        if not name or len(name) > 64:
            raise ConfigurationError("an organization id must have 1 to 64 characters")
        return name

    # Ingestion

    def ingest_path(
        self,
        *paths: str | Path,
        organization: str | None = None,
        on_file: Callable[[Path, IngestResult], None] | None = None,
    ) -> IngestReport:
        """Ingest files and folders (recursively); a failed file does not stop the others."""
        organization = self._organization(organization)
        from ragkit.ingest import IngestReport, collect_files

        files = collect_files(Path(path) for path in paths)
        return IngestReport(self.pipeline.ingest_files(files, organization, on_file))

    def ingest_file(
        self, path: str | Path, organization: str | None = None, *, title: str | None = None
    ) -> IngestResult:
        """Ingest one file (added, updated in place, or left unchanged)."""
        return self.pipeline.ingest_file(Path(path), self._organization(organization), title=title)

    def process_document(self, document_id: uuid.UUID, *, force: bool = False) -> Document:
        """Chunk, embed and store a document row created beforehand (e.g. by an upload)."""
        return self.pipeline.process_document(document_id, force=force)

    def delete_document(self, document_id: uuid.UUID, organization: str | None = None) -> None:
        """Delete a document with its chunks, lexical postings, vectors and stored bytes."""
        organization = self._organization(organization)
        with self.database.sessions() as session:
            document = session.get(Document, document_id, with_for_update=True)
            if document is None or document.organization_id != organization:
                raise DocumentNotFound(f"no document {document_id} in {organization!r}")
            from ragkit.ingest.rows import delete_vectors

            delete_vectors(session, self.stores, [document_id])
            session.delete(document)
            session.flush()
            files.release(session, document)  # its bytes, unless another document shares them
            session.commit()
        self.corpus.forget(organization)

    # Retrieval and answers

    def retriever(self, organization: str | None = None) -> Retriever:
        """Searches the organization's chunks; build one per question, so that its searches
        resolve the active index and model once."""
        organization = self._organization(organization)
        bm25 = BM25(self.corpus, organization, self.settings.text_search_config)
        return Retriever(self.database, self.stores, self.model_named, bm25)

    def retrieve(
        self,
        query: str,
        organization: str | None = None,
        *,
        top_k: int | None = None,
        mode: RetrievalMode | None = None,
        document_ids: Sequence[uuid.UUID] | None = None,
        query_embedding: Sequence[float] | None = None,
    ) -> list[RetrievedChunk]:
        """The ``top_k`` chunks of the organization that best match ``query``."""
        organization = self._organization(organization)
        options = SearchOptions.from_settings(
            self.settings, mode=mode, top_k=top_k, document_ids=document_ids
        )
        return self.retriever(organization).search(query, options, query_embedding)

    def ask(
        self,
        question: str,
        organization: str | None = None,
        *,
        history: Sequence[Turn] = (),
        top_k: int | None = None,
        mode: RetrievalMode | None = None,
        document_ids: Sequence[uuid.UUID] | None = None,
    ) -> Answer:
        """Answer ``question`` from the organization's documents, citing them."""
        return final_answer(
            self.stream(
                question,
                organization,
                history=history,
                top_k=top_k,
                mode=mode,
                document_ids=document_ids,
            )
        )

    def stream(
        self,
        question: str,
        organization: str | None = None,
        *,
        history: Sequence[Turn] = (),
        top_k: int | None = None,
        mode: RetrievalMode | None = None,
        document_ids: Sequence[uuid.UUID] | None = None,
    ) -> Iterator[AnswerEvent]:
        """Answer as it is produced: ``Retrieved`` chunks, ``Delta`` text pieces, then ``Done``
        with the ``Answer``."""
        question = question.strip()
        if not question:
            raise ConfigurationError("the question is empty")
        started = time.perf_counter()
        answerer = self.answerer
        retriever = self.retriever(organization)
        options = SearchOptions.from_settings(
            self.settings, mode=mode, top_k=top_k, document_ids=document_ids
        )
        with retriever.searching():  # released before answering, which may take a while
            found = self._search(retriever, question, history, options)
        yield Retrieved(tuple(found.chunks))
        if not found.chunks:
            yield from answer_events(abstain(question, answerer.model_name))
            return
        for event in answerer.stream(
            question, found.chunks, found.embedding, retriever.model, search_query=found.query
        ):
            match event:
                case Done(answer):
                    elapsed = time.perf_counter() - started
                    yield Done(replace(answer, search_query=found.query, elapsed=elapsed))
                case _:
                    yield event

    def _search(
        self,
        retriever: Retriever,
        question: str,
        history: Sequence[Turn],
        options: SearchOptions,
    ) -> Found:
        """Retrieve for a question in its conversation: an answerer that rewrites follow-ups
        searches its rewriting alone; else see :mod:`ragkit.conversation`."""
        if self.answerer.rewrites_follow_ups:
            question, history = self.answerer.search_query(question, history), ()
        return search_in_conversation(retriever, question, history, options)

    # Inspection

    def status(self, organization: str | None = None) -> Status:
        """Counts of the organization's documents and chunks, and the model its index uses."""
        organization = self._organization(organization)
        with self.database.sessions() as session:
            documents = session.scalar(
                sa.select(sa.func.count()).where(Document.organization_id == organization)
            )
            chunks = session.scalar(
                sa.select(sa.func.count()).where(Chunk.organization_id == organization)
            )
            index = active_index(session, organization)
            return Status(
                documents=documents or 0,
                chunks=chunks or 0,
                embed_model=index.embed_model,
                dimensions=index.dimensions,
                database=self.database.description,
                index=index.table_name,
            )

    def close(self) -> None:
        self.database.close()

    def __enter__(self) -> RagKit:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
