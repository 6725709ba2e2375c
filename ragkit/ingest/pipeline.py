"""The stages in order: prepare (:mod:`.prepare`), embed (:mod:`.embed`), store (:mod:`.store`).

A worker processes one recorded document at a time (:meth:`Pipeline.process_document`).
``ragkit ingest`` first records each file's document, as an upload does (:mod:`.record`), then
takes the same stages, embedding a group of files in a background thread while the next files
are prepared and the previous group is stored.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ragkit.database import Database
from ragkit.errors import RagkitError
from ragkit.index import VectorStores
from ragkit.ingest.embed import BackgroundEmbedding, Embedded, embed_documents
from ragkit.ingest.prepare import ModelResolver, PreparedDocument, Preparer
from ragkit.ingest.record import record_file
from ragkit.ingest.results import IngestResult, Outcome, ProgressCallback
from ragkit.ingest.store import Storage
from ragkit.ingest.texts import TextItem, ingest_texts
from ragkit.schema import Document
from ragkit.settings import Settings


class CorpusCache(Protocol):
    """Figures kept over an organization's chunks (BM25's corpus statistics)."""

    def forget(self, organization: str) -> None:
        """The organization's chunks changed."""


@dataclass(frozen=True)
class FileResult:
    """A file of a run and what happened to it."""

    path: Path
    result: IngestResult


@dataclass(frozen=True)
class PreparedFile:
    """A file of a run, prepared, and whether its document is new or updated."""

    path: Path
    outcome: Outcome
    prepared: PreparedDocument


@dataclass(frozen=True)
class EmbeddingGroup:
    """Prepared files whose vectors the background thread is computing."""

    files: Sequence[PreparedFile]
    embedded: Future[list[Embedded]]


class Pipeline:
    """Turns files into stored, searchable chunks for one database and its embedding models."""

    def __init__(
        self,
        database: Database,
        settings: Settings,
        models: ModelResolver,
        stores: VectorStores,
        corpus: CorpusCache,
    ) -> None:
        self.database = database
        self.settings = settings
        self.models = models
        self.stores = stores
        self.corpus = corpus  # told which organizations' chunks changed
        self.preparer = Preparer(database, settings, models, stores)
        self.storage = Storage(database, settings, stores)

    def with_settings(self, settings: Settings) -> Pipeline:
        """The same pipeline with other settings (e.g. another chunk size)."""
        return Pipeline(self.database, settings, self.models, self.stores, self.corpus)

    def process_document(self, document_id: uuid.UUID, *, force: bool = False) -> Document:
        """Read, chunk, embed and store a document already recorded in the database.

        Idempotent: a document already processed from the same content with the same settings
        is left as it is unless ``force`` (which also chunks every unit again instead of keeping
        the chunks of unchanged ones). On failure the document is marked ``failed`` with a
        readable reason and the error is raised again.
        """
        prepared = self.preparer.prepare(document_id, force=force)
        if isinstance(prepared, Document):
            return prepared
        (embedded,) = embed_documents([prepared])
        document = self.storage.store(embedded)
        self.corpus.forget(prepared.organization)
        return document

    def ingest_file(
        self, path: Path, organization: str, *, title: str | None = None
    ) -> IngestResult:
        """Add or update the document read from ``path``; unchanged files cost one hash.

        The document is recorded first, as an upload does, then processed as a worker does.
        """
        recorded = record_file(self.preparer, path, organization, title=title)
        if isinstance(recorded, IngestResult):
            return recorded
        try:
            document = self.process_document(recorded.document_id)
        except RagkitError as error:
            return IngestResult.failure(path, str(error), recorded.document_id)
        return IngestResult(str(path), recorded.outcome, document.id, document.chunk_count)

    def ingest_files(
        self,
        paths: Iterable[Path],
        organization: str,
        on_file: ProgressCallback | None = None,
        group_chunks: int = 256,
    ) -> list[IngestResult]:
        """Ingest files, embedding and storing the chunks of several files together.

        The model is fastest on full batches and the database on few transactions; a folder of
        small files would otherwise give each a few chunks at a time. A group's documents are
        stored in one transaction; if that fails, each is stored (or marked failed) on its own.
        """
        results: list[IngestResult] = []
        for done in self._file_results(paths, organization, group_chunks):
            results.append(done.result)
            if on_file is not None:
                on_file(done.path, done.result)
        return results

    def ingest_texts(
        self,
        organization: str,
        items: Sequence[TextItem],
        content_type: str = "text/plain",
        *,
        split: bool = True,
    ) -> list[uuid.UUID]:
        """Store many short texts as new documents in one transaction, embedded in one batch.

        For corpora that are not files (evaluation sets, exports): each item becomes a
        ``ready`` document whose ``source`` is the item's own id. With ``split=False`` each
        item is one chunk, embedded as far as the model's window reaches (the usual setup of
        published retrieval benchmarks).
        """
        ids = ingest_texts(
            self.preparer, self.storage, organization, items, content_type, split=split
        )
        self.corpus.forget(organization)
        return ids

    def _file_results(
        self, paths: Iterable[Path], organization: str, group_chunks: int
    ) -> Iterator[FileResult]:
        """Each file's result as it is known, groups stored while the next one is embedded."""
        with BackgroundEmbedding() as embedder:
            previous: EmbeddingGroup | None = None
            for item in self._groups(paths, organization, group_chunks):
                if isinstance(item, FileResult):
                    yield item
                    continue
                current = EmbeddingGroup(item, embedder.submit([f.prepared for f in item]))
                if previous is not None:
                    yield from self._stored(previous)
                previous = current
            if previous is not None:
                yield from self._stored(previous)

    def _groups(
        self, paths: Iterable[Path], organization: str, group_chunks: int
    ) -> Iterator[FileResult | list[PreparedFile]]:
        """Files that end before embedding as their results; the others in groups of at least
        ``group_chunks`` new chunks (the last one smaller)."""
        group: list[PreparedFile] = []
        for path in paths:
            started = self._started(path, organization)
            if isinstance(started, IngestResult):
                yield FileResult(path, started)
                continue
            group.append(started)
            if sum(len(file.prepared.drafts) for file in group) >= group_chunks:
                yield group
                group = []
        if group:
            yield group

    def _stored(self, group: EmbeddingGroup) -> Iterator[FileResult]:
        """Store an embedded group; each file's result."""
        stored = self.storage.store_many(group.embedded.result())
        for organization in {file.prepared.organization for file in group.files}:
            self.corpus.forget(organization)
        for file, outcome in zip(group.files, stored):
            document_id = file.prepared.document_id
            if isinstance(outcome, RagkitError):
                result = IngestResult.failure(file.path, str(outcome), document_id)
            else:
                result = IngestResult(str(file.path), file.outcome, document_id, outcome)
            yield FileResult(file.path, result)

    def _started(self, path: Path, organization: str) -> IngestResult | PreparedFile:
        """:meth:`_start`, with any error reported as the file's failure: one file that breaks
        a parser or exhausts memory must not end a run over many files."""
        try:
            return self._start(path, organization)
        except RagkitError as error:
            return IngestResult.failure(path, str(error))
        except MemoryError:
            return IngestResult.failure(path, f"{path.name}: ran out of memory")
        except Exception as error:
            return IngestResult.failure(path, f"{path.name}: {error!r}")

    def _start(self, path: Path, organization: str) -> IngestResult | PreparedFile:
        """Record the file's document, as an upload does, and prepare it as a worker does; or
        say why not (``unchanged`` for a file stored from the same bytes and settings)."""
        recorded = record_file(self.preparer, path, organization)
        if isinstance(recorded, IngestResult):
            return recorded
        try:
            prepared = self.preparer.prepare(recorded.document_id)
        except RagkitError as error:
            return IngestResult.failure(path, str(error), recorded.document_id)
        if isinstance(prepared, Document):  # stored meanwhile, by another run
            return IngestResult(str(path), Outcome.UNCHANGED, prepared.id)
        return PreparedFile(path, recorded.outcome, prepared)
