"""One settings object for the library, read from the environment once and passed explicitly."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import platformdirs

from ragkit.errors import ConfigurationError
from ragkit.limits import MB, DocumentLimits, parse_size

RetrievalMode = Literal["dense", "text", "hybrid"]
RETRIEVAL_MODES: tuple[RetrievalMode, ...] = ("dense", "text", "hybrid")
DEFAULT_EMBED_MODEL = "local:all-MiniLM-L6-v2"
#: How a local model runs: ``auto`` picks ``torch-bf16`` where the CPU computes in bfloat16
#: natively (same vectors to a cosine of 0.99998, about twice as fast) and ``torch`` elsewhere.
EMBED_BACKENDS = ("auto", "torch", "torch-bf16", "onnx", "onnx-int8")
# A question is one short text: ONNX Runtime embeds it several times faster than PyTorch, and
# without loading PyTorch at all. ``auto`` uses ``onnx`` for models the ONNX graph reproduces
# (mean-pooled, normalised sentence-transformers) and the passages' runtime otherwise; empty
# means the passages' runtime.
QUERY_BACKENDS = ("auto", "onnx", "onnx-int8")
_LIMITS = DocumentLimits()


@dataclasses.dataclass(frozen=True)
class Settings:
    """Configuration of a :class:`~ragkit.RagKit`.

    Every field has an environment variable (see :data:`ENVIRONMENT`); build one with
    :meth:`from_env` and adjust it with :meth:`replace`.
    """

    database_url: str | None = None
    home: Path = dataclasses.field(
        default_factory=lambda: Path(platformdirs.user_data_dir("ragkit"))
    )
    organization: str = "default"
    embed_model: str = DEFAULT_EMBED_MODEL
    embed_dim: int | None = None
    embed_batch_size: int = 64
    embed_backend: str = "auto"
    query_backend: str = "auto"
    model_cache: Path | None = None
    chunk_size: int = 200
    chunk_overlap: int = 30
    top_k: int = 5
    retrieval_mode: RetrievalMode = "hybrid"
    dense_weight: float = 0.5
    candidate_k: int = 100
    hnsw_ef_search: int = 100
    text_search_config: str = "english"
    detect_languages: bool = True
    abstain_threshold: float = 0.35
    answerable_threshold: float = 0.46
    llm: str = ""
    llm_model: str = ""
    llm_base_url: str = ""
    llm_api_key: str = ""
    llm_timeout: float = 60.0
    max_file_size: int = _LIMITS.file_size
    max_unpacked_size: int = _LIMITS.unpacked_size
    max_compression_ratio: float = _LIMITS.compression_ratio
    max_rows: int = _LIMITS.rows
    max_pages: int = _LIMITS.pages
    max_text_chars: int = _LIMITS.text_chars
    #: Memory a worker's job process may take beyond what it shares with its worker (the model).
    job_memory: int = 2048 * MB

    def __post_init__(self) -> None:
        if self.retrieval_mode not in RETRIEVAL_MODES:
            raise ConfigurationError(
                f"retrieval mode must be one of {', '.join(RETRIEVAL_MODES)}, "
                f"not {self.retrieval_mode!r}"
            )
        if self.chunk_size < 32:
            raise ConfigurationError(
                f"chunk size must be at least 32 tokens, not {self.chunk_size}"
            )
        if not 0 <= self.chunk_overlap < self.chunk_size:
            raise ConfigurationError("chunk overlap must be >= 0 and smaller than the chunk size")
        if self.top_k < 1 or self.candidate_k < 1:
            raise ConfigurationError("top-k and candidate-k must be positive")
        if not 0.0 <= self.dense_weight <= 1.0:
            raise ConfigurationError("dense weight must be between 0 and 1")
        if self.embed_backend not in EMBED_BACKENDS:
            raise ConfigurationError(
                f"RAGKIT_EMBED_BACKEND must be one of {', '.join(EMBED_BACKENDS)}, "
                f"not {self.embed_backend!r}"
            )
        if self.query_backend not in ("", *QUERY_BACKENDS):
            raise ConfigurationError(
                f"RAGKIT_QUERY_BACKEND must be empty (as RAGKIT_EMBED_BACKEND) or one of "
                f"{', '.join(QUERY_BACKENDS)}, not {self.query_backend!r}"
            )
        if self.llm not in ("", "openai", "openai-like", "ollama"):
            raise ConfigurationError(
                f"RAGKIT_LLM must be empty (extractive answers), 'openai-like' or 'ollama', "
                f"not {self.llm!r}"
            )
        if self.llm and not self.llm_model:
            raise ConfigurationError("RAGKIT_LLM is set, so RAGKIT_LLM_MODEL must name a model")
        for name in LIMIT_FIELDS:
            if getattr(self, name) <= 0:
                variable = ENVIRONMENT[name][0]
                raise ConfigurationError(f"{variable} must be positive, not {getattr(self, name)}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read every setting from ``environ`` (default: ``os.environ``), then apply overrides."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field_name, (variable, convert) in ENVIRONMENT.items():
            raw = env.get(variable)
            if raw is None or raw == "":
                continue
            try:
                values[field_name] = convert(raw)
            except ValueError as error:
                raise ConfigurationError(f"{variable}={raw!r} is not valid: {error}") from error
        if "llm_api_key" not in values and env.get("OPENAI_API_KEY"):
            values["llm_api_key"] = env["OPENAI_API_KEY"]
        values.update({key: value for key, value in overrides.items() if value is not None})
        return cls(**values)

    def replace(self, **changes: Any) -> Settings:
        """Return a copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    @property
    def limits(self) -> DocumentLimits:
        """The limits each document is read within."""
        return DocumentLimits(
            file_size=self.max_file_size,
            unpacked_size=self.max_unpacked_size,
            compression_ratio=self.max_compression_ratio,
            rows=self.max_rows,
            pages=self.max_pages,
            text_chars=self.max_text_chars,
        )

    @property
    def models_dir(self) -> Path:
        """Where exported model files are cached (``RAGKIT_MODEL_CACHE``, else ``home/models``)."""
        return self.model_cache or self.home / "models"

    @property
    def pipeline_signature(self) -> str:
        """What decides a document's chunks: a change here means re-chunking."""
        signature = (
            f"chunk={self.chunk_size}/{self.chunk_overlap};tsconfig={self.text_search_config}"
        )
        return signature + (";languages=detected" if self.detect_languages else "")


def _mode(raw: str) -> str:
    return raw.strip().lower()


def _flag(raw: str) -> bool:
    value = raw.strip().lower()
    if value not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
        raise ValueError("use true or false")
    return value in ("1", "true", "yes", "on")


ENVIRONMENT: dict[str, tuple[str, Any]] = {
    "database_url": ("DATABASE_URL", str),
    "home": ("RAGKIT_HOME", lambda raw: Path(raw).expanduser()),
    "organization": ("RAGKIT_ORG", str),
    "embed_model": ("RAGKIT_EMBED_MODEL", str),
    "embed_dim": ("RAGKIT_EMBED_DIM", int),
    "embed_batch_size": ("RAGKIT_EMBED_BATCH_SIZE", int),
    "embed_backend": ("RAGKIT_EMBED_BACKEND", _mode),
    "query_backend": ("RAGKIT_QUERY_BACKEND", _mode),
    "model_cache": ("RAGKIT_MODEL_CACHE", lambda raw: Path(raw).expanduser()),
    "chunk_size": ("RAGKIT_CHUNK_SIZE", int),
    "chunk_overlap": ("RAGKIT_CHUNK_OVERLAP", int),
    "top_k": ("RAGKIT_TOP_K", int),
    "retrieval_mode": ("RAGKIT_RETRIEVAL_MODE", _mode),
    "dense_weight": ("RAGKIT_DENSE_WEIGHT", float),
    "candidate_k": ("RAGKIT_CANDIDATE_K", int),
    "hnsw_ef_search": ("RAGKIT_HNSW_EF_SEARCH", int),
    "text_search_config": ("RAGKIT_TEXT_SEARCH_CONFIG", str),
    "detect_languages": ("RAGKIT_DETECT_LANGUAGES", _flag),
    "abstain_threshold": ("RAGKIT_ABSTAIN_THRESHOLD", float),
    "answerable_threshold": ("RAGKIT_ANSWERABLE_THRESHOLD", float),
    "llm": ("RAGKIT_LLM", _mode),
    "llm_model": ("RAGKIT_LLM_MODEL", str),
    "llm_base_url": ("RAGKIT_LLM_BASE_URL", str),
    "llm_api_key": ("RAGKIT_LLM_API_KEY", str),
    "llm_timeout": ("RAGKIT_LLM_TIMEOUT", float),
    "max_file_size": ("RAGKIT_MAX_FILE_SIZE", parse_size),
    "max_unpacked_size": ("RAGKIT_MAX_UNPACKED_SIZE", parse_size),
    "max_compression_ratio": ("RAGKIT_MAX_COMPRESSION_RATIO", float),
    "max_rows": ("RAGKIT_MAX_ROWS", int),
    "max_pages": ("RAGKIT_MAX_PAGES", int),
    "max_text_chars": ("RAGKIT_MAX_TEXT_CHARS", int),
    "job_memory": ("RAGKIT_JOB_MEMORY", parse_size),
}
LIMIT_FIELDS = (
    "max_file_size",
    "max_unpacked_size",
    "max_compression_ratio",
    "max_rows",
    "max_pages",
    "max_text_chars",
    "job_memory",
)
