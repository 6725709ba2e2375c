"""A document's units (pages, sections) from one stored version to the next.

Chunks never span units, so a unit whose fingerprint is unchanged gives the same chunks: a new
version of a file keeps those chunk rows, their vectors and their postings, renumbered and
moved to where the unit now is, and only the changed units are read, split and embedded. This
module lays out the new version; :mod:`ragkit.ingest.rows` moves the kept chunks when it is
stored.
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from llama_index.core import Document as LlamaDocument
from sqlalchemy.orm import Session

from ragkit.chunking import UNIT_SEPARATOR, ChunkDraft
from ragkit.readers import Unit
from ragkit.schema import DocumentUnit

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


@dataclass(frozen=True)
class VersionLayout:
    """A new version's units, built from the stored version (``base``) and newly split units.

    ``kept`` are the units whose stored chunks stay; the others' chunks are new.
    """

    units: tuple[UnitRecord, ...] = ()
    kept: tuple[KeptUnit, ...] = ()
    base: tuple[UnitRecord, ...] = ()

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


def layout_units(
    units: Sequence[Unit], base: Sequence[UnitRecord], split: Splitter
) -> tuple[VersionLayout, list[ChunkDraft]]:
    """Match the file's units to the stored ones by fingerprint; split only the others.

    Returns the new version's layout and its new chunks, numbered and placed in its text.
    """
    unused: dict[str, deque[tuple[UnitRecord, int]]] = {}
    for old, old_offset in zip(base, _offsets(base)):
        unused.setdefault(old.fingerprint, deque()).append((old, old_offset))
    records: list[UnitRecord] = []
    kept: list[KeptUnit] = []
    drafts: list[ChunkDraft] = []
    first = offset = 0
    for position, unit in enumerate(units):
        match = unused.get(unit.fingerprint)
        if match:
            old, old_offset = match.popleft()
            kept.append(KeptUnit(old, first, offset - old_offset, unit.page_number))
            length, count = old.text_length, old.chunk_count
        else:
            document = unit.read()
            length = len(document.text) if document.text.strip() else 0
            new = split(document, first, offset) if length else []
            drafts.extend(new)
            count = len(new)
        records.append(UnitRecord(position, unit.fingerprint, length, first, count))
        first += count
        offset += length + len(UNIT_SEPARATOR) if length else 0
    return VersionLayout(tuple(records), tuple(kept), tuple(base)), drafts


def _offsets(units: Sequence[UnitRecord]) -> list[int]:
    """Where each unit starts in its version's source text (blank units are left out)."""
    offsets, offset = [], 0
    for unit in units:
        offsets.append(offset)
        offset += unit.text_length + len(UNIT_SEPARATOR) if unit.text_length else 0
    return offsets
