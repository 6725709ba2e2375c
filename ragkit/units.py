"""A document's units (pages, sections) from one stored version to the next.

Chunks never span units, so a unit whose fingerprint is unchanged gives the same chunks: a new
version of a file keeps those chunk rows, their vectors and their postings, renumbered and
moved to where the unit now is, and only the changed units are read, split and embedded.
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from llama_index.core import Document as LlamaDocument
from sqlalchemy.orm import Session

from ragkit.chunking import UNIT_SEPARATOR, ChunkDraft
from ragkit.readers import Unit
from ragkit.schema import Chunk, DocumentUnit

Splitter = Callable[[LlamaDocument, int, int], list[ChunkDraft]]


@dataclass(frozen=True)
class UnitRecord:
    """A unit of a stored (or about to be stored) version: a ``document_units`` row."""

    position: int
    fingerprint: str
    text_length: int
    first_chunk: int
    chunk_count: int

    def values(self, document_id: uuid.UUID) -> dict[str, Any]:
        return {"document_id": document_id, **self.__dict__}


@dataclass(frozen=True)
class KeptUnit:
    """An unchanged unit: its stored chunks move to ``first_chunk``, ``shift`` characters on."""

    old: UnitRecord
    first_chunk: int
    shift: int
    page_number: int | None


@dataclass
class UnitPlan:
    """How a new version is built from the stored one (``base``) and newly split units."""

    units: list[UnitRecord] = field(default_factory=list)
    kept: list[KeptUnit] = field(default_factory=list)
    base: list[UnitRecord] = field(default_factory=list)

    @property
    def chunk_count(self) -> int:
        return sum(unit.chunk_count for unit in self.units)


def stored_units(session: Session, document_id: uuid.UUID) -> list[UnitRecord]:
    rows = session.execute(
        sa.select(
            DocumentUnit.position,
            DocumentUnit.fingerprint,
            DocumentUnit.text_length,
            DocumentUnit.first_chunk,
            DocumentUnit.chunk_count,
        )
        .where(DocumentUnit.document_id == document_id)
        .order_by(DocumentUnit.position)
    )
    return [UnitRecord(*row) for row in rows]


def plan_units(
    units: Sequence[Unit], base: Sequence[UnitRecord], split: Splitter
) -> tuple[UnitPlan, list[ChunkDraft]]:
    """Match the file's units to the stored ones by fingerprint; split only the others.

    Returns the plan and the new chunks, numbered and placed in the new version's text.
    """
    unused: dict[str, deque[tuple[UnitRecord, int]]] = {}
    for old, old_offset in zip(base, _offsets(base)):
        unused.setdefault(old.fingerprint, deque()).append((old, old_offset))
    plan = UnitPlan(base=list(base))
    drafts: list[ChunkDraft] = []
    first = offset = 0
    for position, unit in enumerate(units):
        match = unused.get(unit.fingerprint)
        if match:
            old, old_offset = match.popleft()
            plan.kept.append(KeptUnit(old, first, offset - old_offset, unit.page_number))
            length, count = old.text_length, old.chunk_count
        else:
            document = unit.read()
            length = len(document.text) if document.text.strip() else 0
            new = split(document, first, offset) if length else []
            drafts.extend(new)
            count = len(new)
        plan.units.append(UnitRecord(position, unit.fingerprint, length, first, count))
        first += count
        offset += length + len(UNIT_SEPARATOR) if length else 0
    return plan, drafts


def _offsets(units: Sequence[UnitRecord]) -> list[int]:
    """Where each unit starts in its version's source text (blank units are left out)."""
    offsets, offset = [], 0
    for unit in units:
        offsets.append(offset)
        offset += unit.text_length + len(UNIT_SEPARATOR) if unit.text_length else 0
    return offsets


def keep_chunks(session: Session, document_id: uuid.UUID, plan: UnitPlan) -> list[uuid.UUID]:
    """Delete the chunks of removed or changed units and move the kept ones into place.

    Returns the kept chunks whose number or page changed (their vector rows repeat both).
    Postings go with their chunks (``ON DELETE CASCADE``).
    """
    old_index: list[int] = []
    new_index: list[int] = []
    shift: list[int] = []
    page: list[int | None] = []
    for kept in plan.kept:
        for step in range(kept.old.chunk_count):
            old_index.append(kept.old.first_chunk + step)
            new_index.append(kept.first_chunk + step)
            shift.append(kept.shift)
            page.append(kept.page_number)
    session.execute(
        sa.delete(Chunk).where(
            Chunk.document_id == document_id, Chunk.chunk_index.not_in(old_index)
        )
    )
    if not old_index:
        return []
    # chunk_index is unique per document at every row: moved chunks go through negative numbers.
    moved = session.execute(
        sa.text(
            """
            UPDATE chunks AS c
            SET chunk_index = CASE WHEN m.new_index = m.old_index THEN c.chunk_index
                                   ELSE -1 - m.new_index END,
                start_char = c.start_char + m.shift,
                end_char = c.end_char + m.shift,
                page_number = m.page
            FROM unnest(CAST(:old AS int[]), CAST(:new AS int[]), CAST(:shift AS int[]),
                        CAST(:page AS int[])) AS m(old_index, new_index, shift, page)
            WHERE c.document_id = :document_id AND c.chunk_index = m.old_index
              AND (m.new_index <> m.old_index OR m.shift <> 0
                   OR c.page_number IS DISTINCT FROM m.page)
            RETURNING c.id, m.new_index <> m.old_index OR c.page_number IS DISTINCT FROM m.page
            """
        ),
        {
            "document_id": document_id,
            "old": old_index,
            "new": new_index,
            "shift": shift,
            "page": page,
        },
    ).all()
    session.execute(
        sa.update(Chunk)
        .where(Chunk.document_id == document_id, Chunk.chunk_index < 0)
        .values(chunk_index=-1 - Chunk.chunk_index)
    )
    return [chunk_id for chunk_id, renumbered in moved if renumbered]


def sync_vector_metadata(session: Session, table: str, chunk_ids: Sequence[uuid.UUID]) -> None:
    """Copy chunks' number and page into their vector rows (columns and ``_node_content``)."""
    if not chunk_ids:
        return
    session.execute(
        sa.text(
            f"""
            UPDATE {table} AS v
            SET metadata_ = v.metadata_ || jsonb_build_object(
                'chunk_index', c.chunk_index,
                'page_number', c.page_number,
                '_node_content', jsonb_set(
                    jsonb_set(CAST(v.metadata_->>'_node_content' AS jsonb),
                              '{{metadata,chunk_index}}', to_jsonb(c.chunk_index)),
                    '{{metadata,page_number}}', coalesce(to_jsonb(c.page_number), 'null')
                )::text)
            FROM chunks AS c
            WHERE c.id = ANY(:chunk_ids) AND v.node_id = CAST(c.id AS varchar)
            """
        ),
        {"chunk_ids": list(chunk_ids)},
    )


def write_units(session: Session, plans: dict[uuid.UUID, UnitPlan]) -> None:
    """Record the units of the documents' new versions in place of the old ones."""
    session.execute(sa.delete(DocumentUnit).where(DocumentUnit.document_id.in_(list(plans))))
    rows = [unit.values(document_id) for document_id, plan in plans.items() for unit in plan.units]
    if rows:
        session.execute(sa.insert(DocumentUnit), rows)
