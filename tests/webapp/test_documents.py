"""Uploads (type and size checks, duplicates), listing, reading, editing, deleting documents."""

from __future__ import annotations

import hashlib
import io
import unicodedata
from pathlib import Path
from urllib.parse import unquote

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from ragkit import RagKit
from ragkit.files import StoredFile
from tests.fixtures import Account, AuthActions, Library


def stored_files(kit: RagKit, organization: str) -> dict[str, int]:
    """The organization's file contents kept in the database: content hash -> size."""
    with kit.database.sessions() as session:
        rows = session.execute(
            sa.select(StoredFile.content_hash, StoredFile.size).where(
                StoredFile.organization_id == organization
            )
        )
        return {content_hash: size for content_hash, size in rows}


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
    client: FlaskClient, owner: Account, upload, example_docs: Path, app, kit: RagKit
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
    assert stored_files(kit, owner.organization_id) == {
        document["content_hash"]: len(path.read_bytes())
    }
    assert not any(Path(app.config["MEDIA_ROOT"]).rglob("*.pdf"))


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
    assert stored_files(kit, owner.organization_id) == {}


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


# --- who may change a document ------------------------------------------------------------------


@pytest.fixture
def member(auth: AuthActions, owner: Account) -> Account:
    return auth.invite(owner)


def test_members_rename_and_delete_only_what_they_uploaded(
    client: FlaskClient, owner: Account, member: Account, upload, release_notes: dict, workdir
) -> None:
    own_file = workdir / "member-notes.txt"
    own_file.write_text("Notes the member wrote about sync settings.")
    own = upload(member, own_file).json
    theirs = f"/api/v1/documents/{release_notes['id']}"
    mine = f"/api/v1/documents/{own['id']}"

    refused_rename = client.patch(theirs, json={"title": "mine now"}, headers=member.headers)
    refused_delete = client.delete(theirs, headers=member.headers)
    renamed = client.patch(mine, json={"title": "Sync notes"}, headers=member.headers)
    deleted = client.delete(mine, headers=member.headers)

    for refused in (refused_rename, refused_delete):
        assert refused.status_code == 403
        assert refused.json["code"] == "forbidden"
        assert "uploaded" in refused.json["message"]
    assert client.get(theirs, headers=owner.headers).json["title"] == "Release notes"
    assert renamed.status_code == 200 and renamed.json["title"] == "Sync notes"
    assert deleted.status_code == 204
    assert client.get(mine, headers=owner.headers).status_code == 404


def test_owners_rename_and_delete_what_members_uploaded(
    client: FlaskClient, owner: Account, member: Account, upload, workdir
) -> None:
    path = workdir / "member-faq.txt"
    path.write_text("The member's answers about billing.")
    url = f"/api/v1/documents/{upload(member, path).json['id']}"

    assert client.patch(url, json={"title": "Billing"}, headers=owner.headers).status_code == 200
    assert client.delete(url, headers=owner.headers).status_code == 204


def test_members_cannot_reprocess_even_their_own_uploads(
    client: FlaskClient, member: Account, upload, workdir
) -> None:
    path = workdir / "member-reprocess.txt"
    path.write_text("A member's notes on offline mode.")
    document = upload(member, path).json

    response = client.post(f"/api/v1/documents/{document['id']}/reprocess", headers=member.headers)

    assert response.status_code == 403


def test_the_console_applies_the_same_rule_to_deleting(
    app, client: FlaskClient, owner: Account, member: Account, release_notes: dict
) -> None:
    from tests.webapp.console_helpers import post_form, sign_in

    console = app.test_client()
    sign_in(console, member)

    response = post_form(console, f"/console/documents/{release_notes['id']}/delete")

    assert response.status_code == 403
    url = f"/api/v1/documents/{release_notes['id']}"
    assert client.get(url, headers=owner.headers).status_code == 200


# --- file names shown and sent back -------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "shown"),
    [
        ("invoice\u202ecod.txt", "invoicecod.txt"),  # would read "invoicetxt.doc"
        # Backslashes escaped as the multipart header's quoted string needs: the app gets \\.
        (r"..\\..\\windows\\notes.txt", "notes.txt"),
        ("/etc/passwd/../plans.txt", "plans.txt"),
        ("tab\there\u200b and\u2028line.txt", "tabhere andline.txt"),
        ("\u2066isolated\u2069 name.txt", "isolated name.txt"),
        ("..", "upload"),
        ("  spaced   out  .txt", "spaced out .txt"),
    ],
)
def test_file_names_are_cleaned_for_display_and_download(
    client: FlaskClient, owner: Account, sent: str, shown: str
) -> None:
    uploaded = client.post(
        "/api/v1/documents/",
        data={"file": (io.BytesIO(f"Contents of {shown}.".encode()), sent)},
        headers=owner.headers,
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 201, uploaded.json

    listed = client.get("/api/v1/documents/", headers=owner.headers).json["items"][0]
    download = client.get(f"/api/v1/documents/{listed['id']}/file", headers=owner.headers)

    assert uploaded.json["filename"] == listed["filename"] == shown
    disposition = unquote(download.headers["Content-Disposition"])
    assert shown in disposition
    assert not any(unicodedata.category(character)[0] == "C" for character in disposition)
