"""Uploads (type and size checks, duplicates), listing, reading, editing, deleting documents."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from tests.webapp.conftest import Account, AuthActions, Library


@pytest.fixture
def release_notes(client: FlaskClient, owner: Account, upload, example_docs: Path) -> dict:
    """The release notes, uploaded by ``owner`` for a test that changes them."""
    response = upload(owner, example_docs / "release-notes.txt", title="Release notes")
    assert response.status_code == 201, response.json
    return response.json


@pytest.fixture
def shared_notes(library: Library) -> dict:
    """The release notes of the session's library organization: for tests that only read."""
    return library.documents["release-notes.txt"]


def test_upload_stores_and_processes_the_file(
    client: FlaskClient, owner: Account, upload, example_docs: Path, app
) -> None:
    path = example_docs / "troubleshooting.pdf"

    response = upload(owner, path, description="Error codes")

    assert response.status_code == 201
    document = response.json
    assert document["title"] == "troubleshooting"
    assert document["description"] == "Error codes"
    assert document["filename"] == "troubleshooting.pdf"
    assert document["content_type"] == "application/pdf"
    assert document["file_size"] == path.stat().st_size
    assert document["content_hash"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert document["status"] == "ready"
    assert document["chunk_count"] > 0
    assert document["uploaded_by"] == owner.user_id
    stored = list(Path(app.config["MEDIA_ROOT"], owner.organization_id).iterdir())
    assert [file.name for file in stored] == [f"{document['id']}.pdf"]


def test_uploading_the_same_content_again_is_a_conflict_naming_the_original(
    client: FlaskClient, library: Library, upload, example_docs: Path, shared_notes: dict
) -> None:
    response = upload(library.account, example_docs / "release-notes.txt", title="Copy")

    assert response.status_code == 409
    assert response.json["code"] == "duplicate_document"
    assert response.json["document_id"] == shared_notes["id"]


def test_the_same_content_in_another_organization_is_a_new_document(
    client: FlaskClient, owner: Account, upload, example_docs: Path, shared_notes: dict
) -> None:
    response = upload(owner, example_docs / "release-notes.txt")

    assert response.status_code == 201
    assert response.json["id"] != shared_notes["id"]


def test_a_file_over_the_upload_limit_is_413(
    client: FlaskClient, owner: Account, upload, workdir: Path
) -> None:
    big = workdir / "big.txt"
    big.write_text("support answer. " * 80_000)  # 1.3 MB, over the 1 MB test limit

    response = upload(owner, big)

    assert response.status_code == 413
    assert response.json["code"] == "request_entity_too_large"


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("manual.pdf", b"this is plain text pretending to be a PDF"),
        ("notes.txt", b"%PDF-1.7 binary pdf content with a text name"),
        ("program.exe", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"),
        ("archive.docx", b"PK\x03\x04 a zip that is not a word document"),
    ],
)
def test_content_that_is_not_an_allowed_type_is_415(
    client: FlaskClient, owner: Account, upload, workdir: Path, name: str, content: bytes
) -> None:
    path = workdir / name
    path.write_bytes(content)

    response = upload(owner, path)

    assert response.status_code == 415, response.json
    assert response.json["code"] == "unsupported_media_type"


def test_an_upload_without_a_file_is_422(client: FlaskClient, owner: Account) -> None:
    response = client.post(
        "/api/v1/documents/",
        data={"title": "nothing"},
        headers=owner.headers,
        content_type="multipart/form-data",
    )

    assert response.status_code == 422
    assert "file" in response.json["errors"]["files"]


def test_an_empty_file_is_422(client: FlaskClient, owner: Account, upload, workdir: Path) -> None:
    (workdir / "empty.txt").write_bytes(b"")

    assert upload(owner, workdir / "empty.txt").status_code == 422


def test_list_paginates_filters_and_searches(
    client: FlaskClient, owner: Account, upload, example_docs: Path
) -> None:
    for name in ("faq.md", "plans.csv", "release-notes.txt"):
        assert upload(owner, example_docs / name).status_code == 201

    first = client.get("/api/v1/documents/?per_page=2", headers=owner.headers).json
    second = client.get("/api/v1/documents/?per_page=2&page=2", headers=owner.headers).json
    ready = client.get("/api/v1/documents/?status=ready", headers=owner.headers).json
    found = client.get("/api/v1/documents/?q=PLAN", headers=owner.headers).json

    assert first["total"] == 3 and len(first["items"]) == 2 and len(second["items"]) == 1
    assert ready["total"] == 3
    assert [document["filename"] for document in found["items"]] == ["plans.csv"]


@pytest.mark.parametrize("query", ["status=done", "page=0", "per_page=1000", "per_page=many"])
def test_invalid_list_parameters_are_422(client: FlaskClient, owner: Account, query: str) -> None:
    response = client.get(f"/api/v1/documents/?{query}", headers=owner.headers)

    assert response.status_code == 422


def test_get_shows_status_and_processing_details(
    client: FlaskClient, library: Library, shared_notes: dict
) -> None:
    response = client.get(
        f"/api/v1/documents/{shared_notes['id']}", headers=library.account.headers
    )

    assert response.status_code == 200
    assert response.json == shared_notes | {"updated_at": response.json["updated_at"]}


def test_a_document_that_cannot_be_read_is_failed_with_the_reason(
    client: FlaskClient, owner: Account, upload, workdir: Path
) -> None:
    (workdir / "blank.txt").write_text("   \n\n   ")

    response = upload(owner, workdir / "blank.txt")

    assert response.status_code == 201
    assert response.json["status"] == "failed"
    assert response.json["processing_error"]


def test_patch_changes_title_and_description(
    client: FlaskClient, owner: Account, release_notes: dict
) -> None:
    url = f"/api/v1/documents/{release_notes['id']}"

    response = client.patch(
        url, json={"title": "What's new", "description": "2.x"}, headers=owner.headers
    )

    assert response.status_code == 200
    assert (response.json["title"], response.json["description"]) == ("What's new", "2.x")
    assert client.get(url, headers=owner.headers).json["title"] == "What's new"


def test_patch_rejects_an_empty_title(
    client: FlaskClient, library: Library, shared_notes: dict
) -> None:
    response = client.patch(
        f"/api/v1/documents/{shared_notes['id']}",
        json={"title": ""},
        headers=library.account.headers,
    )

    assert response.status_code == 422


def test_chunks_are_listed_in_order(
    client: FlaskClient, library: Library, shared_notes: dict
) -> None:
    response = client.get(
        f"/api/v1/documents/{shared_notes['id']}/chunks?per_page=100",
        headers=library.account.headers,
    )

    assert response.status_code == 200
    indexes = [chunk["chunk_index"] for chunk in response.json["items"]]
    assert indexes == sorted(indexes) and len(indexes) == shared_notes["chunk_count"]
    assert all(chunk["content"] for chunk in response.json["items"])


def test_file_downloads_the_original_bytes(
    client: FlaskClient, library: Library, shared_notes: dict, example_docs: Path
) -> None:
    response = client.get(
        f"/api/v1/documents/{shared_notes['id']}/file", headers=library.account.headers
    )

    assert response.status_code == 200
    assert response.data == (example_docs / "release-notes.txt").read_bytes()
    assert "release-notes.txt" in response.headers["Content-Disposition"]
    assert response.mimetype == "text/plain"


def test_delete_removes_the_document_its_chunks_and_file(
    client: FlaskClient, owner: Account, release_notes: dict, app, kit
) -> None:
    url = f"/api/v1/documents/{release_notes['id']}"

    assert client.delete(url, headers=owner.headers).status_code == 204

    assert client.get(url, headers=owner.headers).status_code == 404
    assert kit.status(owner.organization_id).chunks == 0
    assert not any(Path(app.config["MEDIA_ROOT"], owner.organization_id).iterdir())


def test_owners_can_reprocess_and_members_cannot(
    client: FlaskClient, auth: AuthActions, owner: Account, release_notes: dict
) -> None:
    url = f"/api/v1/documents/{release_notes['id']}/reprocess"
    member = auth.invite(owner)

    assert client.post(url, headers=member.headers).status_code == 403
    response = client.post(url, headers=owner.headers)
    assert response.status_code == 202
    assert response.json["status"] == "ready"


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("get", ""),
        ("patch", ""),
        ("delete", ""),
        ("get", "/chunks"),
        ("get", "/file"),
        ("post", "/reprocess"),
    ],
)
def test_another_organizations_document_is_404(
    client: FlaskClient,
    other_owner: Account,
    shared_notes: dict,
    method: str,
    suffix: str,
) -> None:
    url = f"/api/v1/documents/{shared_notes['id']}{suffix}"

    response = getattr(client, method)(url, json={"title": "mine"}, headers=other_owner.headers)

    assert response.status_code == 404
    assert response.json["code"] == "not_found"


def test_another_organizations_documents_are_not_listed(
    client: FlaskClient, other_owner: Account, shared_notes: dict
) -> None:
    response = client.get("/api/v1/documents/", headers=other_owner.headers)

    assert response.json["total"] == 0


@pytest.mark.parametrize(
    "document_id", ["not-a-uuid", "1234", "00000000-0000-0000-0000-000000000000"]
)
def test_unknown_or_malformed_ids_are_404(
    client: FlaskClient, owner: Account, document_id: str
) -> None:
    response = client.get(f"/api/v1/documents/{document_id}", headers=owner.headers)

    assert response.status_code == 404
    assert response.is_json
