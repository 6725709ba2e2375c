"""The ingestion pipeline: read -> chunk -> embed -> store, idempotent by content hash.

A document's chunks, vectors and lexical postings are replaced in one transaction, so a
reader never sees half of an old and half of a new version, and running the same work twice
(or again after a crash) ends with exactly one set of chunks. A new version of a stored file
keeps the chunks of its unchanged pages and sections (see :mod:`ragkit.units`).
"""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from llama_index.core import Document as LlamaDocument
from llama_index.core.node_parser import SentenceSplitter
from sqlalchemy.orm import Session

from ragkit.chunking import ChunkDraft, make_splitter, split_unit, split_units
from ragkit.corpus import CorpusStats
from ragkit.database import Database
from ragkit.embeddings import EmbeddingModel
from ragkit.errors import (
    DocumentChanged,
    DocumentNotFound,
    DocumentReadError,
    DocumentTooLarge,
    RagkitError,
)
from ragkit.files import local_copy
from ragkit.index import VectorStores, index_for_ingest
from ragkit.languages import detect_languages
from ragkit.readers import SUPPORTED_EXTENSIONS, detect_content_type, extract_title, read_units
from ragkit.rows import (
    chunk_values,
    delete_vectors,
    record_languages,
    vector_row,
    write_postings,
)
from ragkit.schema import Chunk, Document, DocumentStatus, VectorIndex
from ragkit.settings import Settings
from ragkit.units import (
    UnitPlan,
    UnitRecord,
    keep_chunks,
    plan_units,
    stored_units,
    sync_vector_metadata,
    write_units,
)

ModelResolver = Callable[[str], EmbeddingModel]


@dataclass(frozen=True)
class TextItem:
    """A text to store as a document without a file."""

    source: str
    title: str
    text: str


@dataclass
class Prepared:
    """A document read and chunked, waiting for its new chunks' vectors.

    ``drafts`` are the chunks of the units that changed; ``units`` says which stored chunks the
    other units keep.
    """

    document_id: uuid.UUID
    index: VectorIndex
    model: EmbeddingModel
    drafts: list[ChunkDraft]
    digest: str
    vectors: dict[str, Any]
    error: Exception | None = None
    units: UnitPlan = field(default_factory=UnitPlan)


@dataclass(frozen=True)
class IngestResult:
    """What happened to one file."""

    path: str
    outcome: str  # added, updated, unchanged or failed
    document_id: uuid.UUID | None = None
    chunks_added: int = 0
    error: str | None = None


ProgressCallback = Callable[[Path, IngestResult], None]


@dataclass
class IngestReport:
    """What happened to a batch of files; ``to_json`` is the CLI's ``ingest --json`` shape."""

    results: list[IngestResult] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for result in self.results if result.outcome == outcome)

    @property
    def failed(self) -> list[IngestResult]:
        return [result for result in self.results if result.outcome == "failed"]

    @property
    def chunks_added(self) -> int:
        return sum(result.chunks_added for result in self.results)

    def to_json(self) -> dict[str, Any]:
        return {
            "files": len(self.results),
            "documents_added": self.count("added"),
            "documents_updated": self.count("updated"),
            "documents_unchanged": self.count("unchanged"),
            "chunks_added": self.chunks_added,
            "failed": [{"path": result.path, "error": result.error} for result in self.failed],
        }


def whole(item: TextItem, model: EmbeddingModel) -> list[ChunkDraft]:
    """The item as a single chunk (none if it has no text)."""
    if not item.text.strip():
        return []
    return [ChunkDraft(0, item.text, None, None, 0, len(item.text), model.count_tokens(item.text))]


def file_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def collect_files(paths: Iterable[Path]) -> list[Path]:
    """Files named directly, and supported files found under named folders (sorted)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                sorted(
                    child
                    for child in path.rglob("*")
                    if child.is_file()
                    and child.suffix.lower() in SUPPORTED_EXTENSIONS
                    and not any(part.startswith(".") for part in child.relative_to(path).parts)
                )
            )
        else:
            found.append(path)
    return found


def title_from_path(path: Path) -> str:
    return path.stem.replace("_", " ").replace("-", " ").strip().capitalize() or path.name


class Pipeline:
    """Turns files into stored, searchable chunks for one database and embedding model."""

    def __init__(
        self,
        database: Database,
        settings: Settings,
        models: ModelResolver,
        stores: VectorStores,
        corpus: CorpusStats,
    ) -> None:
        self.database = database
        self.settings = settings
        self.models = models
        self.stores = stores
        self.corpus = corpus  # told which organizations' chunks changed
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
        return split_units(units, self.splitter_for(model), model.tokenizer)

    def signature(self, index: VectorIndex) -> str:
        return f"{self.settings.pipeline_signature};index={index.name}"

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
        The model embeds one group in a background thread while the next files are read and
        chunked and the previous group is stored, so neither waits for the other.
        """
        results: list[IngestResult] = []
        group: list[tuple[Path, str, Prepared]] = []
        pending: list[tuple[list[tuple[Path, str, Prepared]], Future[None]]] = []

        def report(path: Path, result: IngestResult) -> None:
            results.append(result)
            if on_file is not None:
                on_file(path, result)

        def store(batch: list[tuple[Path, str, Prepared]], embedded: Future[None]) -> None:
            embedded.result()  # embedding errors are recorded on the jobs themselves
            jobs = [job for _, _, job in batch]
            for (path, outcome, job), stored in zip(batch, self.store_many(jobs)):
                if isinstance(stored, RagkitError):
                    report(
                        path, IngestResult(str(path), "failed", job.document_id, error=str(stored))
                    )
                else:
                    report(path, IngestResult(str(path), outcome, job.document_id, stored))

        def flush(embedder: ThreadPoolExecutor) -> None:
            """Start embedding the group; store the previous one while the model works."""
            batch = list(group)
            group.clear()
            embedded = embedder.submit(self._embed_jobs, [job for _, _, job in batch])
            if pending:
                store(*pending.pop())
            pending.append((batch, embedded))

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ragkit-embed") as embedder:
            for path in paths:
                started = self._started(path, organization)
                if isinstance(started, IngestResult):
                    report(path, started)
                    continue
                group.append((path, *started))
                if sum(len(job.drafts) for _, _, job in group) >= group_chunks:
                    flush(embedder)
            if group:
                flush(embedder)
            if pending:
                store(*pending.pop())
        return results

    def ingest_file(
        self, path: Path, organization: str, *, title: str | None = None
    ) -> IngestResult:
        """Add or update the document read from ``path``; unchanged files cost one hash."""
        started = self._start(path, organization, title=title)
        if isinstance(started, IngestResult):
            return started
        outcome, job = started
        self._embed_jobs([job])
        try:
            document = self.store(job)
        except RagkitError as error:
            return IngestResult(str(path), "failed", job.document_id, error=str(error))
        return IngestResult(str(path), outcome, document.id, document.chunk_count)

    def _started(self, path: Path, organization: str) -> IngestResult | tuple[str, Prepared]:
        """:meth:`_start`, with any error reported as the file's failure: one file that breaks
        a parser or exhausts memory must not end a run over many files."""
        try:
            return self._start(path, organization)
        except RagkitError as error:
            return IngestResult(str(path), "failed", error=str(error))
        except MemoryError:
            return IngestResult(str(path), "failed", error=f"{path.name}: ran out of memory")
        except Exception as error:
            return IngestResult(str(path), "failed", error=f"{path.name}: {error!r}")

    def _start(
        self, path: Path, organization: str, *, title: str | None = None
    ) -> IngestResult | tuple[str, Prepared]:
        """Record the file's document and chunk it, in one transaction; or say why not.

        Returns ``unchanged`` for a file already stored from the same bytes and settings.
        """
        try:
            self.settings.limits.check_file_size(path.stat().st_size)
            data = path.read_bytes()
        except OSError as error:
            return IngestResult(str(path), "failed", error=f"{path}: {error.strerror or error}")
        except DocumentTooLarge as error:
            return IngestResult(str(path), "failed", error=f"{path.name}: {error}")
        try:
            content_type = detect_content_type(data, path.name)
        except RagkitError as error:
            return IngestResult(str(path), "failed", error=str(error))
        source = str(path.resolve())
        digest = file_digest(data)
        with self.database.sessions() as session:
            document = session.scalars(
                sa.select(Document)
                .where(Document.organization_id == organization, Document.source == source)
                .order_by(Document.created_at)
            ).first()
            index = self.index_for(session, organization)
            if document is not None and self._is_current(document, digest, index):
                session.commit()
                return IngestResult(str(path), "unchanged", document.id)
            outcome = "updated" if document is not None else "added"
            base = self._reusable_units(session, document, index)
            if document is None:
                document = Document(id=uuid.uuid4(), organization_id=organization, source=source)
                session.add(document)
            document.title = title or document.title or title_from_path(path)
            document.file_path = source
            document.content_type = content_type
            document.file_size = len(data)
            document.content_hash = digest
            document.status = DocumentStatus.PROCESSING
            document.processing_error = None
            session.flush()
            try:
                job = self._plan(session, document, index, path, data, digest, base)
            except RagkitError as error:
                return IngestResult(str(path), "failed", document.id, error=str(error))
            return outcome, job

    def _reusable_units(
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

    def _is_current(self, document: Document, digest: str, index: VectorIndex) -> bool:
        return (
            document.content_hash == digest
            and document.status == DocumentStatus.READY.value
            and document.pipeline_signature == self.signature(index)
        )

    def process_document(self, document_id: uuid.UUID, *, force: bool = False) -> Document:
        """Read, chunk, embed and store a document already recorded in the database.

        Idempotent: a document already processed from the same content with the same settings
        is left as it is unless ``force`` (which also chunks every unit again instead of keeping
        the chunks of unchanged ones). On failure the document is marked ``failed`` with a
        readable reason and the error is raised again.
        """
        job = self.prepare(document_id, force=force)
        if isinstance(job, Document):
            return job
        self._embed_jobs([job])
        return self.store(job)

    def prepare(self, document_id: uuid.UUID, *, force: bool = False) -> Prepared | Document:
        """Mark the document ``processing``, read and chunk it, and find re-usable vectors.

        Returns the document itself when it is already current (and not ``force``).
        """
        with self.database.sessions() as session, contextlib.ExitStack() as files:
            document = session.get(Document, document_id)
            if document is None:
                raise DocumentNotFound(f"no document {document_id}")
            index = self.index_for(session, document.organization_id)
            try:  # its file_path, or a temporary copy of the bytes kept in the database
                path = files.enter_context(local_copy(session, document))
                self.settings.limits.check_file_size(path.stat().st_size)
                data = path.read_bytes()
            except OSError as error:
                self._fail(session, document, f"the stored file is missing: {error.strerror}")
                shown = document.file_path or document.source
                raise DocumentReadError(f"{shown}: {error.strerror or error}") from error
            except DocumentTooLarge as error:
                reason = f"{Path(document.source or path.name).name}: {error}"
                self._fail(session, document, reason)
                raise DocumentTooLarge(reason) from None
            digest = file_digest(data)
            if not force and self._is_current(document, digest, index):
                return document
            base = [] if force else self._reusable_units(session, document, index)
            document.status = DocumentStatus.PROCESSING
            document.processing_error = None
            session.commit()
            return self._plan(session, document, index, path, data, digest, base)

    def _plan(
        self,
        session: Session,
        document: Document,
        index: VectorIndex,
        path: Path,
        data: bytes,
        digest: str,
        base: Sequence[UnitRecord],
    ) -> Prepared:
        """Chunk the document's changed units and find their re-usable vectors; commit.

        A failure marks the document ``failed`` and is raised again.
        """
        model = self.model_for(index)
        with self._failing(session, document):
            plan, drafts = self._chunk(path, data, document, model, base)
            known = {}
            if document.pipeline_signature is not None:  # stored before: vectors to re-use
                hashes = {draft.content_hash for draft in drafts}
                known = self.previous_vectors(session, index, document.id, hashes)
            session.commit()
        return Prepared(document.id, index, model, drafts, digest, known, units=plan)

    def _embed_jobs(self, jobs: Sequence[Prepared]) -> None:
        """Embed the new chunks of several documents in one call per model."""
        by_model: dict[str, list[Prepared]] = {}
        for job in jobs:
            by_model.setdefault(job.model.name, []).append(job)
        for group in by_model.values():
            missing = {
                draft.content_hash: draft.embedding_text
                for job in group
                for draft in job.drafts
                if draft.content_hash not in job.vectors
            }
            try:
                fresh = dict(zip(missing, group[0].model.embed_texts(list(missing.values()))))
            except Exception as error:
                for job in group:
                    job.error = error
                continue
            for job in group:
                job.vectors.update(fresh)

    def store(self, job: Prepared) -> Document:
        """Replace the document's chunks, vectors and postings with the prepared ones."""
        with self.database.sessions() as session:
            document = session.get(Document, job.document_id)
            if document is None:
                raise DocumentNotFound(f"no document {job.document_id}")
            with self._failing(session, document):
                if job.error is not None:
                    raise job.error
                self._replace(session, [job])
                session.commit()
            return document

    def store_many(self, jobs: Sequence[Prepared]) -> list[int | RagkitError]:
        """Store prepared documents in one transaction; each one's chunk count or error.

        If the shared transaction fails, every document is stored on its own instead, so one
        bad document marks only itself ``failed``.
        """
        stored: dict[uuid.UUID, int | RagkitError] = {}
        ready = [job for job in jobs if job.error is None]
        if len(ready) > 1:
            try:
                with self.database.sessions() as session:
                    counts = self._replace(session, ready)
                    session.commit()
                stored.update(counts)
            except Exception:  # anything: each document is then stored on its own, below
                pass
        for job in jobs:
            if job.document_id not in stored:
                try:
                    stored[job.document_id] = self.store(job).chunk_count
                except RagkitError as error:
                    stored[job.document_id] = error
        return [stored[job.document_id] for job in jobs]

    @contextlib.contextmanager
    def _failing(self, session: Session, document: Document) -> Iterator[None]:
        """Record any error on the document as ``failed`` with its reason, then re-raise it."""
        try:
            yield
        except RagkitError as error:
            session.rollback()
            self._fail(session, document, str(error))
            raise
        except Exception as error:
            session.rollback()
            self._fail(session, document, f"processing failed: {error}")
            raise

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
        with self.database.sessions() as session:
            index = self.index_for(session, organization)
            model = self.model_for(index)
            documents, drafts = [], []
            for item in items:
                units = [
                    LlamaDocument(
                        text=item.text, metadata={"page_number": None, "section_title": None}
                    )
                ]
                item_drafts = self.chunk_units(units, model) if split else whole(item, model)
                documents.append(
                    Document(
                        id=uuid.uuid4(),
                        organization_id=organization,
                        title=item.title,
                        source=item.source,
                        content_type=content_type,
                        file_size=len(item.text.encode()),
                        content_hash=file_digest(item.text.encode()),
                        status=DocumentStatus.READY.value,
                        chunk_count=len(item_drafts),
                        pipeline_signature=self.signature(index),
                    )
                )
                drafts.append(item_drafts)
            jobs = [
                Prepared(document.id, index, model, item_drafts, document.content_hash or "", {})
                for document, item_drafts in zip(documents, drafts)
            ]
            self._embed_jobs(jobs)
            for job in jobs:
                if job.error is not None:
                    raise job.error
            session.add_all(documents)
            session.flush()
            self._insert_new(session, {document.id: document for document in documents}, jobs)
            ids = [document.id for document in documents]
            write_postings(session, ids, self.settings.text_search_config)
            self.corpus.forget(organization)
            record_languages(session, ids)
            session.commit()
            return [document.id for document in documents]

    def _fail(self, session: Session, document: Document, reason: str) -> None:
        session.add(document)  # a document first recorded in the rolled-back transaction
        document.status = DocumentStatus.FAILED
        document.processing_error = reason
        session.commit()

    def _chunk(
        self,
        path: Path,
        data: bytes,
        document: Document,
        model: EmbeddingModel,
        base: Sequence[UnitRecord],
    ) -> tuple[UnitPlan, list[ChunkDraft]]:
        """Read and split the units not found among ``base``; the plan and their chunks."""
        content_type = detect_content_type(data, document.source or path.name)
        document.content_type = content_type
        units = read_units(path, content_type, name=document.source, limits=self.settings.limits)
        if document.title == title_from_path(Path(document.source)):
            document.title = extract_title(path, content_type) or document.title
        splitter = self.splitter_for(model)
        plan, drafts = plan_units(
            units,
            base,
            lambda unit, first, offset: split_unit(unit, splitter, model.tokenizer, first, offset),
        )
        if plan.chunk_count == 0:
            raise DocumentReadError(f"{Path(document.source).name}: no text could be extracted")
        return plan, drafts

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

    def _replace(self, session: Session, jobs: Sequence[Prepared]) -> dict[uuid.UUID, int]:
        """Swap documents' chunks, vectors and postings for the prepared ones (no commit).

        Chunks of unchanged units stay, moved into place; the others are deleted, and the new
        ones go in with one multi-row statement per table for all the documents.
        """
        ids = sorted(job.document_id for job in jobs)
        documents = {
            document.id: document
            for document in session.scalars(
                sa.select(Document).where(Document.id.in_(ids)).with_for_update()
            )
        }
        missing = [document_id for document_id in ids if document_id not in documents]
        if missing:
            raise DocumentNotFound(f"no document {missing[0]}")
        prepared = jobs
        jobs = [job for job in prepared if not self._already_stored(session, documents, job)]
        ids = sorted(job.document_id for job in jobs)
        moved = self._keep_unchanged(session, jobs)
        delete_vectors(
            session,
            self.stores,
            ids,
            keep={job.document_id: job.index.name for job in jobs if job.units.kept},
        )
        for index, chunk_ids in moved.values():
            sync_vector_metadata(session, index.table_name, chunk_ids)
        added = self._insert_new(session, documents, jobs)
        write_postings(session, ids, self.settings.text_search_config, added)
        for organization in {documents[document_id].organization_id for document_id in ids}:
            self.corpus.forget(organization)
        record_languages(session, ids)
        write_units(session, {job.document_id: job.units for job in jobs})
        for job in prepared:
            document = documents[job.document_id]
            document.status = DocumentStatus.READY
            document.chunk_count = job.units.chunk_count
            document.content_hash = job.digest
            document.pipeline_signature = self.signature(job.index)
            document.processing_error = None
        return {job.document_id: job.units.chunk_count for job in prepared}

    def _insert_new(
        self, session: Session, documents: Mapping[uuid.UUID, Document], jobs: Sequence[Prepared]
    ) -> list[uuid.UUID]:
        """Insert the jobs' new chunks and their vector rows; the new chunks' ids."""
        chunk_rows: list[dict[str, Any]] = []
        vector_rows: dict[str, tuple[VectorIndex, list[dict[str, Any]]]] = {}
        for job in jobs:
            document = documents[job.document_id]
            rows = vector_rows.setdefault(job.index.name, (job.index, []))[1]
            for draft, language in zip(job.drafts, self._languages(job.drafts)):
                chunk = self._chunk_row(document, draft, language)
                chunk_rows.append(chunk_values(chunk))
                vector = job.vectors[draft.content_hash]
                rows.append(vector_row(document, chunk, vector, job.index.embed_model))
        if chunk_rows:
            session.execute(sa.insert(Chunk), chunk_rows)
        for index, rows in vector_rows.values():
            if rows:
                session.execute(sa.insert(self.stores.row_model(index).__table__), rows)
        return [row["id"] for row in chunk_rows]

    def _already_stored(
        self, session: Session, documents: Mapping[uuid.UUID, Document], job: Prepared
    ) -> bool:
        """Whether an identical job has stored this version since the job was prepared.

        Raises:
            DocumentChanged: another version was stored since: the kept chunks are not there.
        """
        if not job.units.kept:
            return False
        stored = stored_units(session, job.document_id)
        if stored == job.units.base:
            return False
        document = documents[job.document_id]
        if (
            stored == job.units.units
            and document.content_hash == job.digest
            and document.pipeline_signature == self.signature(job.index)
        ):
            return True
        raise DocumentChanged(
            f"{document.source}: another version was stored while this one was prepared; "
            "ingest it again"
        )

    @staticmethod
    def _keep_unchanged(
        session: Session, jobs: Sequence[Prepared]
    ) -> dict[str, tuple[VectorIndex, list[uuid.UUID]]]:
        """Delete the documents' chunks that are not kept; move the kept ones into place.

        Returns, per vector generation, the kept chunks whose number or page changed.
        """
        rebuilt = [job.document_id for job in jobs if not job.units.kept]
        if rebuilt:
            session.execute(sa.delete(Chunk).where(Chunk.document_id.in_(rebuilt)))
        moved: dict[str, tuple[VectorIndex, list[uuid.UUID]]] = {}
        for job in jobs:
            if job.units.kept:
                chunk_ids = keep_chunks(session, job.document_id, job.units)
                moved.setdefault(job.index.name, (job.index, []))[1].extend(chunk_ids)
        return moved

    def _languages(self, drafts: Sequence[ChunkDraft]) -> list[str | None]:
        """Each new chunk's language, or None for all when detection is off."""
        if not self.settings.detect_languages:
            return [None] * len(drafts)
        return detect_languages([draft.content for draft in drafts])

    @staticmethod
    def _chunk_row(document: Document, draft: ChunkDraft, language: str | None) -> Chunk:
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
