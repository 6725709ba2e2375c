"""Local sentence-transformers models: what their files say, PyTorch and ONNX Runtime to run them.

A model in a local directory is read without loading it (:class:`ModelFiles`); PyTorch loads it
only when passages are embedded or its ONNX graph must be exported (:class:`SentenceModel`).
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ragkit.errors import ConfigurationError, EmbeddingError
from ragkit.onnx_embedding import (
    ONNX_BACKENDS,
    OnnxEncoder,
    batch_tokenizer,
    onnx_model_file,
    onnx_model_path,
    tokenizer_file,
)
from ragkit.settings import Settings

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

log = logging.getLogger(__name__)


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


def query_encoder(model: SentenceModel, files: ModelFiles, backend: str) -> QueryEncoder | None:
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
    # One thread per call: a web process embeds the questions of several requests at once, and
    # for one short text a thread pool only adds its synchronisation (its idle threads spin,
    # taking CPU from the other requests).
    encoder = OnnxEncoder(path, tokenizer, model.settings.embed_batch_size, threads=1)
    return QueryEncoder(encoder, backend)


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

        from ragkit.llama_embeddings import huggingface_class

        transformers_logging.disable_progress_bar()
        # Chunking measures whole pages in tokens; the "longer than 256" warning is expected.
        transformers_logging.set_verbosity_error()
        torch_backend = self.backend if self.backend.startswith("torch") else "torch"
        try:
            return huggingface_class(torch_backend)(
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
            dimensions=dimension_of(transformer),
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

    def onnx_embedding(self, files: ModelFiles) -> BaseEmbedding:
        """Passages embedded by ONNX Runtime (``RAGKIT_EMBED_BACKEND=onnx`` or ``onnx-int8``),
        in batches that use every core."""
        path = self.onnx_file(self.backend)
        tokenizer = batch_tokenizer(files.tokenizer, files.max_length)
        encoder = OnnxEncoder(path, tokenizer, self.settings.embed_batch_size)
        from ragkit.llama_embeddings import OnnxEmbedding

        return OnnxEmbedding(encoder, embed_batch_size=self.settings.embed_batch_size)


def dimension_of(transformer: Any) -> int:
    method = getattr(transformer, "get_embedding_dimension", None)
    method = method or transformer.get_sentence_embedding_dimension
    return int(method())
