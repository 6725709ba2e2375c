"""Uploaded files kept in PostgreSQL: one copy of each content per organization.

A file's bytes are rows of at most :data:`PART_SIZE` in ``stored_file_parts``, written and read
one part at a time, so a large file never needs a second whole copy in memory. A document whose
``file_path`` is empty reads its bytes from here, found by ``(organization_id, content_hash)``;
documents of one organization with the same content share them, and they are deleted with the
last such document. Nothing of an upload is then on any machine's disk: every process that can
reach the database can read it, and a ``pg_dump`` holds it.

Writing the bytes, recording their document and deleting the last document of a content take
the content's lock (:func:`lock_content`) first, so they happen one after the other.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from ragkit.schema import Base, Document

PART_SIZE = 1024 * 1024


class StoredFile(Base):
    """An uploaded content of an organization: its size; the bytes are its parts."""

    __tablename__ = "stored_files"

    organization_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    content_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    size: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
    )


class StoredFilePart(Base):
    """Bytes ``number * PART_SIZE`` onwards of a stored file (at most ``PART_SIZE`` of them)."""

    __tablename__ = "stored_file_parts"
    __table_args__ = (
        sa.ForeignKeyConstraint(
            ["organization_id", "content_hash"],
            ["stored_files.organization_id", "stored_files.content_hash"],
            ondelete="CASCADE",
        ),
    )

    organization_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    content_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    number: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(sa.LargeBinary, nullable=False)


def lock_content(session: Session, organization: str, content_hash: str) -> None:
    """Hold the lock of one content of an organization until the transaction ends."""
    key = sa.func.hashtextextended(f"{organization}/{content_hash}", 0)
    session.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))


def store(session: Session, organization: str, content_hash: str, data: bytes) -> bool:
    """Keep ``data`` as the organization's ``content_hash`` unless it is already kept.

    Call it holding :func:`lock_content`; the caller commits. Returns whether it was new.
    """
    new = session.execute(
        insert(StoredFile)
        .values(organization_id=organization, content_hash=content_hash, size=len(data))
        .on_conflict_do_nothing()
        .returning(StoredFile.size)
    ).first()
    if new is None:
        return False
    view = memoryview(data)
    for number, start in enumerate(range(0, len(view), PART_SIZE)):
        session.execute(
            sa.insert(StoredFilePart).values(
                organization_id=organization,
                content_hash=content_hash,
                number=number,
                data=view[start : start + PART_SIZE],
            )
        )
    return True


def find(session: Session, organization: str, content_hash: str) -> StoredFile | None:
    return session.get(StoredFile, (organization, content_hash))


def parts(engine: sa.Engine, organization: str, content_hash: str) -> Iterator[bytes]:
    """The stored bytes in order, each part read on a connection taken from the pool for it.

    Nothing is held between parts, so a slow reader (a download) keeps no connection busy.
    """
    for number in itertools.count():
        with engine.connect() as connection:
            part = connection.scalar(_part(organization, content_hash, number))
        if part is None:
            return
        yield part


def _part(organization: str, content_hash: str, number: int) -> sa.Select[tuple[bytes]]:
    return sa.select(StoredFilePart.data).where(
        StoredFilePart.organization_id == organization,
        StoredFilePart.content_hash == content_hash,
        StoredFilePart.number == number,
    )


@contextlib.contextmanager
def local_copy(session: Session, document: Document) -> Iterator[Path]:
    """A path to read the document's file at: its ``file_path``, or a temporary copy.

    A document without ``file_path`` has its bytes in the database; they are copied part by
    part to a temporary file, removed on leaving. Raises ``FileNotFoundError`` when neither
    exists.
    """
    if document.file_path is not None:
        yield Path(document.file_path)
        return
    stored = find(session, document.organization_id, document.content_hash)
    if stored is None:
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT))
    suffix = Path(document.source).suffix[:16]
    with tempfile.TemporaryDirectory(prefix="ragkit-file-") as folder:
        path = Path(folder) / f"{document.id}{suffix}"
        with path.open("wb") as copy:
            for number in range(-(-stored.size // PART_SIZE)):
                part = session.scalar(_part(stored.organization_id, stored.content_hash, number))
                if part is None:
                    raise FileNotFoundError(errno.ENOENT, f"part {number} of the file is missing")
                copy.write(part)
        yield path


def release(session: Session, document: Document) -> None:
    """After ``document`` is deleted (flushed), delete its bytes unless another document of
    the organization has the same content. The caller commits."""
    if document.file_path is not None:
        return
    organization, content_hash = document.organization_id, document.content_hash
    lock_content(session, organization, content_hash)
    shared = (
        sa.select(Document.id)
        .where(
            Document.organization_id == organization,
            Document.content_hash == content_hash,
            Document.file_path.is_(None),
        )
        .exists()
    )
    session.execute(
        sa.delete(StoredFile).where(
            StoredFile.organization_id == organization,
            StoredFile.content_hash == content_hash,
            ~shared,
        )
    )
