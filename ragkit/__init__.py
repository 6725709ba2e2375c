"""ragkit: a customer-support knowledge base with cited answers, on PostgreSQL + pgvector."""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ragkit.answer import (
        ABSTENTION,
        Answer,
        AnswerEvent,
        Citation,
        Delta,
        Done,
        Retrieved,
        Turn,
        final_answer,
    )
    from ragkit.corpus import CorpusStats
    from ragkit.database import Database, engine_options, normalise_url, start_embedded
    from ragkit.embeddings import EmbeddingModel
    from ragkit.envfile import load_env_file
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
    from ragkit.languages import load_detector
    from ragkit.limits import megabytes
    from ragkit.migrate import MIGRATIONS_DIR, alembic_config
    from ragkit.readers import (
        CSV,
        DOCX,
        HTML,
        MARKDOWN,
        PDF,
        SUPPORTED_EXTENSIONS,
        TEXT,
        detect_content_type,
        extract_title,
    )
    from ragkit.reindex import (
        ReindexProgress,
        finish_run,
        plan_reindex,
        reindex_batch,
        reindex_progress,
    )
    from ragkit.retrieve import RetrievedChunk, Retriever, SearchOptions
    from ragkit.schema import (
        Base,
        Chunk,
        Document,
        DocumentStatus,
        ReindexRun,
        creation_time,
        update_time,
    )
    from ragkit.settings import DEFAULT_EMBED_MODEL, RETRIEVAL_MODES, Settings

# Where each public name lives. They are imported on first use, so that ``ragkit --help`` and
# the modules that need only settings or errors do not load PyTorch and LlamaIndex.
_HOMES = {
    **dict.fromkeys(
        (
            "ABSTENTION",
            "Answer",
            "AnswerEvent",
            "Citation",
            "Delta",
            "Done",
            "Retrieved",
            "Turn",
            "final_answer",
        ),
        "ragkit.answer",
    ),
    "CorpusStats": "ragkit.corpus",
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
    **dict.fromkeys(("RetrievedChunk", "Retriever", "SearchOptions"), "ragkit.retrieve"),
    **dict.fromkeys(("Base", "Chunk", "Document", "DocumentStatus"), "ragkit.schema"),
    "Settings": "ragkit.settings",
    "load_detector": "ragkit.languages",
    **dict.fromkeys(
        ("Database", "engine_options", "normalise_url", "start_embedded"), "ragkit.database"
    ),
    **dict.fromkeys(("EmbeddingModel",), "ragkit.embeddings"),
    **dict.fromkeys(("load_env_file",), "ragkit.envfile"),
    **dict.fromkeys(("megabytes",), "ragkit.limits"),
    **dict.fromkeys(("MIGRATIONS_DIR", "alembic_config"), "ragkit.migrate"),
    **dict.fromkeys(
        (
            "CSV",
            "DOCX",
            "HTML",
            "MARKDOWN",
            "PDF",
            "SUPPORTED_EXTENSIONS",
            "TEXT",
            "detect_content_type",
            "extract_title",
        ),
        "ragkit.readers",
    ),
    **dict.fromkeys(
        ("ReindexProgress", "finish_run", "plan_reindex", "reindex_batch", "reindex_progress"),
        "ragkit.reindex",
    ),
    **dict.fromkeys(("ReindexRun", "creation_time", "update_time"), "ragkit.schema"),
    **dict.fromkeys(("DEFAULT_EMBED_MODEL", "RETRIEVAL_MODES"), "ragkit.settings"),
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
    "CSV",
    "DEFAULT_EMBED_MODEL",
    "DOCX",
    "HTML",
    "MARKDOWN",
    "MIGRATIONS_DIR",
    "PDF",
    "RETRIEVAL_MODES",
    "SUPPORTED_EXTENSIONS",
    "TEXT",
    "Answer",
    "AnswerError",
    "AnswerEvent",
    "Base",
    "Chunk",
    "Citation",
    "ConfigurationError",
    "CorpusStats",
    "Database",
    "DatabaseError",
    "Delta",
    "Document",
    "DocumentChanged",
    "DocumentNotFound",
    "DocumentReadError",
    "DocumentStatus",
    "DocumentTooLarge",
    "Done",
    "EmbeddingError",
    "EmbeddingModel",
    "IndexNotReady",
    "IngestReport",
    "IngestResult",
    "RagKit",
    "RagkitError",
    "ReindexFailed",
    "ReindexProgress",
    "ReindexRun",
    "Retrieved",
    "RetrievedChunk",
    "Retriever",
    "SearchOptions",
    "Settings",
    "Status",
    "Turn",
    "UnsupportedFileType",
    "alembic_config",
    "creation_time",
    "detect_content_type",
    "engine_options",
    "extract_title",
    "final_answer",
    "finish_run",
    "load_detector",
    "load_env_file",
    "megabytes",
    "normalise_url",
    "plan_reindex",
    "reindex_batch",
    "reindex_progress",
    "start_embedded",
    "update_time",
]
__version__ = "0.1.0"
