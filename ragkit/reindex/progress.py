"""How far a reindex run is: its state and the counts of its documents."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ragkit.errors import ConfigurationError
from ragkit.schema import ReindexItem, ReindexItemState, ReindexRun, ReindexState

if TYPE_CHECKING:
    from ragkit.kit import RagKit


@dataclass(frozen=True)
class ReindexProgress:
    """How far a run is; ``to_json`` is the API's and CLI's shape."""

    run_id: uuid.UUID
    state: ReindexState
    total: int
    done: int
    failed: int
    embed_model: str
    dimensions: int
    switches_index: bool
    errors: list[dict[str, str]] = field(default_factory=list)
    error: str | None = None

    @property
    def pending(self) -> int:
        return self.total - self.done - self.failed

    def to_json(self) -> dict[str, Any]:
        return {
            "id": str(self.run_id),
            "state": self.state,
            "total": self.total,
            "done": self.done,
            "failed": self.failed,
            "pending": self.pending,
            "embed_model": self.embed_model,
            "dimensions": self.dimensions,
            "switches_index": self.switches_index,
            "errors": self.errors,
            "error": self.error,
        }


def reindex_progress(kit: RagKit, run_id: uuid.UUID) -> ReindexProgress:
    """The run's state and counts."""
    with kit.database.sessions() as session:
        run = load_run(session, run_id)
        counts = item_counts(session, run_id)
        failed_items = session.execute(
            sa.select(ReindexItem.document_id, ReindexItem.error)
            .where(ReindexItem.run_id == run_id, ReindexItem.state == ReindexItemState.FAILED)
            .limit(50)
        ).all()
        return ReindexProgress(
            run_id=run.id,
            state=run.state,
            total=sum(counts.values()),
            done=counts.get(ReindexItemState.DONE, 0),
            failed=counts.get(ReindexItemState.FAILED, 0),
            embed_model=run.embed_model,
            dimensions=run.dimensions,
            switches_index=run.switches_index,
            errors=[{"document_id": str(d), "error": e or ""} for d, e in failed_items],
            error=run.error,
        )


def load_run(session: Session, run_id: uuid.UUID) -> ReindexRun:
    run = session.get(ReindexRun, run_id)
    if run is None:
        raise ConfigurationError(f"no reindex run {run_id}")
    return run


def item_counts(session: Session, run_id: uuid.UUID) -> dict[ReindexItemState, int]:
    rows = session.execute(
        sa.select(ReindexItem.state, sa.func.count())
        .where(ReindexItem.run_id == run_id)
        .group_by(ReindexItem.state)
    ).all()
    return {state: count for state, count in rows}
