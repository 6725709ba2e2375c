"""ragkit: a customer-support knowledge base with cited answers, on PostgreSQL + pgvector."""

from ragkit.answer import ABSTENTION, Answer, Citation, Turn
from ragkit.errors import (
    AnswerError,
    ConfigurationError,
    DatabaseError,
    DocumentNotFound,
    DocumentReadError,
    EmbeddingError,
    IndexNotReady,
    RagkitError,
    UnsupportedFileType,
)
from ragkit.ingest import IngestReport, IngestResult
from ragkit.kit import RagKit, Status
from ragkit.retrieve import RetrievedChunk
from ragkit.schema import Base, Chunk, Document, DocumentStatus
from ragkit.settings import Settings

__all__ = [
    "ABSTENTION",
    "Answer",
    "AnswerError",
    "Base",
    "Chunk",
    "Citation",
    "ConfigurationError",
    "DatabaseError",
    "Document",
    "DocumentNotFound",
    "DocumentReadError",
    "DocumentStatus",
    "EmbeddingError",
    "IndexNotReady",
    "IngestReport",
    "IngestResult",
    "RagKit",
    "RagkitError",
    "RetrievedChunk",
    "Settings",
    "Status",
    "Turn",
    "UnsupportedFileType",
]
__version__ = "0.1.0"
