"""Exceptions raised by ragkit. Every one of them derives from :class:`RagkitError`."""

from __future__ import annotations


class RagkitError(Exception):
    """Root of every error ragkit raises on purpose."""


class ConfigurationError(RagkitError):
    """A setting is missing, malformed or names something that does not exist."""


class DatabaseError(RagkitError):
    """The database could not be started, reached or migrated."""


class UnsupportedFileType(RagkitError):
    """The file's content is not one of the supported document types."""


class DocumentReadError(RagkitError):
    """A supported file could not be read (corrupt, encrypted, or without text)."""


class DocumentTooLarge(DocumentReadError):
    """A file exceeds a processing limit (size, unpacked size, rows, pages, text, memory, time)."""


class DocumentNotFound(RagkitError):
    """No document with that id exists in the organization."""


class DocumentChanged(RagkitError):
    """Another ingest stored a new version of the document while this one was prepared."""


class EmbeddingError(RagkitError):
    """The embedding model could not be loaded or failed to embed."""


class IndexNotReady(RagkitError):
    """The organization's vector index does not match the configured embedding model."""


class AnswerError(RagkitError):
    """The configured language model failed to produce an answer."""


class ReindexFailed(RagkitError):
    """Some documents of a reindex batch could not be reindexed."""
