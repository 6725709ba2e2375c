"""Uploaded files live in PostgreSQL: written and read in parts, shared, deleted, migrated in.

Uploads here go to an app that queues processing (nothing runs the queue), so a file of several
parts is stored and served without being chunked and embedded.
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from ragkit import Document, DocumentReadError, RagKit
from ragkit.files import PART_SIZE, StoredFile, StoredFilePart, local_copy, lock_content, store
from tests.fixtures import Account
from tests.schema_steps import migrate
from webapp import create_app
from webapp.extensions import db


@pytest.fixture(scope="module")
def queued_app(app_config: dict[str, Any], kit: RagKit, redis_url: str) -> Iterator[Flask]:
    """The app with processing queued and a 4 MB upload limit."""
    application = create_app(
        {
            **app_config,
            "PROCESSING_MODE": "queue",
            "MAX_UPLOAD_MB": 4,
            "RATELIMIT_STORAGE_URI": redis_url,
        }
    )
    application.extensions["ragkit"] = kit
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture
def queued(queued_app: Flask) -> FlaskClient:
    return queued_app.test_client()


def post_file(client: FlaskClient, account: Account, name: str, data: bytes) -> Any:
    return client.post(
        "/api/v1/documents/",
        data={"file": (io.BytesIO(data), name)},
        headers=account.headers,
        content_type="multipart/form-data",
    )


def parts_of(kit: RagKit, organization: str) -> list[tuple[int, int]]:
    """(part number, part length) of every stored part of the organization."""
    with kit.database.sessions() as session:
        rows = session.execute(
            sa.select(StoredFilePart.number, sa.func.length(StoredFilePart.data))
            .where(StoredFilePart.organization_id == organization)
            .order_by(StoredFilePart.number)
        )
        return [(number, length) for number, length in rows]


def text_of_size(size: int, seed: str) -> bytes:
    """Distinct printable text, so no two tests (or parts) hold the same bytes."""
    line = hashlib.sha256(seed.encode()).hexdigest().encode()
    lines = (line[index % 64 :] + line[: index % 64] + b"\n" for index in range(size // 65 + 1))
    return b"".join(lines)[:size]


def test_a_file_of_several_parts_is_stored_in_parts_and_downloaded_whole(
    queued: FlaskClient, owner: Account, kit: RagKit
) -> None:
    data = text_of_size(2 * PART_SIZE + 12_345, "three parts")

    uploaded = post_file(queued, owner, "manual.txt", data)
    url = f"/api/v1/documents/{uploaded.json['id']}/file"
    download = queued.get(url, headers=owner.headers)
    again = queued.get(url, headers={**owner.headers, "If-None-Match": download.headers["ETag"]})

    assert uploaded.status_code == 201, uploaded.json
    assert parts_of(kit, owner.organization_id) == [
        (0, PART_SIZE),
        (1, PART_SIZE),
        (2, 12_345),
    ]
    assert download.status_code == 200
    assert download.data == data
    assert download.headers["Content-Length"] == str(len(data))
    assert download.headers["ETag"] == f'"{hashlib.sha256(data).hexdigest()}"'
    assert download.mimetype == "text/plain"
    assert again.status_code == 304 and again.data == b""


def test_the_document_is_read_from_a_temporary_copy_of_its_parts(kit: RagKit) -> None:
    organization = f"copy-{uuid.uuid4().hex[:8]}"
    data = os.urandom(PART_SIZE + 100)
    digest = hashlib.sha256(data).hexdigest()
    document = Document(
        id=uuid.uuid4(),
        organization_id=organization,
        source="report.pdf",
        content_hash=digest,
        file_path=None,
    )
    with kit.database.sessions() as session:
        lock_content(session, organization, digest)
        assert store(session, organization, digest, data)
        assert not store(session, organization, digest, data)  # already kept: nothing added
        session.commit()
        with local_copy(session, document) as path:
            copied = path.read_bytes()
            folder = path.parent

    assert copied == data
    assert path.suffix == ".pdf"
    assert not folder.exists()


def test_a_missing_stored_file_fails_the_document_with_a_reason(kit: RagKit) -> None:
    organization = f"missing-{uuid.uuid4().hex[:8]}"
    with kit.database.sessions() as session:
        document = Document(
            organization_id=organization,
            title="gone",
            source="gone.txt",
            content_type="text/plain",
            content_hash="0" * 64,
            file_path=None,
        )
        session.add(document)
        session.commit()
        document_id = document.id

    with pytest.raises(DocumentReadError, match=r"gone\.txt"):
        kit.process_document(document_id)

    with kit.database.sessions() as session:
        failed = session.get(Document, document_id)
        assert failed is not None and failed.status == "failed"
        assert "stored file is missing" in (failed.processing_error or "")


def test_bytes_shared_by_two_documents_go_with_the_last_of_them(
    client: FlaskClient, owner: Account, upload, example_docs: Path, kit: RagKit
) -> None:
    first = upload(owner, example_docs / "faq.md").json
    with kit.database.sessions() as session:  # a second document of the same content
        original = session.get(Document, uuid.UUID(first["id"]))
        assert original is not None
        second = Document(
            organization_id=original.organization_id,
            title="FAQ copy",
            source="faq-copy.md",
            content_type=original.content_type,
            content_hash=original.content_hash,
            file_path=None,
        )
        session.add(second)
        session.commit()
        second_url = f"/api/v1/documents/{second.id}"
    first_url = f"/api/v1/documents/{first['id']}"

    assert client.delete(first_url, headers=owner.headers).status_code == 204
    kept = client.get(f"{second_url}/file", headers=owner.headers)
    assert client.delete(second_url, headers=owner.headers).status_code == 204
    gone = parts_of(kit, owner.organization_id)

    assert kept.status_code == 200
    assert kept.data == (example_docs / "faq.md").read_bytes()
    assert gone == []


def test_a_file_ingested_in_place_is_served_from_its_path_and_never_deleted(
    client: FlaskClient, owner: Account, kit: RagKit, workdir: Path
) -> None:
    path = workdir / "in-place.md"
    path.write_text("# Offline mode\n\nThe app keeps working offline for 30 days.\n")
    result = kit.ingest_file(path, organization=owner.organization_id)
    url = f"/api/v1/documents/{result.document_id}"

    download = client.get(f"{url}/file", headers=owner.headers)
    deleted = client.delete(url, headers=owner.headers)

    assert download.status_code == 200 and download.data == path.read_bytes()
    assert deleted.status_code == 204
    assert path.exists()


def test_identical_uploads_at_the_same_time_make_one_document(
    queued_app: Flask, owner: Account, kit: RagKit
) -> None:
    data = text_of_size(300_000, f"concurrent {uuid.uuid4()}")
    server = make_server("127.0.0.1", 0, queued_app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/api/v1/documents/"
    start = threading.Barrier(6)
    responses: list[requests.Response] = []

    def send(index: int) -> None:
        start.wait()
        responses.append(
            requests.post(
                url,
                files={"file": (f"copy-{index}.txt", data)},
                headers=owner.headers,
                timeout=60,
            )
        )

    threads = [threading.Thread(target=send, args=(index,)) for index in range(6)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        server.shutdown()

    created = [response.json() for response in responses if response.status_code == 201]
    refused = [response.json() for response in responses if response.status_code == 409]
    assert len(created) == 1 and len(refused) == 5, [r.status_code for r in responses]
    assert {body["document_id"] for body in refused} == {created[0]["id"]}
    assert all(body["code"] == "duplicate_document" for body in refused)
    with kit.database.sessions() as session:
        documents = session.scalar(
            sa.select(sa.func.count()).where(
                Document.organization_id == owner.organization_id,
                Document.content_hash == hashlib.sha256(data).hexdigest(),
            )
        )
    assert documents == 1


# --- the migration that moves MEDIA_ROOT files in ------------------------------------------------


@pytest.fixture
def database_at_0008(empty_database: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(empty_database)
    migrate(engine, "upgrade", "0008")
    yield engine
    engine.dispose()


def legacy_upload(connection: sa.Connection, path: Path, data: bytes) -> tuple[str, str]:
    """An organization with one document uploaded the old way: its file at ``path``."""
    organization_id, document_id = uuid.uuid4(), uuid.uuid4()
    connection.execute(
        sa.text("INSERT INTO organizations (id, name) VALUES (:id, 'Legacy')"),
        {"id": organization_id},
    )
    connection.execute(
        sa.text(
            "INSERT INTO documents (id, organization_id, title, source, file_path, content_type,"
            " file_size, content_hash, status) VALUES (:id, :organization, 'Guide', 'guide.txt',"
            " :path, 'text/plain', :size, :digest, 'ready')"
        ),
        {
            "id": document_id,
            "organization": str(organization_id),
            "path": str(path),
            "size": len(data),
            "digest": hashlib.sha256(data).hexdigest(),
        },
    )
    connection.execute(
        sa.text(
            "INSERT INTO document_uploads (document_id, organization_id, original_filename)"
            " VALUES (:document, :organization, 'guide.txt')"
        ),
        {"document": document_id, "organization": organization_id},
    )
    return str(organization_id), str(document_id)


def test_the_migration_moves_uploaded_files_in_and_the_downgrade_writes_them_back(
    database_at_0008: sa.Engine, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = text_of_size(PART_SIZE + 500, "legacy upload")
    media = workdir / "media"
    (media / "org").mkdir(parents=True)
    path = media / "org" / "guide.txt"
    path.write_bytes(data)
    with database_at_0008.begin() as connection:
        organization, document_id = legacy_upload(connection, path, data)
        _, missing_id = legacy_upload(connection, media / "gone.txt", b"gone")

    migrate(database_at_0008, "upgrade", "head")
    with database_at_0008.connect() as connection:
        rows = connection.execute(sa.text("SELECT id::text, file_path FROM documents"))
        documents = {document: file_path for document, file_path in rows}
        stored = connection.execute(
            sa.select(StoredFilePart.data)
            .where(StoredFilePart.organization_id == organization)
            .order_by(StoredFilePart.number)
        ).scalars()
        moved = b"".join(stored)
        sizes = connection.execute(sa.select(StoredFile.size)).scalars().all()

    assert moved == data and sizes == [len(data)]
    assert documents == {document_id: None, missing_id: str(media / "gone.txt")}

    path.unlink()
    monkeypatch.setenv("MEDIA_ROOT", str(workdir / "restored"))
    migrate(database_at_0008, "downgrade", "0008")
    with database_at_0008.connect() as connection:
        written = connection.execute(
            sa.text("SELECT file_path FROM documents WHERE id = :id"), {"id": document_id}
        ).scalar_one()
        tables = set(sa.inspect(connection).get_table_names())

    assert written == str(workdir / "restored" / organization / f"{document_id}.txt")
    assert Path(written).read_bytes() == data
    assert "stored_files" not in tables and "stored_file_parts" not in tables
