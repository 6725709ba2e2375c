"""Many organizations written straight into a ragkit database, for benchmarks at scale.

``Pipeline.ingest_texts`` writes about 200 passages a second on two cores, so a million chunks
would take hours. Here the synthetic organizations' rows are made in Python and sent with
``COPY``: documents (four chunks each), chunks, vector rows in ``PGVectorStore``'s layout (the
metadata exactly as ``ragkit.rows.vector_row`` writes it) and BM25 postings, stemmed by
PostgreSQL with ragkit's own ``write_postings``. The secondary indexes of the bulk-loaded tables
are dropped first and built again afterwards (each build timed), as one restores a dump.

The vectors are mixtures of real chunk vectors (an anchor and one or two of its nearest
neighbours, Dirichlet weights, Gaussian noise, normalised), so every tenant's vectors lie among
the real ones: the hard case for a search filtered by organization. A passage's text is a run
of ``words`` words of its anchor chunk (cheap text with the real vocabulary). Ids are ascending
UUIDs so that the bulk load appends to the primary keys instead of splitting pages at random.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import sqlalchemy as sa
from pgvector.psycopg import register_vector
from psycopg.types.json import Jsonb
from sqlalchemy.orm import Session

from ragkit.index import HNSW_EF_CONSTRUCTION, HNSW_M
from ragkit.ingest.postings import write_postings
from ragkit.ingest.rows import vector_row
from ragkit.schema import Chunk, Document

CHUNKS_PER_DOCUMENT = 4
DOCUMENTS_PER_BATCH = 5_000
UUID_BASE = 0x5E17 << 112
_DOC, _CHUNK = uuid.UUID(int=1), uuid.UUID(int=2)
_INDEX_MARK = 987654321


def organization_sizes(total: int, count: int, smallest: int) -> list[int]:
    """``count`` tenant sizes from ``smallest`` upwards in a geometric series adding up to
    ``total`` (a few large tenants and many small ones, as in a hosted service)."""
    low, high = 1.0, 10.0
    for _ in range(100):  # bisect the common ratio
        ratio = (low + high) / 2
        if sum(smallest * ratio**i for i in range(count)) > total:
            high = ratio
        else:
            low = ratio
    sizes = [int(smallest * low**i) for i in range(count)]
    sizes[-1] += total - sum(sizes)
    return sizes


class MixtureVectors:
    """Vectors drawn between real ones: anchor + 1-2 of its nearest, Dirichlet, noise."""

    def __init__(self, vectors: np.ndarray, neighbours: np.ndarray, noise: float) -> None:
        self.vectors, self.neighbours, self.noise = vectors, neighbours, noise

    def draw(self, count: int, chooser: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``count`` vectors and the anchor (real chunk) each was drawn around."""
        anchors = chooser.integers(len(self.vectors), size=count)
        picks = chooser.integers(self.neighbours.shape[1], size=(count, 2))
        partners = self.neighbours[anchors[:, None], picks]
        weights = chooser.gamma(1.0, size=(count, 3))  # normalised gammas are Dirichlet(1)
        weights[chooser.random(count) < 0.5, 2] = 0.0  # half of them have one partner only
        weights /= weights.sum(axis=1, keepdims=True)
        mixed = weights[:, :1] * self.vectors[anchors]
        mixed += np.einsum("ij,ijk->ik", weights[:, 1:], self.vectors[partners])
        mixed += chooser.normal(0.0, self.noise, mixed.shape)
        mixed /= np.linalg.norm(mixed, axis=1, keepdims=True)
        return mixed.astype(np.float32), anchors


class Passages:
    """Cheap texts: ``words`` consecutive words of the anchor chunk, from a random offset."""

    def __init__(self, texts: Sequence[str], words: int) -> None:
        self.words = [text.split() for text in texts]
        self.count = words

    def text(self, anchor: int, chooser: np.random.Generator) -> str:
        words = self.words[anchor]
        start = int(chooser.integers(max(len(words) - self.count, 0) + 1))
        return " ".join(words[start : start + self.count])


def metadata_template(embed_model: str) -> str:
    """``vector_row``'s metadata JSON for a placeholder chunk, to be filled in per row."""
    document = Document(id=_DOC, organization_id="@ORG@", title="@TITLE@", source="@SOURCE@")
    chunk = Chunk(
        id=_CHUNK,
        document_id=_DOC,
        organization_id="@ORG@",
        chunk_index=_INDEX_MARK,
        content="",
        content_hash="@HASH@",
    )
    return json.dumps(vector_row(document, chunk, None, embed_model)["metadata_"])


class Row(NamedTuple):
    """One synthetic chunk."""

    chunk_id: uuid.UUID
    document_id: uuid.UUID
    document_number: int
    chunk_index: int
    text: str


@dataclass
class Tenant:
    """One synthetic organization to load."""

    name: str
    chunks: int


class TenantLoader:
    """Writes synthetic organizations into one generation's table (and ragkit's own tables)."""

    def __init__(
        self,
        engine: sa.Engine,
        table: str,
        embed_model: str,
        vectors: MixtureVectors,
        passages: Passages,
        seed: int,
    ) -> None:
        self.engine, self.table = engine, table
        self.template = metadata_template(embed_model)
        self.vectors, self.passages = vectors, passages
        self.chooser = np.random.default_rng(seed)
        self.next_id = 0

    def _uuid(self) -> uuid.UUID:
        self.next_id += 1
        return uuid.UUID(int=UUID_BASE + self.next_id)

    def load(self, tenant: Tenant, progress: Callable[[str], None]) -> None:
        """All the tenant's rows, in batches of ``DOCUMENTS_PER_BATCH`` documents."""
        documents = -(-tenant.chunks // CHUNKS_PER_DOCUMENT)
        written = 0
        for start in range(0, documents, DOCUMENTS_PER_BATCH):
            count = min(DOCUMENTS_PER_BATCH, documents - start)
            chunks = min(count * CHUNKS_PER_DOCUMENT, tenant.chunks - written)
            self._batch(tenant.name, start, count, chunks)
            written += chunks
            progress(f"{tenant.name}: {written}/{tenant.chunks} chunks")

    def _batch(self, organization: str, first: int, documents: int, chunks: int) -> None:
        vectors, anchors = self.vectors.draw(chunks, self.chooser)
        document_ids = [self._uuid() for _ in range(documents)]
        rows = []
        for number in range(chunks):
            document = number // CHUNKS_PER_DOCUMENT
            text = self.passages.text(int(anchors[number]), self.chooser)
            rows.append(
                Row(self._uuid(), document_ids[document], first + document,
                    number % CHUNKS_PER_DOCUMENT, text)
            )  # fmt: skip
        raw = self.engine.raw_connection()
        try:
            connection: Any = raw.driver_connection
            register_vector(connection)
            # Without foreign-key triggers: the rows are consistent by construction.
            connection.execute("SET session_replication_role = replica")
            self._copy_documents(connection, organization, document_ids, rows)
            self._copy_chunks(connection, organization, rows)
            self._copy_vectors(connection, organization, rows, vectors)
            connection.commit()
        finally:
            raw.close()
        with Session(self.engine) as session:
            session.execute(sa.text("SET LOCAL session_replication_role = replica"))
            write_postings(session, document_ids, "english")
            session.commit()

    def _copy_documents(
        self,
        connection: Any,
        organization: str,
        document_ids: Sequence[uuid.UUID],
        rows: Sequence[Row],
    ) -> None:
        counts: dict[uuid.UUID, tuple[int, int]] = {}
        for row in rows:
            counts[row.document_id] = (row.document_number, row.chunk_index + 1)
        columns = "id, organization_id, title, source, content_type, file_size, content_hash, "
        columns += "status, chunk_count"
        with connection.cursor().copy(f"COPY documents ({columns}) FROM STDIN") as copy:
            for document_id in document_ids:
                number, chunks = counts[document_id]
                name = f"{organization}-{number}"
                copy.write_row(
                    (document_id, organization, f"Synthetic {name}", name, "text/plain",
                     1000, document_id.hex * 2, "ready", chunks)
                )  # fmt: skip

    def _copy_chunks(
        self,
        connection: Any,
        organization: str,
        rows: Sequence[Row],
    ) -> None:
        columns = "id, document_id, organization_id, chunk_index, content, content_hash, "
        columns += "start_char, end_char, token_count"
        with connection.cursor().copy(f"COPY chunks ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(
                    (row.chunk_id, row.document_id, organization, row.chunk_index, row.text,
                     row.chunk_id.hex * 2, 0, len(row.text), len(row.text.split()))
                )  # fmt: skip

    def _copy_vectors(
        self,
        connection: Any,
        organization: str,
        rows: Sequence[Row],
        vectors: np.ndarray,
    ) -> None:
        statement = f"COPY {self.table} (text, metadata_, node_id, embedding) FROM STDIN BINARY"
        with connection.cursor().copy(statement) as copy:
            copy.set_types(["text", "jsonb", "text", "vector"])
            for row, vector in zip(rows, vectors):
                name = f"{organization}-{row.document_number}"
                metadata = (
                    self.template.replace(str(_CHUNK), str(row.chunk_id))
                    .replace(str(_DOC), str(row.document_id))
                    .replace("@ORG@", organization)
                    .replace("@TITLE@", f"Synthetic {name}")
                    .replace("@SOURCE@", name)
                    .replace("@HASH@", row.chunk_id.hex * 2)
                    .replace(str(_INDEX_MARK), str(row.chunk_index))
                )
                copy.write_row((row.text, Jsonb(metadata, dumps=str), str(row.chunk_id), vector))


# Indexes during a bulk load


def secondary_indexes(connection: sa.Connection, tables: Sequence[str]) -> list[tuple[str, str]]:
    """``(name, definition)`` of the tables' indexes that back no constraint."""
    rows = connection.execute(
        sa.text(
            """
            SELECT i.indexname, i.indexdef FROM pg_indexes i
            WHERE i.schemaname = 'public' AND i.tablename = ANY(:tables)
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
            ORDER BY i.indexname
            """
        ),
        {"tables": list(tables)},
    )
    return [(name, definition) for name, definition in rows]


def drop_secondary_indexes(engine: sa.Engine, tables: Sequence[str]) -> list[tuple[str, str]]:
    """Drop the tables' secondary indexes before a bulk load; their definitions."""
    with engine.begin() as connection:
        indexes = secondary_indexes(connection, tables)
        for name, _ in indexes:
            connection.execute(sa.text(f'DROP INDEX "{name}"'))
    return indexes


def create_indexes(
    engine: sa.Engine, indexes: Sequence[tuple[str, str]], maintenance_work_mem: str
) -> dict[str, float]:
    """Create the indexes again; seconds each took."""
    seconds: dict[str, float] = {}
    with engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        connection.execute(sa.text(f"SET maintenance_work_mem = '{maintenance_work_mem}'"))
        for name, definition in indexes:
            print(f"  building {name} ...", flush=True)
            started = time.perf_counter()
            connection.execute(sa.text(definition))
            seconds[name] = round(time.perf_counter() - started, 1)
            print(f"  built {name} in {seconds[name]} s", flush=True)
    return seconds


def relation_sizes(connection: sa.Connection, tables: Sequence[str]) -> dict[str, Any]:
    """Heap (with TOAST) and each index of the tables, in MB."""
    sizes: dict[str, Any] = {}
    for table in tables:
        heap = connection.execute(
            sa.text("SELECT pg_table_size(CAST(:t AS regclass))"), {"t": table}
        ).scalar_one()
        indexes = connection.execute(
            sa.text(
                "SELECT indexrelid::regclass::text, pg_relation_size(indexrelid) "
                "FROM pg_index WHERE indrelid = CAST(:t AS regclass) ORDER BY 1"
            ),
            {"t": table},
        ).all()
        sizes[table] = {
            "table_mb": _mb(heap),
            "indexes_mb": {name: _mb(size) for name, size in indexes},
        }
    database = connection.execute(sa.text("SELECT pg_database_size(current_database())"))
    sizes["database_mb"] = _mb(database.scalar_one())
    return sizes


def _mb(size: int) -> float:
    return round(size / 2**20, 1)


# Memory of the server


def postmaster(connection: sa.Connection) -> int:
    """The server's main process: the parent of this connection's backend."""
    return _parent(connection.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())


def server_processes(main: int) -> list[int]:
    """The postmaster and its children (backends, workers, parallel index builders)."""
    children = [
        int(entry.name)
        for entry in Path("/proc").iterdir()
        if entry.name.isdigit() and _parent(int(entry.name)) == main
    ]
    return [main, *children]


def _parent(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return -1
    return int(stat.rsplit(")", 1)[1].split()[1])


def proportional_memory_mb(pids: Sequence[int]) -> float:
    """Sum of the processes' proportional set sizes (shared memory counted once), in MB."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except OSError:
            continue  # the process ended meanwhile
    return round(total / 1024, 1)


class PeakMemory:
    """Samples the server's memory once a second while a block runs; the peak in MB."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.peak = 0.0
        self._stop = threading.Event()

    def __enter__(self) -> PeakMemory:
        with self.engine.connect() as connection:
            self._postmaster = postmaster(connection)
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(1.0):
            used = proportional_memory_mb(server_processes(self._postmaster))
            self.peak = max(self.peak, used)


def create_partial_index(
    engine: sa.Engine, table: str, organization: str, maintenance_work_mem: str
) -> tuple[str, float]:
    """An HNSW index over one organization's rows only (the graph its searches would walk
    with no other tenant in it); its name and the seconds it took."""
    name = f"{table}_{organization.replace('-', '_')}_hnsw"
    with engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        connection.execute(sa.text(f"SET maintenance_work_mem = '{maintenance_work_mem}'"))
        started = time.perf_counter()
        connection.execute(
            sa.text(
                f"CREATE INDEX {name} ON {table} USING hnsw (embedding vector_cosine_ops) "
                f"WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION}) "
                f"WHERE (metadata_ ->> 'organization_id') = '{organization}'"
            )
        )
        return name, round(time.perf_counter() - started, 1)
