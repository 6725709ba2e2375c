"""Vector-table generations over LlamaIndex's ``PGVectorStore``, and each organization's active one.

A generation is one table of one embedding model and dimension. The first is created by the
Alembic migrations; later ones (a new model) are created here with the same DDL, recorded in
``vector_indexes``, and switched to per organization when they are complete.
"""

from __future__ import annotations

import re
import threading
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from pgvector.sqlalchemy import Vector
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, declarative_base

from ragkit.errors import IndexNotReady
from ragkit.schema import Chunk, IndexStatus, OrganizationIndex, VectorIndex

if TYPE_CHECKING:  # LlamaIndex is imported only for those who ask for its store
    from llama_index.vector_stores.postgres import PGVectorStore

HNSW_M = 16
HNSW_EF_CONSTRUCTION = 64
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,40}$")


def vector_table_ddl(name: str, dimensions: int) -> list[str]:
    """The statements that create a generation's table in ``PGVectorStore``'s layout.

    The migrations create the first generation with these same statements; a change here needs
    a new migration for existing databases. Lexical search reads ragkit's own postings, so the
    table has no text-search column of its own (``PGVectorStore``'s hybrid mode is not used).
    """
    if not _NAME.match(name):
        raise ValueError(f"invalid vector index name {name!r}")
    table = f"data_{name}"
    return [
        f"CREATE TABLE {table} ("
        "id BIGSERIAL PRIMARY KEY, "
        "text VARCHAR NOT NULL, "
        "metadata_ JSONB, "
        "node_id VARCHAR NOT NULL, "
        f"embedding VECTOR({int(dimensions)}))",
        # Vectors inline in the row (text and metadata go to TOAST first): an exact scan then
        # reads one heap tuple per row instead of three buffers (ragkit.dense). MAIN, not PLAIN,
        # so a row too large for a page can still be stored.
        f"ALTER TABLE {table} ALTER COLUMN embedding SET STORAGE MAIN",
        f"CREATE UNIQUE INDEX {table}_node_id_key ON {table} (node_id)",
        f"CREATE INDEX {name}_idx_1 ON {table} ((metadata_ ->> 'ref_doc_id'))",
        f"CREATE INDEX {table}_organization_idx ON {table} ((metadata_ ->> 'organization_id'))",
        f"CREATE INDEX {table}_embedding_idx ON {table} USING hnsw (embedding vector_cosine_ops) "
        f"WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION})",
    ]


def active_index(session: Session, organization: str) -> VectorIndex:
    """The generation the organization's queries use (its own, else the default one).

    One statement: every question and every ingested document asks.
    """
    binding = sa.and_(
        OrganizationIndex.vector_index_id == VectorIndex.id,
        OrganizationIndex.organization_id == organization,
    )
    bound = OrganizationIndex.organization_id.is_not(None)
    index = session.scalars(
        sa.select(VectorIndex)
        .outerjoin(OrganizationIndex, binding)
        .where(bound | VectorIndex.is_default)
        .order_by(bound.desc())
        .limit(1)
    ).first()
    if index is None:
        raise IndexNotReady("no vector index exists; the database migrations have not run")
    return index


def find_generation(session: Session, embed_model: str, dimensions: int) -> VectorIndex | None:
    """A non-retired generation of that model and dimension, if there is one."""
    return session.scalars(
        sa.select(VectorIndex)
        .where(
            VectorIndex.embed_model == embed_model,
            VectorIndex.dimensions == dimensions,
            VectorIndex.status != IndexStatus.RETIRED,
        )
        .order_by(VectorIndex.id.desc())
    ).first()


def create_generation(
    session: Session,
    embed_model: str,
    dimensions: int,
    *,
    status: IndexStatus = IndexStatus.BUILDING,
) -> VectorIndex:
    """Create a new generation's table and record it (in the session's transaction)."""
    next_id = session.execute(sa.text("SELECT coalesce(max(id), 0) + 1 FROM vector_indexes"))
    index = VectorIndex(
        name=f"embeddings_{next_id.scalar_one()}",
        embed_model=embed_model,
        dimensions=dimensions,
        status=status,
    )
    session.add(index)
    session.flush()
    for statement in vector_table_ddl(index.name, dimensions):
        session.execute(sa.text(statement))
    return index


def switch_organization(session: Session, organization: str, index: VectorIndex) -> None:
    """Point the organization's queries at ``index`` (atomic with the session's commit)."""
    binding = session.get(OrganizationIndex, organization, with_for_update=True)
    if binding is None:
        session.add(OrganizationIndex(organization_id=organization, vector_index_id=index.id))
    else:
        binding.vector_index_id = index.id
    index.status = IndexStatus.ACTIVE


def index_for_ingest(
    session: Session, organization: str, embed_model: str, dimensions: int
) -> VectorIndex:
    """The generation new chunks of the organization go to.

    An organization keeps the model its chunks were embedded with until it is reindexed; one
    with no chunks yet is moved to a generation of the configured model (created if needed).
    """
    current = active_index(session, organization)
    if current.embed_model == embed_model and current.dimensions == dimensions:
        return current
    has_chunks = session.scalar(sa.select(sa.exists().where(Chunk.organization_id == organization)))
    if has_chunks:
        return current
    target = find_generation(session, embed_model, dimensions) or create_generation(
        session, embed_model, dimensions, status=IndexStatus.ACTIVE
    )
    switch_organization(session, organization, target)
    return target


class VectorStores:
    """One ``PGVectorStore`` (and row model) per generation, built once and reused."""

    def __init__(self, engine: Engine, ef_search: int, text_search_config: str) -> None:
        self.engine = engine
        self.ef_search = ef_search
        self.text_search_config = text_search_config
        self._stores: dict[str, PGVectorStore] = {}
        self._models: dict[str, Any] = {}
        self._lock = threading.Lock()

    def store(self, index: VectorIndex) -> PGVectorStore:
        """The LlamaIndex store over the generation's table (its own setup is off)."""
        from llama_index.vector_stores.postgres import PGVectorStore

        with self._lock:
            if index.name not in self._stores:
                self._stores[index.name] = PGVectorStore(
                    engine=self.engine,
                    async_engine=_async_engine(self.engine),
                    table_name=index.name,
                    embed_dim=index.dimensions,
                    hybrid_search=True,
                    text_search_config=self.text_search_config,
                    use_jsonb=True,
                    perform_setup=False,
                    cache_ok=True,
                    # No hnsw_kwargs: the store would send "SET hnsw.ef_search = $1", which
                    # PostgreSQL rejects from psycopg 3. ef_search and the iterative scan are
                    # set per connection instead (ragkit.database.create_engine).
                )
            return self._stores[index.name]

    def row_model(self, index: VectorIndex) -> Any:
        """The SQLAlchemy model of the generation's rows (the layout ``PGVectorStore`` reads)."""
        with self._lock:
            if index.name not in self._models:
                self._models[index.name] = vector_rows(index.name, index.dimensions)
            return self._models[index.name]


def vector_rows(name: str, dimensions: int) -> Any:
    """A model of the ``data_<name>`` table that :func:`vector_table_ddl` creates."""

    class VectorRow(declarative_base()):  # type: ignore[misc]
        __tablename__ = f"data_{name}"

        id = sa.Column(sa.BigInteger, primary_key=True, autoincrement=True)
        text = sa.Column(sa.String, nullable=False)
        metadata_ = sa.Column(JSONB)
        node_id = sa.Column(sa.String, nullable=False)
        embedding = sa.Column(Vector(dimensions))

    return VectorRow


def _async_engine(engine: Engine) -> Any:
    from sqlalchemy.ext.asyncio import create_async_engine

    # Never connects unless an async method of the store is used.
    return create_async_engine(engine.url.set(drivername="postgresql+psycopg_async"))
