"""Reindexing in-process: a change of embedding model builds a new generation and switches."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from ragkit import RagKit
from ragkit.errors import ConfigurationError
from ragkit.index import active_index
from ragkit.ingest import TextItem
from ragkit.reindex import (
    ReindexFailed,
    finish_run,
    plan_reindex,
    reindex,
    reindex_batch,
    reindex_progress,
)
from ragkit.schema import Chunk, VectorIndex


def generation(kit: RagKit, organization: str) -> VectorIndex:
    with kit.database.sessions() as session:
        return active_index(session, organization)


def rows_in(kit: RagKit, index: VectorIndex, organization: str) -> int:
    with kit.database.sessions() as session:
        return session.execute(
            sa.text(
                f"SELECT count(*) FROM {index.table_name} "
                "WHERE metadata_->>'organization_id' = :organization"
            ),
            {"organization": organization},
        ).scalar_one()


def test_switching_model_builds_a_new_generation_and_switches_when_done(
    kit: RagKit, organization: str, example_docs: Path, second_model: str
) -> None:
    kit.ingest_path(
        example_docs / "faq.md", example_docs / "troubleshooting.pdf", organization=organization
    )
    before = generation(kit, organization)
    chunks = kit.status(organization).chunks
    plan = plan_reindex(kit, organization=organization, embed_model=second_model, batch_size=1)
    assert len(plan.batches) == 2
    reindex_batch(kit, plan.run_id, 0)
    # Half-way: queries still use the old generation and still find answers.
    assert generation(kit, organization).id == before.id
    assert kit.retrieve("reset password link", organization, mode="dense")
    progress = reindex_batch(kit, plan.run_id, 1)
    assert progress.state == "succeeded" and (progress.done, progress.total) == (2, 2)
    after = generation(kit, organization)
    assert after.id != before.id and after.dimensions == 128
    assert rows_in(kit, after, organization) == chunks
    dense = kit.retrieve("sync conflict error", organization, mode="dense", top_k=50)
    assert len(dense) == chunks  # the new 128-dimension vectors are searched
    found = kit.retrieve("What does error E-1042 mean?", organization)
    assert "E-1042" in found[0].content
    answer = kit.ask("How long is the password reset link valid?", organization)
    assert "30 minutes" in answer.text


def test_rerunning_a_batch_embeds_nothing_again(
    kit: RagKit, organization: str, second_model: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    kit.pipeline.ingest_texts(organization, [TextItem("a", "A", "Alpha text about billing.")])
    plan = plan_reindex(kit, organization=organization, embed_model=second_model)
    reindex_batch(kit, plan.run_id, 0)
    model = kit.model_named(second_model)
    calls: list[int] = []
    original = model.embed_texts
    monkeypatch.setattr(
        model, "embed_texts", lambda texts: calls.append(len(texts)) or original(texts)
    )
    assert reindex_batch(kit, plan.run_id, 0).state == "succeeded"
    assert sum(calls) == 0


def test_a_failed_document_leaves_the_old_index_active(
    kit: RagKit, organization: str, second_model: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    kit.pipeline.ingest_texts(organization, [TextItem("a", "A", "Alpha text about refunds.")])
    before = generation(kit, organization)
    plan = plan_reindex(kit, organization=organization, embed_model=second_model)
    model = kit.model_named(second_model)

    def broken(texts: list[str]) -> list[list[float]]:
        raise RuntimeError("model server unavailable")

    monkeypatch.setattr(model, "embed_texts", broken)
    with pytest.raises(ReindexFailed, match=r"1 of 1 documents failed: .*model server unavailable"):
        reindex_batch(kit, plan.run_id, 0)
    progress = reindex_progress(kit, plan.run_id)
    assert progress.state == "failed" and progress.failed == 1
    assert "model server unavailable" in progress.errors[0]["error"]
    assert generation(kit, organization).id == before.id
    assert kit.retrieve("refunds", organization, mode="dense")


def test_documents_added_during_a_run_are_caught_up_before_the_switch(
    kit: RagKit, organization: str, second_model: str
) -> None:
    kit.pipeline.ingest_texts(organization, [TextItem("a", "A", "Alpha text about invoices.")])
    plan = plan_reindex(kit, organization=organization, embed_model=second_model)
    kit.pipeline.ingest_texts(organization, [TextItem("b", "B", "Beta text about exports.")])
    reindex_batch(kit, plan.run_id, 0)
    after = generation(kit, organization)
    assert after.dimensions == 128
    assert rows_in(kit, after, organization) == 2


def test_same_model_reindex_skips_current_chunks_and_rechunking_uses_files(
    kit: RagKit, organization: str, example_docs: Path
) -> None:
    kit.ingest_path(example_docs / "faq.md", organization=organization)
    before = kit.status(organization).chunks
    progress = reindex(kit, organization=organization)
    assert (progress.state, progress.switches_index) == ("succeeded", False)
    progress = reindex(kit, organization=organization, chunk_size=100)
    assert progress.state == "succeeded"
    with kit.database.sessions() as session:
        sizes = session.scalars(
            sa.select(Chunk.token_count).where(Chunk.organization_id == organization)
        ).all()
    assert len(sizes) > before and max(sizes) <= 100
    assert rows_in(kit, generation(kit, organization), organization) == len(sizes)


def test_a_model_change_cannot_target_single_documents(
    kit: RagKit, organization: str, second_model: str
) -> None:
    (document_id,) = kit.pipeline.ingest_texts(organization, [TextItem("a", "A", "Some text.")])
    with pytest.raises(ConfigurationError, match="whole organizations"):
        plan_reindex(kit, document_ids=[document_id], embed_model=second_model)
    with pytest.raises(ConfigurationError, match="no processed document"):
        plan_reindex(kit, document_ids=[uuid.uuid4()])


def test_an_empty_run_finishes_at_once(kit: RagKit, organization: str) -> None:
    plan = plan_reindex(kit, organization=organization)
    assert plan.batches == {}
    assert finish_run(kit, plan.run_id).state == "succeeded"


def test_a_retried_batch_can_complete_a_failed_run(
    kit: RagKit, organization: str, second_model: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    kit.pipeline.ingest_texts(organization, [TextItem("a", "A", "Alpha text about quotas.")])
    plan = plan_reindex(kit, organization=organization, embed_model=second_model)
    model = kit.model_named(second_model)
    working = model.embed_texts

    def broken(texts: list[str]) -> list[list[float]]:
        raise RuntimeError("temporarily unavailable")

    monkeypatch.setattr(model, "embed_texts", broken)
    with pytest.raises(ReindexFailed, match=r"1 of 1 documents failed: .*temporarily unavailable"):
        reindex_batch(kit, plan.run_id, 0)
    monkeypatch.setattr(model, "embed_texts", working)
    progress = reindex_batch(kit, plan.run_id, 0)
    assert (progress.state, progress.failed, progress.done) == ("succeeded", 0, 1)
    assert generation(kit, organization).dimensions == 128


def test_an_unused_generation_is_retired_first_and_its_table_dropped_later(
    kit: RagKit,
) -> None:
    from ragkit.index import create_generation
    from ragkit.reindex import drop_retired_generations
    from ragkit.reindex.finish import _drop_unused_generations
    from ragkit.schema import IndexStatus

    def table_exists(name: str) -> bool:
        with kit.database.sessions() as session:
            return (
                session.execute(sa.text("SELECT to_regclass(:t)"), {"t": name}).scalar() is not None
            )

    with kit.database.sessions() as session:
        unused = create_generation(session, "hf:unused-model", 16, status=IndexStatus.ACTIVE)
        session.commit()
        _drop_unused_generations(session, keep=-1)
        session.commit()
        table, status = unused.table_name, session.get(VectorIndex, unused.id).status
    assert status == "retired" and table_exists(table)
    assert table in drop_retired_generations(kit)
    assert not table_exists(table)
