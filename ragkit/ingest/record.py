"""The CLI's upload: a file on disk recorded as a ``pending`` document, before any stage runs.

As an upload records its document before a worker processes it, ``ragkit ingest`` first
creates (or updates) the file's document, found by its absolute path; processing then takes
the worker's path. The document's ``file_path`` is the file itself: the CLI ingests in place,
its bytes are not copied into the database.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ragkit.errors import DocumentTooLarge, RagkitError
from ragkit.ingest.prepare import FileContent, Preparer
from ragkit.ingest.results import IngestResult, Outcome
from ragkit.ingest.sources import file_digest, title_from_path
from ragkit.limits import DocumentLimits
from ragkit.readers import detect_content_type
from ragkit.schema import Document, DocumentStatus


@dataclass(frozen=True)
class RecordedFile:
    """A file's document, recorded ``pending``: new (``added``) or a new version (``updated``)."""

    document_id: uuid.UUID
    outcome: Outcome


def record_file(
    preparer: Preparer, path: Path, organization: str, *, title: str | None = None
) -> RecordedFile | IngestResult:
    """Record the file's document, unless the stored version is current (``unchanged``) or the
    file cannot be read or is of no supported type (``failed``); commit."""
    content = read_file(path, preparer.settings.limits)
    if isinstance(content, IngestResult):
        return content
    try:
        content_type = detect_content_type(content.data, path.name)
    except RagkitError as error:
        return IngestResult.failure(path, str(error))
    source = str(path.resolve())
    with preparer.database.sessions() as session:
        document = _document_of(session, organization, source)
        index = preparer.index_for(session, organization)
        if document is not None and preparer.is_current(document, content.digest, index):
            session.commit()
            return IngestResult(str(path), Outcome.UNCHANGED, document.id)
        outcome = Outcome.ADDED if document is None else Outcome.UPDATED
        if document is None:
            document = Document(id=uuid.uuid4(), organization_id=organization, source=source)
            session.add(document)
        document.title = title or document.title or title_from_path(path)
        document.file_path = source
        document.content_type = content_type
        document.file_size = len(content.data)
        document.content_hash = content.digest
        document.status = DocumentStatus.PENDING
        document.processing_error = None
        session.commit()
        return RecordedFile(document.id, outcome)


def read_file(path: Path, limits: DocumentLimits) -> FileContent | IngestResult:
    """The file's bytes within the size limit, or why they cannot be read."""
    try:
        limits.check_file_size(path.stat().st_size)
        data = path.read_bytes()
    except OSError as error:
        return IngestResult.failure(path, f"{path}: {error.strerror or error}")
    except DocumentTooLarge as error:
        return IngestResult.failure(path, f"{path.name}: {error}")
    return FileContent(path, data, file_digest(data))


def _document_of(session: Session, organization: str, source: str) -> Document | None:
    """The organization's (first) document of the file at ``source``."""
    return session.scalars(
        sa.select(Document)
        .where(Document.organization_id == organization, Document.source == source)
        .order_by(Document.created_at)
    ).first()
