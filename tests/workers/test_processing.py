"""Uploads processed by real RQ workers: status, failures, idempotence, stale work."""

from __future__ import annotations

import uuid
from pathlib import Path

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from redis import Redis
from rq import Queue
from rq.job import Job

from ragkit import Document, DocumentStatus, RagKit
from tests.fixtures import Account, stored_rows
from workers.queue import INGEST, enqueue_processing, process_job_id
from workers.recovery import MAX_CRASHES, crash_key, record_crash, requeue_stale


def document_of(client: FlaskClient, account: Account, document_id: str) -> dict:
    response = client.get(f"/api/v1/documents/{document_id}", headers=account.headers)
    assert response.status_code == 200, response.json
    return response.json


def test_upload_is_pending_until_a_worker_makes_it_ready(
    client: FlaskClient, owner: Account, upload, example_docs: Path, run_worker, connection: Redis
) -> None:
    response = upload(owner, example_docs / "faq.md")

    assert response.status_code == 201
    uploaded = response.json
    assert uploaded["status"] == "pending"
    job_id = process_job_id(uuid.UUID(uploaded["id"]), uploaded["content_hash"])
    assert Queue(INGEST, connection=connection).get_job_ids() == [job_id]

    run_worker()

    document = document_of(client, owner, uploaded["id"])
    assert document["status"] == "ready"
    assert document["chunk_count"] > 0
    assert document["processing_error"] is None
    assert Job.fetch(job_id, connection=connection).get_status() == "finished"


def test_unreadable_file_fails_with_its_reason_and_is_listed_as_a_failed_job(
    client: FlaskClient,
    owner: Account,
    upload,
    workdir: Path,
    run_worker,
    connection: Redis,
    queue_app: Flask,
) -> None:
    broken = workdir / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4\n1 0 obj garbage garbage\n%%EOF")
    uploaded = upload(owner, broken).json

    run_worker()

    document = document_of(client, owner, uploaded["id"])
    assert document["status"] == "failed"
    assert "could not be read" in document["processing_error"]
    job_id = process_job_id(uuid.UUID(uploaded["id"]), uploaded["content_hash"])
    failed = Queue(INGEST, connection=connection).failed_job_registry
    assert job_id in failed.get_job_ids()  # at once: a file that cannot be read is not retried
    listing = queue_app.test_cli_runner().invoke(args=["ragkit", "jobs"])
    assert listing.exit_code == 0, listing.output
    assert f"ingest   failed    {job_id}" in listing.output
    assert "error: ragkit.errors.DocumentReadError:" in listing.output
    assert "could not be read" in listing.output


def test_enqueueing_twice_runs_one_job_and_keeps_one_set_of_chunks(
    owner: Account, upload, example_docs: Path, run_worker, connection: Redis, kit: RagKit
) -> None:
    uploaded = upload(owner, example_docs / "troubleshooting.pdf").json
    document_id = uuid.UUID(uploaded["id"])

    again = enqueue_processing(connection, document_id, uploaded["content_hash"])

    assert Queue(INGEST, connection=connection).count == 1
    assert again.id == process_job_id(document_id, uploaded["content_hash"])
    run_worker()
    first = stored_rows(kit, document_id)
    enqueue_processing(connection, document_id, uploaded["content_hash"])  # runs, changes nothing
    enqueue_processing(connection, document_id, uploaded["content_hash"], force=True)
    run_worker()
    second = stored_rows(kit, document_id)
    assert first["status"] == second["status"] == "ready"
    assert first["chunks"] == second["chunks"] == second["vectors"] == second["chunk_count"]
    assert second["distinct_chunk_indexes"] == second["chunks"]


def test_reprocess_endpoint_queues_the_document_again(
    client: FlaskClient, owner: Account, upload, example_docs: Path, run_worker, connection: Redis
) -> None:
    uploaded = upload(owner, example_docs / "release-notes.txt").json
    run_worker()

    response = client.post(f"/api/v1/documents/{uploaded['id']}/reprocess", headers=owner.headers)

    assert response.status_code == 202
    assert Queue(INGEST, connection=connection).count == 1
    run_worker()
    assert document_of(client, owner, uploaded["id"])["status"] == "ready"


def make_stale(kit: RagKit, document_id: str, connection: Redis) -> None:
    """Lose the document's job and leave it ``processing`` since an hour ago."""
    connection.flushdb()
    with kit.database.sessions() as session:
        session.execute(
            sa.update(Document)
            .where(Document.id == uuid.UUID(document_id))
            .values(
                status=DocumentStatus.PROCESSING.value,
                updated_at=sa.func.now() - sa.text("interval '1 hour'"),
            )
        )
        session.commit()


def test_requeue_stale_command_queues_lost_processing_again(
    client: FlaskClient,
    owner: Account,
    upload,
    example_docs: Path,
    run_worker,
    connection: Redis,
    kit: RagKit,
    queue_app: Flask,
) -> None:
    uploaded = upload(owner, example_docs / "faq.md").json
    make_stale(kit, uploaded["id"], connection)

    result = queue_app.test_cli_runner().invoke(args=["ragkit", "requeue-stale"])

    assert result.exit_code == 0, result.output
    assert f"queued {uploaded['id']}" in result.output
    assert Queue(INGEST, connection=connection).count == 1
    run_worker()
    rows = stored_rows(kit, uploaded["id"])
    assert rows["status"] == "ready" and rows["chunks"] == rows["vectors"] == rows["chunk_count"]


def test_a_starting_worker_queues_documents_whose_job_was_lost(
    client: FlaskClient, owner: Account, upload, example_docs: Path, run_worker, connection: Redis
) -> None:
    uploaded = upload(owner, example_docs / "faq.md").json
    connection.flushdb()  # the job is lost; the document is still pending

    run_worker()

    assert document_of(client, owner, uploaded["id"])["status"] == "ready"


def test_requeue_stale_leaves_documents_whose_job_is_waiting(
    owner: Account, upload, example_docs: Path, connection: Redis, queue_app: Flask
) -> None:
    uploaded = upload(owner, example_docs / "faq.md").json

    result = queue_app.test_cli_runner().invoke(args=["ragkit", "requeue-stale"])

    assert result.exit_code == 0, result.output
    assert uploaded["id"] not in result.output
    assert Queue(INGEST, connection=connection).count == 1


def test_requeue_stale_fails_a_document_whose_job_keeps_dying_instead_of_queueing_it(
    client: FlaskClient,
    owner: Account,
    upload,
    example_docs: Path,
    connection: Redis,
    kit: RagKit,
    queue_app: Flask,
) -> None:
    uploaded = upload(owner, example_docs / "faq.md").json
    make_stale(kit, uploaded["id"], connection)
    job_id = process_job_id(uuid.UUID(uploaded["id"]), uploaded["content_hash"])
    connection.set(crash_key(job_id), MAX_CRASHES)  # as three runs that never ended leave it
    record_crash(connection, job_id, "killed by SIGKILL at 5.1 GB of memory")

    result = queue_app.test_cli_runner().invoke(args=["ragkit", "requeue-stale"])

    assert result.exit_code == 0, result.output
    assert uploaded["id"] not in result.output
    assert job_id not in Queue(INGEST, connection=connection).job_ids
    document = document_of(client, owner, uploaded["id"])
    assert document["status"] == "failed"
    assert document["processing_error"] == (
        f"faq.md: processing was given up after its job process died {MAX_CRASHES} times "
        "(killed, out of memory or crashed; the last killed by SIGKILL at 5.1 GB of memory)"
    )
    assert connection.get(crash_key(job_id)) is None


def test_requeue_stale_queues_a_document_whose_job_died_fewer_times(
    owner: Account, upload, example_docs: Path, connection: Redis, kit: RagKit, run_worker
) -> None:
    uploaded = upload(owner, example_docs / "faq.md").json
    make_stale(kit, uploaded["id"], connection)
    job_id = process_job_id(uuid.UUID(uploaded["id"]), uploaded["content_hash"])
    connection.set(crash_key(job_id), MAX_CRASHES - 1)

    assert uuid.UUID(uploaded["id"]) in requeue_stale(kit, connection)
    run_worker()

    assert stored_rows(kit, uploaded["id"])["status"] == "ready"
    assert connection.get(crash_key(job_id)) is None  # a run that ends clears the count


def test_reprocessing_by_hand_starts_the_crash_count_again(
    client: FlaskClient, owner: Account, upload, example_docs: Path, connection: Redis
) -> None:
    uploaded = upload(owner, example_docs / "faq.md").json
    job_id = process_job_id(uuid.UUID(uploaded["id"]), uploaded["content_hash"])
    connection.set(crash_key(job_id), MAX_CRASHES)

    response = client.post(f"/api/v1/documents/{uploaded['id']}/reprocess", headers=owner.headers)

    assert response.status_code == 202
    assert connection.get(crash_key(job_id)) is None
