"""The knowledge-base tables, as SQLAlchemy 2.0 declarative models on one exported ``Base``.

The web application builds its own models on the same ``Base`` so that one metadata, and one
Alembic history in ``migrations/``, describes the whole database.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, registry, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _values(states: type[enum.StrEnum]) -> list[str]:
    return [state.value for state in states]


# A column annotated with a ``StrEnum`` stores the members' values in a ``VARCHAR(20)``, as the
# migrations created it (their CHECK constraints list the values), and reads members back.
_REGISTRY = registry(
    metadata=MetaData(naming_convention=NAMING_CONVENTION),
    type_annotation_map={
        enum.StrEnum: Enum(
            enum.StrEnum,
            native_enum=False,
            length=20,
            values_callable=_values,
            validate_strings=True,
        )
    },
)


class Base(DeclarativeBase):
    """Declarative base shared by ragkit and the web application."""

    # The registry itself, not a ``type_annotation_map`` attribute: Flask-SQLAlchemy copies this
    # class body into its own base, where SQLAlchemy refuses a per-base map.
    registry = _REGISTRY


class DocumentStatus(enum.StrEnum):
    """Where a document is in its processing."""

    PENDING = "pending"
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"


class IndexStatus(enum.StrEnum):
    """Life cycle of a vector-table generation."""

    BUILDING = "building"
    ACTIVE = "active"
    RETIRED = "retired"


def creation_time() -> Mapped[datetime]:
    """A ``timestamptz`` column the database sets when the row is inserted."""
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


def update_time() -> Mapped[datetime]:
    """A ``timestamptz`` column set on insert and again by every ORM update of the row."""
    return mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now(), nullable=False
    )


class Document(Base):
    """One source file of an organization's knowledge base."""

    __tablename__ = "documents"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'processing', 'ready', 'failed')", name="status_valid"
        ),
        Index("ix_documents_organization_id_source", "organization_id", "source"),
        Index("ix_documents_organization_id_content_hash", "organization_id", "content_hash"),
        Index("ix_documents_organization_id_created_at", "organization_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    organization_id: Mapped[str] = mapped_column(String(64), nullable=False)
    title: Mapped[str] = mapped_column(String(500), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, server_default="", default="")
    source: Mapped[str] = mapped_column(String(1024), nullable=False)
    file_path: Mapped[str | None] = mapped_column(String(1024))
    content_type: Mapped[str] = mapped_column(String(100), nullable=False)
    file_size: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    content_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    pipeline_signature: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[DocumentStatus] = mapped_column(server_default=DocumentStatus.PENDING)
    processing_error: Mapped[str | None] = mapped_column(Text)
    chunk_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    # ISO 639-1 code of the language most of its text is in; None until stored, or undecided.
    language: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = creation_time()
    updated_at: Mapped[datetime] = update_time()

    chunks: Mapped[list[Chunk]] = relationship(
        back_populates="document",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Chunk.chunk_index",
    )


class Chunk(Base):
    """A passage of a document: the unit that is embedded, retrieved and cited."""

    __tablename__ = "chunks"
    __table_args__ = (UniqueConstraint("document_id", "chunk_index"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    document_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), nullable=False
    )
    organization_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    chunk_index: Mapped[int] = mapped_column(Integer, nullable=False)
    content: Mapped[str] = mapped_column(Text, nullable=False)
    content_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    page_number: Mapped[int | None] = mapped_column(Integer)
    section_title: Mapped[str | None] = mapped_column(String(500))
    start_char: Mapped[int] = mapped_column(Integer, nullable=False)
    end_char: Mapped[int] = mapped_column(Integer, nullable=False)
    token_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    term_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    # ISO 639-1 code; decides the stemming of its lexical postings (None: the configured one).
    language: Mapped[str | None] = mapped_column(String(16))
    parent_chunk_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("chunks.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = creation_time()

    document: Mapped[Document] = relationship(back_populates="chunks")


class DocumentUnit(Base):
    """A page or section of a document's stored version, and the chunks cut from it.

    Written in the same transaction as the chunks, so a new version of the file can keep the
    chunks (and vectors) of every unit whose fingerprint is unchanged. A document stored
    without units is chunked again in full.
    """

    __tablename__ = "document_units"

    document_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)
    # Characters in the document's source text; 0 for a blank unit, which is left out of it.
    text_length: Mapped[int] = mapped_column(Integer, nullable=False)
    first_chunk: Mapped[int] = mapped_column(Integer, nullable=False)
    chunk_count: Mapped[int] = mapped_column(Integer, nullable=False)


class ChunkTerm(Base):
    """Postings of the lexical index: how often each stemmed term occurs in a chunk.

    Filled from PostgreSQL's own ``to_tsvector`` so that query and document terms are stemmed
    alike; read by the BM25 ranking in :mod:`ragkit.retrieve`.
    """

    __tablename__ = "chunk_terms"
    __table_args__ = (
        # Covers BM25: a term's postings are read from the index alone (see migration 0005).
        Index(
            "ix_chunk_terms_postings",
            "organization_id",
            "term",
            "chunk_id",
            postgresql_include=["tf", "doc_len"],
        ),
        Index("ix_chunk_terms_document_id", "document_id"),
    )

    chunk_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("chunks.id", ondelete="CASCADE"), primary_key=True
    )
    term: Mapped[str] = mapped_column(Text, primary_key=True)
    organization_id: Mapped[str] = mapped_column(String(64), nullable=False)
    document_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    tf: Mapped[int] = mapped_column(Integer, nullable=False)
    doc_len: Mapped[int] = mapped_column(Integer, nullable=False)


class VectorIndex(Base):
    """Registry of vector-table generations (one table per embedding model and dimension)."""

    __tablename__ = "vector_indexes"
    __table_args__ = (
        CheckConstraint("status IN ('building', 'active', 'retired')", name="status_valid"),
        Index(
            "uq_vector_indexes_default",
            "is_default",
            unique=True,
            postgresql_where=text("is_default"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(50), nullable=False, unique=True)
    embed_model: Mapped[str] = mapped_column(String(300), nullable=False)
    dimensions: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[IndexStatus] = mapped_column(server_default=IndexStatus.ACTIVE)
    is_default: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    created_at: Mapped[datetime] = creation_time()

    @property
    def table_name(self) -> str:
        """The table LlamaIndex's ``PGVectorStore`` reads and writes (it prefixes ``data_``)."""
        return f"data_{self.name}"


class OrganizationIndex(Base):
    """Which vector-table generation an organization's queries use."""

    __tablename__ = "organization_indexes"

    organization_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    vector_index_id: Mapped[int] = mapped_column(
        ForeignKey("vector_indexes.id", ondelete="RESTRICT"), nullable=False
    )
    updated_at: Mapped[datetime] = update_time()

    vector_index: Mapped[VectorIndex] = relationship()


class ReindexState(enum.StrEnum):
    """Where a reindex run is."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class ReindexItemState(enum.StrEnum):
    """Where one document of a reindex run is."""

    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


class ReindexRun(Base):
    """A batch re-embedding (new model) or re-chunking of documents, and its progress."""

    __tablename__ = "reindex_runs"
    __table_args__ = (
        CheckConstraint("state IN ('running', 'succeeded', 'failed')", name="state_valid"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    organization_id: Mapped[str | None] = mapped_column(String(64), index=True)
    embed_model: Mapped[str] = mapped_column(String(300), nullable=False)
    dimensions: Mapped[int] = mapped_column(Integer, nullable=False)
    chunk_size: Mapped[int | None] = mapped_column(Integer)
    target_index_id: Mapped[int | None] = mapped_column(
        ForeignKey("vector_indexes.id", ondelete="SET NULL")
    )
    switches_index: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    state: Mapped[ReindexState] = mapped_column(server_default=ReindexState.RUNNING)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = creation_time()
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    items: Mapped[list[ReindexItem]] = relationship(
        back_populates="run", cascade="all, delete-orphan", passive_deletes=True
    )


class ReindexItem(Base):
    """One document of a reindex run: pending until its batch has handled it."""

    __tablename__ = "reindex_items"
    __table_args__ = (
        CheckConstraint("state IN ('pending', 'done', 'failed')", name="state_valid"),
        Index("ix_reindex_items_run_id_state", "run_id", "state"),
    )

    run_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("reindex_runs.id", ondelete="CASCADE"), primary_key=True
    )
    document_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    batch: Mapped[int] = mapped_column(Integer, nullable=False)
    state: Mapped[ReindexItemState] = mapped_column(server_default=ReindexItemState.PENDING)
    error: Mapped[str | None] = mapped_column(Text)

    run: Mapped[ReindexRun] = relationship(back_populates="items")
