"""Closing a reindex run: switch the organizations to the new generation, or record failure.

A switch retires the generations nothing uses any more; their tables are dropped later.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ragkit.errors import ConfigurationError
from ragkit.index import switch_organization
from ragkit.reindex.progress import ReindexProgress, item_counts, reindex_progress
from ragkit.reindex.reembed import reembed_document
from ragkit.schema import (
    Document,
    DocumentStatus,
    IndexStatus,
    OrganizationIndex,
    ReindexItemState,
    ReindexRun,
    ReindexState,
    VectorIndex,
)

if TYPE_CHECKING:
    from ragkit.kit import RagKit


def finish_run(kit: RagKit, run_id: uuid.UUID) -> ReindexProgress:
    """Close the run if every document is handled: switch generations, or record the failure."""
    with kit.database.sessions() as session:
        run = session.get(ReindexRun, run_id, with_for_update=True)
        if run is None:
            raise ConfigurationError(f"no reindex run {run_id}")
        counts = item_counts(session, run_id)
        if run.state == ReindexState.RUNNING and counts.get(ReindexItemState.PENDING, 0) == 0:
            if failed := counts.get(ReindexItemState.FAILED, 0):
                run.state = ReindexState.FAILED
                run.error = f"{failed} documents failed; the current index stays active"
            else:
                if run.switches_index:
                    _switch(kit, session, run)
                run.state = ReindexState.SUCCEEDED
            run.finished_at = datetime.now(UTC)
        session.commit()
    return reindex_progress(kit, run_id)


def _switch(kit: RagKit, session: Session, run: ReindexRun) -> None:
    """Catch up on chunks added meanwhile, point the organizations at the new generation."""
    target = session.get(VectorIndex, run.target_index_id, with_for_update=True)
    if target is None:
        raise ConfigurationError(f"the target index of run {run.id} has been dropped")
    organizations = _organizations(session, run)
    late = session.scalars(
        sa.select(Document.id).where(
            Document.organization_id.in_(organizations),
            Document.status == DocumentStatus.READY,
        )
    )
    for document_id in late:
        reembed_document(kit, session, run, document_id)
    for organization in organizations:
        switch_organization(session, organization, target)
    if run.organization_id is None:
        session.execute(sa.update(VectorIndex).values(is_default=False))
        target.is_default = True
    session.flush()
    _drop_unused_generations(session, keep=target.id)


def _organizations(session: Session, run: ReindexRun) -> list[str]:
    if run.organization_id is not None:
        return [run.organization_id]
    return list(session.scalars(sa.select(Document.organization_id).distinct()))


def _drop_unused_generations(session: Session, keep: int) -> None:
    """Retire generations no organization (and not the default) uses any more.

    Their tables are dropped later (:func:`drop_retired_generations`): a query that looked up
    the old generation just before the switch may still be reading it.
    """
    used = set(session.scalars(sa.select(OrganizationIndex.vector_index_id)))
    candidates = session.scalars(
        sa.select(VectorIndex).where(
            VectorIndex.status == IndexStatus.ACTIVE,
            VectorIndex.is_default.is_(False),
            VectorIndex.id != keep,
        )
    )
    for index in candidates:
        if index.id not in used:
            index.status = IndexStatus.RETIRED


def drop_retired_generations(kit: RagKit) -> list[str]:
    """Drop the tables of retired generations; returns their names.

    Called when a new reindex is planned, so a retired table outlives its switch by at least
    one run; call it directly to reclaim the space sooner.
    """
    dropped = []
    with kit.database.sessions() as session:
        retired = session.scalars(
            sa.select(VectorIndex).where(VectorIndex.status == IndexStatus.RETIRED)
        )
        for index in retired:
            exists = session.execute(
                sa.text("SELECT to_regclass(:table)"), {"table": index.table_name}
            ).scalar()
            if exists:
                session.execute(sa.text(f"DROP TABLE IF EXISTS {index.table_name}"))
                dropped.append(index.table_name)
        session.commit()
    return dropped
