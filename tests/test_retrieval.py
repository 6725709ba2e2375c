"""Retrieval against the real database: modes, filters, isolation, depth."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from ragkit import RagKit
from ragkit.bm25 import BM25, split_terms
from ragkit.dense import nearest_chunks, nearest_query
from ragkit.fusion import fuse, normalise
from ragkit.index import active_index
from ragkit.ingest import TextItem


@pytest.mark.parametrize("mode", ["dense", "text", "hybrid"])
def test_every_mode_finds_the_passage_that_answers(
    kit: RagKit, support_org: str, mode: str
) -> None:
    found = kit.retrieve("How long is the password reset link valid?", support_org, mode=mode)
    assert found, mode
    assert any("30 minutes" in chunk.content for chunk in found[:3])


def test_full_text_search_does_not_need_every_query_word(kit: RagKit, support_org: str) -> None:
    found = kit.retrieve(
        "my laptop shows E-1042 whenever grandma edits the shopping list",
        support_org,
        mode="text",
    )
    assert found and "E-1042" in found[0].content


def test_full_text_ranks_rare_terms_above_common_ones(kit: RagKit, organization: str) -> None:
    texts = [f"Notes sync notes sync notes sync, entry {i}." for i in range(8)]
    texts.append("Notes mention the Zephyr gateway once.")
    kit.pipeline.ingest_texts(
        organization, [TextItem(f"t{i}", f"t{i}", text) for i, text in enumerate(texts)]
    )
    found = kit.retrieve("notes zephyr", organization, mode="text", top_k=3)
    assert "Zephyr" in found[0].content


def test_hybrid_beats_or_equals_dense_on_keyword_heavy_queries(
    kit: RagKit, organization: str
) -> None:
    codes = {f"E-{1000 + 7 * i}": f"stage {i} of the upload pipeline" for i in range(30)}
    items = [
        TextItem(code, code, f"Error {code} means a failure in {meaning}.")
        for code, meaning in codes.items()
    ]
    kit.pipeline.ingest_texts(organization, items)

    def hits(mode: str) -> int:
        total = 0
        for code in codes:
            found = kit.retrieve(f"what does {code} mean", organization, mode=mode, top_k=1)
            total += bool(found) and code in found[0].content
        return total

    dense, hybrid = hits("dense"), hits("hybrid")
    assert hybrid >= dense
    assert hybrid == len(codes)


def test_retrieval_never_crosses_organizations(kit: RagKit, organization: str) -> None:
    other = f"other-{uuid.uuid4().hex[:8]}"
    kit.pipeline.ingest_texts(
        organization, [TextItem("a", "Ours", "Our refund window is 30 days for hardware.")]
    )
    kit.pipeline.ingest_texts(
        other, [TextItem("b", "Theirs", "Their refund window is 90 days for hardware.")]
    )
    for mode in ("dense", "text", "hybrid"):
        found = kit.retrieve("refund window hardware", organization, mode=mode, top_k=10)
        assert [chunk.title for chunk in found] == ["Ours"], mode
        answer = kit.ask("What is the refund window for hardware?", other, mode=mode)
        assert all(citation.title == "Theirs" for citation in answer.citations)


def test_retrieval_can_be_limited_to_some_documents(kit: RagKit, organization: str) -> None:
    ids = kit.pipeline.ingest_texts(
        organization,
        [
            TextItem("x", "X", "The X200 printer supports duplex printing."),
            TextItem("y", "Y", "The Y300 printer supports duplex printing too."),
        ],
    )
    for mode in ("dense", "text", "hybrid"):
        found = kit.retrieve("duplex printing", organization, mode=mode, document_ids=[ids[1]])
        assert [chunk.title for chunk in found] == ["Y"], mode


def test_dense_search_returns_more_rows_than_hnsw_ef_search(kit: RagKit, organization: str) -> None:
    items = [
        TextItem(str(i), str(i), f"Support article {i} about topic {i % 13}.") for i in range(150)
    ]
    kit.pipeline.ingest_texts(organization, items)
    found = kit.retrieve("support article", organization, mode="dense", top_k=120)
    assert len(found) == 120
    with kit.database.sessions() as session:
        assert session.execute(sa.text("SHOW hnsw.iterative_scan")).scalar() == "relaxed_order"
        assert active_index(session, organization).dimensions == 384
        # A small organization is served by its btree index plus a sort; forbid the sort so
        # the same query must walk the HNSW graph, where ef_search (100) would cap it.
        session.execute(sa.text("SET LOCAL enable_sort = off"))
        rows = kit.stores.row_model(active_index(session, organization))
        embedding = kit.model.embed_query("support article")
        query = nearest_query(rows, embedding, organization, 120)
        inline = query.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
        plan = session.execute(sa.text(f"EXPLAIN {inline}")).scalars()
        assert any("embedding_idx" in line for line in plan)
        assert len(nearest_chunks(session, rows, embedding, organization, 120)) == 120


def test_fusion_adds_normalised_scores() -> None:
    dense = [("a", 0.9), ("b", 0.5), ("c", 0.1)]
    text = [("c", 12.0), ("a", 2.0)]
    assert normalise(dense) == {"a": 1.0, "b": 0.5, "c": 0.0}
    fused = dict(fuse(dense, text, dense_weight=0.5))
    assert fused == {"a": 0.5, "b": 0.25, "c": 0.5}
    assert [chunk for chunk, _ in fuse(dense, text, 0.5)] == ["a", "c", "b"]


def test_llamaindex_can_query_the_same_store_and_agrees_with_ragkit(
    kit: RagKit, support_org: str
) -> None:
    from llama_index.core import VectorStoreIndex
    from llama_index.core.vector_stores.types import (
        MetadataFilter,
        MetadataFilters,
        VectorStoreQuery,
    )

    store = kit.vector_store(support_org)
    question = "How long is the password reset link valid?"
    embedding = kit.model.embed_query(question)
    ours = kit.retrieve(question, support_org, mode="dense", top_k=5, query_embedding=embedding)
    organization_only = MetadataFilters(
        filters=[MetadataFilter(key="organization_id", value=support_org)]
    )
    through_store = store.query(
        VectorStoreQuery(query_embedding=embedding, similarity_top_k=5, filters=organization_only),
        hnsw_ef_search=100,
    )
    assert [str(chunk.chunk_id) for chunk in ours] == through_store.ids
    index = VectorStoreIndex.from_vector_store(store, embed_model=kit.model.embedding)
    retriever = index.as_retriever(similarity_top_k=3, filters=organization_only)
    nodes = retriever.retrieve(question)
    assert nodes[0].node.node_id == str(ours[0].chunk_id)
    assert nodes[0].node.metadata["page_number"] is None
    assert "30 minutes" in " ".join(node.node.get_content() for node in nodes)


def _frequent_term_corpus(kit: RagKit, organization: str) -> list[uuid.UUID]:
    """Forty notes about syncing; a few also name a rarer subject, one names only syncing."""
    texts = [f"Notes sync across devices, entry {i}." for i in range(36)]
    texts += [
        "Notes sync through the Zephyr gateway.",
        "The Zephyr gateway keeps notes in sync, and the Zephyr relay signs them.",
        "Zephyr relays sign exports.",
        "Notes sync notes sync notes sync notes sync.",
    ]
    return kit.pipeline.ingest_texts(
        organization, [TextItem(f"n{i}", f"n{i}", text) for i, text in enumerate(texts)]
    )


def test_bm25_beyond_its_postings_budget_keeps_the_best_passages(
    kit: RagKit, organization: str
) -> None:
    _frequent_term_corpus(kit, organization)
    query = "zephyr notes sync"
    with kit.database.sessions() as session:
        frequencies = kit.corpus.frequencies(session, organization, ["zephyr", "note", "sync"])
        assert split_terms(frequencies, budget=10) == (["zephyr"], ["note", "sync"])
        exact = BM25(kit.corpus, organization, budget=1_000_000).search(session, query, 3)
        pruned = BM25(kit.corpus, organization, budget=10).search(session, query, 3)
    assert [chunk for chunk, _ in pruned] == [chunk for chunk, _ in exact]
    assert [score for _, score in pruned] == pytest.approx([score for _, score in exact])


def test_search_within_documents_finds_passages_with_only_frequent_terms(
    kit: RagKit, organization: str
) -> None:
    ids = _frequent_term_corpus(kit, organization)
    with kit.database.sessions() as session:
        bm25 = BM25(kit.corpus, organization, budget=10)
        found = bm25.search(session, "zephyr notes sync", 5, [ids[-1]])
    assert len(found) == 1


def test_term_frequencies_follow_ingested_and_deleted_documents(
    kit: RagKit, organization: str
) -> None:
    def frequency() -> int:
        with kit.database.sessions() as session:
            return kit.corpus.frequencies(session, organization, ["quasar"])["quasar"]

    assert frequency() == 0
    first = kit.pipeline.ingest_texts(organization, [TextItem("q1", "Q1", "Quasar setup.")])
    assert frequency() == 1
    kit.pipeline.ingest_texts(organization, [TextItem("q2", "Q2", "Quasar upgrade.")])
    assert frequency() == 2
    kit.delete_document(first[0], organization)
    assert frequency() == 1
