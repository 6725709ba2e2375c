"""What an upload adds to ragkit's ``Document``: who uploaded it, under which file name."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ragkit import Document, creation_time
from webapp.extensions import db


class DocumentUpload(db.Model):
    """The upload fields of a document; one row per document uploaded through the API."""

    __tablename__ = "document_uploads"

    document_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True
    )
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    uploaded_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    original_filename: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = creation_time()

    document: Mapped[Document] = relationship()
