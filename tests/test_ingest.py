"""Ingestion into the real database: idempotence, replacement, deletion, failures."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path

import pytest
import sqlalchemy as sa

from ragkit import RagKit, Settings
from ragkit.chunking import make_splitter, source_text
from ragkit.errors import ConfigurationError, DocumentNotFound
from ragkit.index import active_index
from ragkit.ingest import IngestResult, Pipeline, PreparedDocument
from ragkit.ingest.embed import embed_documents
from ragkit.readers import PDFPages, detect_content_type, read_file
from ragkit.schema import Chunk, ChunkTerm, Document, DocumentUnit


def vector_count(kit: RagKit, organization: str) -> int:
    with kit.database.sessions() as session:
        index = active_index(session, organization)
        return session.execute(
            sa.text(
                f"SELECT count(*) FROM {index.table_name} "
                "WHERE metadata_->>'organization_id' = :organization"
            ),
            {"organization": organization},
        ).scalar_one()


def chunk_rows(kit: RagKit, organization: str) -> list[Chunk]:
    with kit.database.sessions() as session:
        return list(session.scalars(sa.select(Chunk).where(Chunk.organization_id == organization)))


def test_ingesting_a_folder_stores_every_supported_file(
    kit: RagKit, organization: str, example_docs: Path
) -> None:
    report = kit.ingest_path(example_docs, organization=organization)
    summary = report.to_json()
    assert summary["files"] == 6
    assert summary["documents_added"] == 6
    assert summary["failed"] == []
    assert summary["chunks_added"] == len(chunk_rows(kit, organization))
    assert vector_count(kit, organization) == summary["chunks_added"]
    status = kit.status(organization)
    assert (status.documents, status.chunks) == (6, summary["chunks_added"])
    assert (status.embed_model, status.dimensions) == ("local:all-MiniLM-L6-v2", 384)


def test_reingesting_unchanged_files_adds_no_chunks(
    kit: RagKit, organization: str, example_docs: Path
) -> None:
    kit.ingest_path(example_docs, organization=organization)
    before = {chunk.id for chunk in chunk_rows(kit, organization)}
    summary = kit.ingest_path(example_docs, organization=organization).to_json()
    assert summary["documents_unchanged"] == 6
    assert summary["chunks_added"] == 0
    assert {chunk.id for chunk in chunk_rows(kit, organization)} == before


def test_chunks_keep_page_section_and_their_span_in_the_source(
    kit: RagKit, organization: str, example_docs: Path
) -> None:
    kit.ingest_path(
        example_docs / "troubleshooting.pdf", example_docs / "faq.md", organization=organization
    )
    chunks = chunk_rows(kit, organization)
    pages = {chunk.page_number for chunk in chunks if "E-1042" in chunk.content}
    assert 2 in pages
    sections = {chunk.section_title for chunk in chunks if "30 minutes" in chunk.content}
    assert "Resetting your password" in sections
    faq = (example_docs / "faq.md").read_text()
    with kit.database.sessions() as session:
        faq_id = session.scalars(
            sa.select(Document.id).where(
                Document.organization_id == organization, Document.source.like("%faq.md")
            )
        ).one()
    for chunk in (c for c in chunks if c.document_id == faq_id):
        assert faq[chunk.start_char : chunk.end_char].strip() == chunk.content.strip()
    indexes = sorted(c.chunk_index for c in chunks if c.document_id == faq_id)
    assert indexes == list(range(len(indexes)))


def test_chunks_fit_the_embedding_window(kit: RagKit, organization: str, workdir: Path) -> None:
    long_text = " ".join(f"Sentence number {i} talks about sync settings." for i in range(400))
    (workdir / "long.txt").write_text(long_text)
    kit.ingest_path(workdir, organization=organization)
    chunks = chunk_rows(kit, organization)
    assert len(chunks) > 5
    assert max(chunk.token_count for chunk in chunks) <= kit.settings.chunk_size
    assert all(kit.model.count_tokens(chunk.content) <= 254 for chunk in chunks)


def test_a_chunk_size_larger_than_the_model_window_is_refused(kit: RagKit) -> None:
    with pytest.raises(ConfigurationError, match="window"):
        make_splitter(400, 20, kit.model.tokenizer, kit.model.max_tokens)


def test_a_changed_file_replaces_its_chunks_and_vectors(
    kit: RagKit, organization: str, workdir: Path
) -> None:
    notes = workdir / "notes.md"
    notes.write_text("# Shipping\nOrders ship within 2 business days from Lisbon.\n")
    kit.ingest_path(workdir, organization=organization)
    notes.write_text("# Shipping\nOrders ship within 5 business days from Porto.\n")
    summary = kit.ingest_path(workdir, organization=organization).to_json()
    assert summary["documents_updated"] == 1
    contents = [chunk.content for chunk in chunk_rows(kit, organization)]
    assert len(contents) == 1 and "Porto" in contents[0]
    assert vector_count(kit, organization) == 1
    found = kit.retrieve("Where do orders ship from?", organization, mode="text")
    assert [chunk.content for chunk in found] == contents


def test_unchanged_chunks_of_an_edited_file_are_not_embedded_again(
    kit: RagKit, organization: str, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sections = [
        f"# Topic {i}\nParagraph {i} explains feature number {i} in detail." for i in range(6)
    ]
    guide = workdir / "guide.md"
    guide.write_text("\n\n".join(sections))
    kit.ingest_path(workdir, organization=organization)
    sections[3] = "# Topic 3\nParagraph 3 now explains something completely different."
    guide.write_text("\n\n".join(sections))
    embedded: list[str] = []
    original = kit.model.embed_texts

    def counting(texts: list[str]) -> list[list[float]]:
        embedded.extend(texts)
        return original(texts)

    monkeypatch.setattr(kit.model, "embed_texts", counting)
    kit.ingest_path(workdir, organization=organization)
    assert len(embedded) == 1 and "completely different" in embedded[0]
    assert len(chunk_rows(kit, organization)) == 6


def test_deleting_a_document_removes_chunks_postings_and_vectors(
    kit: RagKit, organization: str, example_docs: Path
) -> None:
    result = kit.ingest_file(example_docs / "faq.md", organization)
    assert result.document_id is not None
    kit.delete_document(result.document_id, organization)
    assert chunk_rows(kit, organization) == []
    assert vector_count(kit, organization) == 0
    with kit.database.sessions() as session:
        postings = session.scalar(
            sa.select(sa.func.count()).where(ChunkTerm.organization_id == organization)
        )
    assert postings == 0
    assert kit.retrieve("reset password", organization) == []


def test_a_bad_file_is_reported_and_the_rest_of_the_batch_is_ingested(
    kit: RagKit, organization: str, example_docs: Path, workdir: Path
) -> None:
    shutil.copy(example_docs / "faq.md", workdir / "faq.md")
    (workdir / "broken.pdf").write_bytes(b"%PDF-1.4 nothing readable here")
    (workdir / "fake.docx").write_text("plain text with a docx name")
    (workdir / "empty.txt").write_text("")
    report = kit.ingest_path(workdir, organization=organization)
    summary = report.to_json()
    assert summary["documents_added"] == 1
    failed = {Path(item["path"]).name: item["error"] for item in summary["failed"]}
    assert set(failed) == {"broken.pdf", "fake.docx", "empty.txt"}
    assert "fake.docx" in failed["fake.docx"] and "DOCX" in failed["fake.docx"]
    assert "no text" in failed["empty.txt"]
    with kit.database.sessions() as session:
        statuses = dict(
            session.execute(
                sa.select(Document.source, Document.status).where(
                    Document.organization_id == organization
                )
            ).all()
        )
    assert statuses[str((workdir / "broken.pdf").resolve())] == "failed"


def test_an_organization_id_is_required_to_be_short(kit: RagKit) -> None:
    with pytest.raises(ConfigurationError, match="organization id must have 1 to 64 characters"):
        kit.retrieve("anything", "x" * 65)


def test_settings_reject_invalid_values() -> None:
    with pytest.raises(ConfigurationError, match="smaller than the chunk size"):
        Settings(chunk_size=100, chunk_overlap=100)
    with pytest.raises(ConfigurationError, match="RAGKIT_TOP_K='many' is not valid"):
        Settings.from_env({"RAGKIT_TOP_K": "many"})
    with pytest.raises(ConfigurationError, match=r"retrieval mode must be one of .*not 'fuzzy'"):
        Settings.from_env({"RAGKIT_RETRIEVAL_MODE": "fuzzy"})


def test_small_files_are_embedded_together_in_one_batch(
    kit: RagKit, organization: str, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for number in range(5):
        (workdir / f"note-{number}.txt").write_text(f"Note {number} explains feature {number}.")
    calls: list[int] = []
    original = kit.model.embed_texts

    def counting(texts: list[str]) -> list[list[float]]:
        calls.append(len(texts))
        return original(texts)

    monkeypatch.setattr(kit.model, "embed_texts", counting)
    summary = kit.ingest_path(workdir, organization=organization).to_json()
    assert summary["documents_added"] == 5
    assert calls == [5]


def test_a_group_of_documents_is_stored_in_one_transaction(
    kit: RagKit, organization: str, workdir: Path
) -> None:
    paths = []
    for number in range(3):
        paths.append(workdir / f"guide-{number}.txt")
        paths[-1].write_text(f"Guide {number}: how to configure feature {number} step by step.")
    prepared = []
    for path in paths:
        started = kit.pipeline._start(path, organization)
        assert not isinstance(started, IngestResult)
        prepared.append(started.prepared)
    embedded = embed_documents(prepared)
    commits: list[object] = []

    def count(connection: object) -> None:
        commits.append(connection)

    sa.event.listen(kit.database.engine, "commit", count)
    try:
        assert kit.pipeline.storage.store_many(embedded) == [1, 1, 1]
    finally:
        sa.event.remove(kit.database.engine, "commit", count)
    assert len(commits) == 1
    with kit.database.sessions() as session:
        chunks = session.scalar(
            sa.select(sa.func.count()).where(Chunk.organization_id == organization)
        )
    assert chunks == 3


def test_a_document_that_cannot_be_stored_fails_alone(
    kit: RagKit, organization: str, workdir: Path
) -> None:
    prepared: list[PreparedDocument] = []
    for number in range(3):
        path = workdir / f"policy-{number}.txt"
        path.write_text(f"Policy {number}: refunds are issued within {number + 5} days.")
        started = kit.pipeline._start(path, organization)
        assert not isinstance(started, IngestResult)
        prepared.append(started.prepared)
    embedded = embed_documents(prepared)
    kit.delete_document(prepared[1].document_id, organization)  # gone before it is stored
    stored = kit.pipeline.storage.store_many(embedded)
    assert stored[0] == stored[2] == 1
    assert isinstance(stored[1], DocumentNotFound)
    assert [hit.document_id for hit in kit.retrieve("refunds policy 0", organization, top_k=1)] == [
        prepared[0].document_id
    ]


def test_documents_take_their_own_title_unless_given_one(
    kit: RagKit, organization: str, example_docs: Path
) -> None:
    kit.ingest_file(example_docs / "troubleshooting.pdf", organization)
    kit.ingest_file(example_docs / "plans.csv", organization)
    kit.ingest_file(example_docs / "faq.md", organization, title="Product FAQ")
    with kit.database.sessions() as session:
        titles = set(
            session.scalars(
                sa.select(Document.title).where(Document.organization_id == organization)
            )
        )
    assert titles == {"Nimbus Notes Troubleshooting Guide", "Plans", "Product FAQ"}


# Re-ingesting an edited file keeps the chunks of its unchanged pages and sections


def page_text(topic: str, sentences: int = 12) -> list[str]:
    return [
        f"Line {n} of the {topic} page explains one setting of the sync client."
        for n in range(sentences)
    ]


def write_pdf(path: Path, pages: Sequence[Sequence[str]]) -> None:
    """One page per entry, each line drawn on its own, in one font throughout."""
    from reportlab.pdfgen.canvas import Canvas

    canvas = Canvas(str(path))
    for lines in pages:
        canvas.setFont("Helvetica", 10)
        for number, line in enumerate(lines):
            canvas.drawString(50, 800 - 14 * number, line)
        canvas.showPage()
    canvas.save()


class Recorder:
    """Counts PDF page extractions and embedded texts during a re-ingest."""

    def __init__(self, kit: RagKit, monkeypatch: pytest.MonkeyPatch) -> None:
        self.pages: list[int] = []
        self.embedded: list[str] = []
        extract, embed = PDFPages.text, kit.model.embed_texts

        def text(pages: PDFPages, number: int) -> str:
            self.pages.append(number + 1)
            return extract(pages, number)

        def embed_texts(texts: list[str]) -> list[list[float]]:
            self.embedded.extend(texts)
            return embed(texts)

        monkeypatch.setattr(PDFPages, "text", text)
        monkeypatch.setattr(kit.model, "embed_texts", embed_texts)

    def clear(self) -> None:
        self.pages.clear()
        self.embedded.clear()


def chunk_ids(kit: RagKit, document_id: uuid.UUID) -> dict[int | None, set[uuid.UUID]]:
    """The chunk ids of each page."""
    with kit.database.sessions() as session:
        rows = session.execute(
            sa.select(Chunk.page_number, Chunk.id).where(Chunk.document_id == document_id)
        )
        pages: dict[int | None, set[uuid.UUID]] = {}
        for page, chunk_id in rows:
            pages.setdefault(page, set()).add(chunk_id)
        return pages


def assert_stored_as_if_ingested_afresh(
    kit: RagKit, document_id: uuid.UUID, path: Path, pipeline: Pipeline | None = None
) -> None:
    """Chunks, spans, vector rows, postings and units equal those of a first ingest."""
    pipeline = pipeline or kit.pipeline
    units = read_file(path, detect_content_type(path.read_bytes(), path.name))
    expected = pipeline.preparer.chunk_units(units, kit.model)
    text = source_text(units)
    with kit.database.sessions() as session:
        chunks = list(
            session.scalars(
                sa.select(Chunk).where(Chunk.document_id == document_id).order_by(Chunk.chunk_index)
            )
        )
        index = active_index(session, chunks[0].organization_id)
        vectors = {
            node_id: metadata
            for node_id, metadata in session.execute(
                sa.text(
                    f"SELECT node_id, metadata_ FROM {index.table_name} "
                    "WHERE metadata_->>'ref_doc_id' = :document"
                ),
                {"document": str(document_id)},
            )
        }
        postings = dict(
            session.execute(
                sa.select(ChunkTerm.chunk_id, sa.func.sum(ChunkTerm.tf))
                .where(ChunkTerm.document_id == document_id)
                .group_by(ChunkTerm.chunk_id)
            ).all()
        )
        units_stored = session.scalar(
            sa.select(sa.func.count()).where(DocumentUnit.document_id == document_id)
        )
        document = session.get(Document, document_id)
        assert document is not None and document.status == "ready"
        assert document.chunk_count == len(expected)
    assert [
        (c.chunk_index, c.content, c.page_number, c.section_title, c.start_char, c.end_char)
        for c in chunks
    ] == [
        (d.index, d.content, d.page_number, d.section_title, d.start_char, d.end_char)
        for d in expected
    ]
    assert all(text[c.start_char : c.end_char] == c.content for c in chunks)
    assert set(vectors) == {str(c.id) for c in chunks}
    for chunk in chunks:
        metadata = vectors[str(chunk.id)]
        node = json.loads(metadata["_node_content"])["metadata"]
        assert metadata["chunk_index"] == node["chunk_index"] == chunk.chunk_index
        assert metadata["page_number"] == node["page_number"] == chunk.page_number
        assert postings[chunk.id] == chunk.term_count > 0
    assert units_stored >= len(units)


def test_editing_a_middle_page_reads_and_embeds_only_that_page_again(
    kit: RagKit, organization: str, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pages = [page_text(topic) for topic in ("login", "backup", "export", "sharing", "billing")]
    path = workdir / "manual.pdf"
    write_pdf(path, pages)
    first = kit.ingest_file(path, organization)
    assert first.document_id is not None
    before = chunk_ids(kit, first.document_id)
    pages[2] = [
        *pages[2][:5],
        "The export page now says much more than it did before.",
        *pages[2][5:],
    ]
    write_pdf(path, pages)
    recorder = Recorder(kit, monkeypatch)
    second = kit.ingest_file(path, organization)
    assert second.outcome == "updated"
    assert recorder.pages == [3]
    assert recorder.embedded and all("export page" in text for text in recorder.embedded)
    after = chunk_ids(kit, first.document_id)
    assert {page: after[page] for page in (1, 2, 4, 5)} == {
        page: before[page] for page in (1, 2, 4, 5)
    }
    assert after[3].isdisjoint(before[3])
    assert_stored_as_if_ingested_afresh(kit, first.document_id, path)
    found = kit.retrieve("export page says much more", organization, mode="text", top_k=1)
    assert found[0].page_number == 3


def test_inserting_and_removing_pages_moves_the_other_pages_chunks(
    kit: RagKit, organization: str, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pages = [page_text(topic) for topic in ("login", "backup", "export", "sharing")]
    path = workdir / "manual.pdf"
    write_pdf(path, pages)
    document_id = kit.ingest_file(path, organization).document_id
    assert document_id is not None
    before = chunk_ids(kit, document_id)
    recorder = Recorder(kit, monkeypatch)
    write_pdf(path, [pages[0], page_text("offline mode", 30), *pages[1:]])
    kit.ingest_file(path, organization)
    assert recorder.pages == [2]
    assert all("offline mode" in text for text in recorder.embedded)
    moved = chunk_ids(kit, document_id)
    assert [moved[page] for page in (1, 3, 4, 5)] == [before[page] for page in (1, 2, 3, 4)]
    assert_stored_as_if_ingested_afresh(kit, document_id, path)

    recorder.clear()
    write_pdf(path, [pages[0], page_text("offline mode", 30), pages[1], pages[3]])
    assert kit.ingest_file(path, organization).outcome == "updated"
    assert (recorder.pages, recorder.embedded) == ([], [])
    assert chunk_ids(kit, document_id)[4] == before[4]
    assert_stored_as_if_ingested_afresh(kit, document_id, path)


def test_identical_pages_keep_their_own_chunks(
    kit: RagKit, organization: str, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    notice, body = page_text("legal notice", 6), page_text("backup")
    path = workdir / "manual.pdf"
    write_pdf(path, [notice, body, notice])
    document_id = kit.ingest_file(path, organization).document_id
    assert document_id is not None
    before = chunk_ids(kit, document_id)
    assert len(before[1]) == len(before[3]) == 1
    recorder = Recorder(kit, monkeypatch)
    write_pdf(path, [notice, page_text("restore"), notice])
    kit.ingest_file(path, organization)
    assert recorder.pages == [2]
    after = chunk_ids(kit, document_id)
    assert (after[1], after[3]) == (before[1], before[3])
    assert_stored_as_if_ingested_afresh(kit, document_id, path)


def test_a_new_chunk_size_chunks_every_page_again(
    kit: RagKit, organization: str, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pages = [page_text(topic, 20) for topic in ("login", "backup", "export")]
    path = workdir / "manual.pdf"
    write_pdf(path, pages)
    document_id = kit.ingest_file(path, organization).document_id
    assert document_id is not None
    pages[1] = page_text("restore", 20)
    write_pdf(path, pages)
    recorder = Recorder(kit, monkeypatch)
    smaller = kit.pipeline.with_settings(kit.settings.replace(chunk_size=60))
    assert smaller.ingest_file(path, organization).outcome == "updated"
    assert recorder.pages == [1, 2, 3]
    assert_stored_as_if_ingested_afresh(kit, document_id, path, smaller)
    assert max(len(ids) for ids in chunk_ids(kit, document_id).values()) > 1


def test_processing_a_stored_document_keeps_its_unchanged_pages(
    kit: RagKit, organization: str, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pages = [page_text(topic) for topic in ("login", "backup", "export")]
    path = workdir / "manual.pdf"
    write_pdf(path, pages)
    document_id = kit.ingest_file(path, organization).document_id
    assert document_id is not None
    write_pdf(path, [pages[0], page_text("restore"), pages[2]])
    recorder = Recorder(kit, monkeypatch)
    assert kit.process_document(document_id).status == "ready"
    assert recorder.pages == [2]
    assert_stored_as_if_ingested_afresh(kit, document_id, path)
    recorder.clear()
    kit.process_document(document_id, force=True)
    assert recorder.pages == [1, 2, 3]
    assert_stored_as_if_ingested_afresh(kit, document_id, path)


def test_an_edited_markdown_file_keeps_exact_spans(
    kit: RagKit, organization: str, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sections = [f"# Topic {i}\n\n" + " ".join(page_text(f"topic {i}", 4)) for i in range(5)]
    guide = workdir / "guide.md"
    guide.write_text("\n\n".join(sections))
    document_id = kit.ingest_file(guide, organization).document_id
    assert document_id is not None
    sections[1] += "\n\nA longer second section moves every later span."
    del sections[3]
    guide.write_text("\n\n".join(sections))
    recorder = Recorder(kit, monkeypatch)
    kit.ingest_file(guide, organization)
    assert recorder.embedded and all("moves every later span" in t for t in recorder.embedded)
    assert_stored_as_if_ingested_afresh(kit, document_id, guide)
    text = guide.read_text()
    for chunk in chunk_rows(kit, organization):
        assert text[chunk.start_char : chunk.end_char].strip() == chunk.content.strip()


def test_an_edited_file_named_twice_in_one_run_is_stored_once(
    kit: RagKit, organization: str, workdir: Path
) -> None:
    pages = [page_text(topic) for topic in ("login", "backup", "export")]
    path = workdir / "manual.pdf"
    write_pdf(path, pages)
    document_id = kit.ingest_file(path, organization).document_id
    assert document_id is not None
    write_pdf(path, [pages[0], page_text("restore"), pages[2]])
    summary = kit.ingest_path(path, path, organization=organization).to_json()
    assert summary["failed"] == []
    assert_stored_as_if_ingested_afresh(kit, document_id, path)
