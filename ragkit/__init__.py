"""ragkit: a customer-support knowledge base with cited answers, on PostgreSQL + pgvector."""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ragkit.answer import ABSTENTION, Answer, Citation, Turn
    from ragkit.errors import (
        AnswerError,
        ConfigurationError,
        DatabaseError,
        DocumentChanged,
        DocumentNotFound,
        DocumentReadError,
        DocumentTooLarge,
        EmbeddingError,
        IndexNotReady,
        RagkitError,
        ReindexFailed,
        UnsupportedFileType,
    )
    from ragkit.ingest import IngestReport, IngestResult
    from ragkit.kit import RagKit, Status
    from ragkit.retrieve import RetrievedChunk
    from ragkit.schema import Base, Chunk, Document, DocumentStatus
    from ragkit.settings import Settings

# Where each public name lives. They are imported on first use, so that ``ragkit --help`` and
# the modules that need only settings or errors do not load PyTorch and LlamaIndex.
_HOMES = {
    **dict.fromkeys(("ABSTENTION", "Answer", "Citation", "Turn"), "ragkit.answer"),
    **dict.fromkeys(
        (
            "AnswerError",
            "ConfigurationError",
            "DatabaseError",
            "DocumentChanged",
            "DocumentNotFound",
            "DocumentReadError",
            "DocumentTooLarge",
            "EmbeddingError",
            "IndexNotReady",
            "RagkitError",
            "ReindexFailed",
            "UnsupportedFileType",
        ),
        "ragkit.errors",
    ),
    **dict.fromkeys(("IngestReport", "IngestResult"), "ragkit.ingest"),
    **dict.fromkeys(("RagKit", "Status"), "ragkit.kit"),
    "RetrievedChunk": "ragkit.retrieve",
    **dict.fromkeys(("Base", "Chunk", "Document", "DocumentStatus"), "ragkit.schema"),
    "Settings": "ragkit.settings",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'ragkit' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(_HOMES[name]), name)
    globals()[name] = value
    return value


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
    "DocumentChanged",
    "DocumentNotFound",
    "DocumentReadError",
    "DocumentStatus",
    "DocumentTooLarge",
    "EmbeddingError",
    "IndexNotReady",
    "IngestReport",
    "IngestResult",
    "RagKit",
    "RagkitError",
    "ReindexFailed",
    "RetrievedChunk",
    "Settings",
    "Status",
    "Turn",
    "UnsupportedFileType",
]
__version__ = "0.1.0"
