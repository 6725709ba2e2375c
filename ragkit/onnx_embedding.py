"""A sentence-transformers model run by ONNX Runtime, optionally with int8 weights.

The model is exported once (mean pooling and normalisation inside the graph), optimised with
ONNX Runtime's transformer fusions, and for ``onnx-int8`` quantised per channel; the files are
cached under ``RAGKIT_HOME/models``. Batches are formed from texts of similar length so that
little time goes to padding.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr

from ragkit.errors import ConfigurationError, EmbeddingError

ONNX_BACKENDS = ("onnx", "onnx-int8")
_export_lock = threading.Lock()


class OnnxEmbedding(BaseEmbedding):
    """LlamaIndex embedding over an ONNX Runtime session."""

    max_length: int = 256
    _session: Any = PrivateAttr()
    _tokenizer: Any = PrivateAttr()

    def __init__(self, model_path: Path, tokenizer: Any, max_length: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_length = max_length
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = os.cpu_count() or 1
        self._session = ort.InferenceSession(
            str(model_path), options, providers=["CPUExecutionProvider"]
        )
        self._tokenizer = tokenizer

    @classmethod
    def class_name(cls) -> str:
        return "OnnxEmbedding"

    def _encode(self, texts: list[str]) -> list[list[float]]:
        order = np.argsort([len(text) for text in texts], kind="stable")
        result: list[Any] = [None] * len(texts)
        for start in range(0, len(texts), self.embed_batch_size):
            picked = order[start : start + self.embed_batch_size]
            encoded = self._tokenizer(
                [texts[i] for i in picked],
                padding=True,
                truncation=True,
                max_length=self.max_length,
                return_tensors="np",
            )
            inputs = {
                name: encoded[name].astype(np.int64)
                for name in ("input_ids", "attention_mask", "token_type_ids")
            }
            vectors = self._session.run(None, inputs)[0]
            for position, index in enumerate(picked):
                result[index] = vectors[position].tolist()
        return result

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._encode(texts)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._encode([text])[0]

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._encode([query])[0]

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)


def onnx_model_file(transformer: Any, source: str, backend: str, cache: Path) -> Path:
    """Export (once) the sentence-transformers model to ONNX for ``backend``; return the file."""
    if backend not in ONNX_BACKENDS:
        raise ConfigurationError(f"an ONNX backend is one of {', '.join(ONNX_BACKENDS)}")
    digest = hashlib.sha256(source.encode()).hexdigest()[:12]
    target = cache / f"{Path(source).name}-{digest}-{backend}.onnx"
    with _export_lock:
        if not target.exists():
            cache.mkdir(parents=True, exist_ok=True)
            try:
                _export(transformer, target, quantize=backend == "onnx-int8")
            except Exception as error:  # exporter and quantizer raise many types
                raise EmbeddingError(f"could not export {source} to ONNX: {error}") from error
    return target


def _export(transformer: Any, target: Path, *, quantize: bool) -> None:
    import torch

    encoder = transformer[0].auto_model.eval()
    pooled = _PooledEncoder(encoder)
    sample = transformer.tokenizer(["a b", "a longer sample"], padding=True, return_tensors="pt")
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {name: {0: "batch", 1: "tokens"} for name in names} | {"embedding": {0: "batch"}}
    plain = target.with_suffix(".plain.onnx")
    with torch.no_grad():
        torch.onnx.export(
            pooled,
            tuple(sample[name] for name in names),
            str(plain),
            input_names=names,
            output_names=["embedding"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
    optimised = target.with_suffix(".fused.onnx")
    _optimise(plain, optimised, encoder.config)
    if quantize:
        _quantize(optimised, target)
    else:
        optimised.replace(target)
    for leftover in (plain, optimised):
        leftover.unlink(missing_ok=True)


def _optimise(source: Path, target: Path, config: Any) -> None:
    from onnxruntime.transformers import optimizer

    model = optimizer.optimize_model(
        str(source),
        model_type="bert",
        num_heads=config.num_attention_heads,
        hidden_size=config.hidden_size,
        opt_level=1,
    )
    model.save_model_to_file(str(target))


def _quantize(source: Path, target: Path) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(source),
        str(target),
        weight_type=QuantType.QInt8,
        per_channel=True,
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )


class _PooledEncoder:
    """Wraps the encoder so the exported graph returns normalised mean-pooled embeddings."""

    def __new__(cls, encoder: Any) -> Any:
        import torch

        class Pooled(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.encoder = encoder

            def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
                hidden = self.encoder(
                    input_ids=input_ids,
                    attention_mask=attention_mask,
                    token_type_ids=token_type_ids,
                ).last_hidden_state
                mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
                summed = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                return torch.nn.functional.normalize(summed, p=2, dim=1)

        return Pooled()
