"""A document's status through the stages: ``processing``, then ``ready`` or ``failed``."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy.orm import Session

from ragkit.errors import RagkitError
from ragkit.schema import Document, DocumentStatus


def mark_processing(document: Document) -> None:
    document.status = DocumentStatus.PROCESSING
    document.processing_error = None


def mark_ready(document: Document, chunk_count: int, digest: str, signature: str) -> None:
    """The document's stored chunks are those of the content ``digest`` under ``signature``."""
    document.status = DocumentStatus.READY
    document.chunk_count = chunk_count
    document.content_hash = digest
    document.pipeline_signature = signature
    document.processing_error = None


def mark_failed(session: Session, document: Document, reason: str) -> None:
    """Record ``reason`` on the document as ``failed`` and commit."""
    session.add(document)  # a document first recorded in the rolled-back transaction
    document.status = DocumentStatus.FAILED
    document.processing_error = reason
    session.commit()


@contextlib.contextmanager
def failing(session: Session, document: Document) -> Iterator[None]:
    """Record any error on the document as ``failed`` with its reason, then re-raise it."""
    try:
        yield
    except RagkitError as error:
        session.rollback()
        mark_failed(session, document, str(error))
        raise
    except Exception as error:
        session.rollback()
        mark_failed(session, document, f"processing failed: {error}")
        raise
