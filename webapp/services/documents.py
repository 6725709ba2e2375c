"""Documents of an organization: rows in ragkit's ``documents`` table, uploads kept in the
database (:mod:`ragkit.files`), so any web process or worker can read them."""

from __future__ import annotations

import hashlib
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path, PureWindowsPath

import sqlalchemy as sa
from flask import current_app
from flask_smorest import abort
from werkzeug.datastructures import FileStorage

from ragkit import Chunk, Document, DocumentStatus, detect_content_type, files
from webapp.extensions import db
from webapp.models import DocumentUpload, Organization, User
from webapp.services.knowledge import knowledge_base
from webapp.services.pagination import Page, paginate
from webapp.services.processing import enqueue_processing

# Characters that change how a name reads without being part of it: controls, bidirectional
# overrides and isolates (U+202E shows "gpj.exe" as "exe.jpg"), zero-width and other format
# characters, line and paragraph separators, private-use and unassigned code points.
HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Co", "Cs", "Cn"})
MAX_NAME_LENGTH = 255


@dataclass(frozen=True)
class UploadedDocument:
    """A document with its upload fields (``upload`` is None for files ingested by the CLI)."""

    document: Document
    upload: DocumentUpload | None


def upload(
    organization: Organization, user: User, file: FileStorage, title: str | None, description: str
) -> UploadedDocument:
    """Store an uploaded file, record it as a ``pending`` document and start its processing.

    The file is read into memory once; its bytes go to the database a part at a time. Uploads
    of the same content to one organization take turns (:func:`ragkit.files.lock_content`), so
    of two at once the second finds the first's document and is a 409.
    """
    filename = display_name(file.filename)
    data = read_upload(file)
    content_type = detect_content_type(data, filename)
    digest = hashlib.sha256(data).hexdigest()
    files.lock_content(db.session, organization.namespace, digest)
    reject_duplicate(organization, digest)
    files.store(db.session, organization.namespace, digest, data)
    document_id = uuid.uuid4()
    document = Document(
        id=document_id,
        organization_id=organization.namespace,
        title=title or Path(filename).stem or filename,
        description=description,
        source=filename,
        file_path=None,
        content_type=content_type,
        file_size=len(data),
        content_hash=digest,
        status=DocumentStatus.PENDING,
    )
    record = DocumentUpload(
        document=document,
        organization_id=organization.id,
        uploaded_by_id=user.id,
        original_filename=filename,
    )
    db.session.add_all([document, record])
    db.session.commit()
    enqueue_processing(document_id)
    return UploadedDocument(document, record)


def display_name(filename: str | None) -> str:
    """A file name safe to show and to send in ``Content-Disposition``.

    No directory part (``/`` or ``\\``), no invisible or direction-changing characters, runs
    of spaces collapsed; a name left empty or made only of dots becomes ``upload``.
    """
    name = PureWindowsPath(filename or "").name
    visible = "".join(
        character
        for character in unicodedata.normalize("NFC", name)
        if unicodedata.category(character) not in HIDDEN_CATEGORIES
    )
    cleaned = " ".join(visible.split())[-MAX_NAME_LENGTH:].strip()
    return cleaned if cleaned.strip(".") else "upload"


def may_change(found: UploadedDocument, user: User) -> bool:
    """Whether ``user`` may rename or delete the document (see :func:`require_change_rights`)."""
    return user.is_owner or (found.upload is not None and found.upload.uploaded_by_id == user.id)


def require_change_rights(found: UploadedDocument, user: User) -> None:
    """Owners change any document; a member only the ones they uploaded (403 otherwise).

    Renaming and deleting follow this rule; reprocessing is for owners only.
    """
    if may_change(found, user):
        return
    abort(
        403,
        message="Only an owner, or the member who uploaded this document, can change or delete it.",
    )


def read_upload(file: FileStorage) -> bytes:
    limit = int(current_app.config["MAX_UPLOAD_MB"] * 1024 * 1024)
    data = file.stream.read(limit + 1)
    if len(data) > limit:
        abort(413, message=f"The file is larger than {current_app.config['MAX_UPLOAD_MB']} MB.")
    if not data:
        abort(422, message="The file is empty.", errors={"files": {"file": ["Empty file."]}})
    return data


def reject_duplicate(organization: Organization, digest: str) -> None:
    existing = db.session.execute(
        db.select(Document.id).where(
            Document.organization_id == organization.namespace, Document.content_hash == digest
        )
    ).scalar()
    if existing is not None:
        db.session.rollback()  # releases the content's lock at once
        abort(
            409,
            code="duplicate_document",
            message=f"This file is already uploaded as document {existing}.",
            document_id=str(existing),
        )


def _scoped(organization: Organization) -> sa.Select:
    return (
        db.select(Document, DocumentUpload)
        .outerjoin(DocumentUpload, DocumentUpload.document_id == Document.id)
        .where(Document.organization_id == organization.namespace)
    )


def find(organization: Organization, document_id: uuid.UUID) -> UploadedDocument:
    """The organization's document, or 404 (also when it belongs to another organization)."""
    row = db.session.execute(_scoped(organization).where(Document.id == document_id)).first()
    if row is None:
        abort(404, message=f"No document {document_id} in your organization.")
    return UploadedDocument(*row)


def search(
    organization: Organization, status: str | None, title: str | None, page: int, per_page: int
) -> Page:
    """A page of the organization's documents, newest first."""
    query = _scoped(organization)
    if status:
        query = query.where(Document.status == status)
    if title:
        query = query.where(Document.title.ilike(f"%{escape_like(title)}%", escape="\\"))
    newest_first = query.order_by(Document.created_at.desc(), Document.id)
    return paginate(newest_first, page, per_page, lambda row: UploadedDocument(*row))


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def chunks(document: Document, page: int, per_page: int) -> Page:
    query = db.select(Chunk).where(Chunk.document_id == document.id).order_by(Chunk.chunk_index)
    return paginate(query, page, per_page)


def update(found: UploadedDocument, changes: dict[str, str]) -> UploadedDocument:
    for field, value in changes.items():
        setattr(found.document, field, value)
    db.session.commit()
    return found


def delete(organization: Organization, document: Document) -> None:
    """Delete the document's chunks, vectors and row, and its stored bytes unless another
    document of the organization has the same content. A file the CLI ingested in place is
    left alone."""
    document_id = document.id
    db.session.rollback()  # release this session's connection before ragkit locks the row
    knowledge_base().delete_document(document_id, organization.namespace)


def reprocess(found: UploadedDocument) -> UploadedDocument:
    """Chunk and embed the document again from its stored file."""
    document_id = found.document.id
    db.session.commit()  # expires the rows, so the response shows the outcome
    enqueue_processing(document_id, force=True)
    return found


def find_many(organization: Organization, document_ids: list[uuid.UUID]) -> list[UploadedDocument]:
    """The organization's documents among ``document_ids`` (others' ids are left out)."""
    if not document_ids:
        return []
    rows = db.session.execute(_scoped(organization).where(Document.id.in_(document_ids))).all()
    return [UploadedDocument(*row) for row in rows]


def page_counts(document_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Pages of paged documents (PDFs): the highest page number among their chunks."""
    if not document_ids:
        return {}
    rows = db.session.execute(
        db.select(Chunk.document_id, sa.func.max(Chunk.page_number))
        .where(Chunk.document_id.in_(document_ids), Chunk.page_number.is_not(None))
        .group_by(Chunk.document_id)
    ).all()
    return {document_id: pages for document_id, pages in rows}
