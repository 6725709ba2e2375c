"""The LlamaIndex embedding classes ragkit adds: ONNX Runtime, and PyTorch in bfloat16.

Imported only when passages are embedded, so answering questions never loads LlamaIndex's
embedding machinery.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr

from ragkit.onnx_embedding import OnnxEncoder

if TYPE_CHECKING:
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding


class OnnxEmbedding(BaseEmbedding):
    """LlamaIndex embedding over an :class:`OnnxEncoder` (the ``onnx`` ingest backends)."""

    _encoder: OnnxEncoder = PrivateAttr()

    def __init__(self, encoder: OnnxEncoder, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._encoder = encoder

    @classmethod
    def class_name(cls) -> str:
        return "OnnxEmbedding"

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._encoder.encode(texts)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._encoder.encode([text])[0]

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._encoder.encode([query])[0]

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)


def huggingface_class(backend: str) -> type[HuggingFaceEmbedding]:
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
