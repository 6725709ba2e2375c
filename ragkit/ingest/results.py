"""What ingesting says about each file, and about a run over many (``ragkit ingest --json``)."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class Outcome(enum.StrEnum):
    """What happened to one file."""

    ADDED = "added"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    FAILED = "failed"


@dataclass(frozen=True)
class IngestResult:
    """What happened to one file: its outcome, its document and its chunks, or why it failed."""

    path: str
    outcome: Outcome
    document_id: uuid.UUID | None = None
    chunks_added: int = 0
    error: str | None = None

    @classmethod
    def failure(
        cls, path: str | Path, error: str, document_id: uuid.UUID | None = None
    ) -> IngestResult:
        return cls(str(path), Outcome.FAILED, document_id, error=error)


ProgressCallback = Callable[[Path, IngestResult], None]


@dataclass
class IngestReport:
    """What happened to a batch of files; ``to_json`` is the CLI's ``ingest --json`` shape."""

    results: list[IngestResult] = field(default_factory=list)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for result in self.results if result.outcome == outcome)

    @property
    def failed(self) -> list[IngestResult]:
        return [result for result in self.results if result.outcome == Outcome.FAILED]

    @property
    def chunks_added(self) -> int:
        return sum(result.chunks_added for result in self.results)

    def to_json(self) -> dict[str, Any]:
        return {
            "files": len(self.results),
            "documents_added": self.count(Outcome.ADDED),
            "documents_updated": self.count(Outcome.UPDATED),
            "documents_unchanged": self.count(Outcome.UNCHANGED),
            "chunks_added": self.chunks_added,
            "failed": [{"path": result.path, "error": result.error} for result in self.failed],
        }
