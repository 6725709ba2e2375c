"""A sentence-transformers model run by ONNX Runtime, optionally with int8 weights.

The model is exported once (mean pooling and normalisation inside the graph), optimised with
ONNX Runtime's transformer fusions, and for ``onnx-int8`` quantised per channel; the files are
cached under ``RAGKIT_HOME/models``. Once the file is there, questions are embedded without
PyTorch or transformers: :class:`OnnxEncoder` needs only ONNX Runtime and the model's
``tokenizer.json`` (the same tokenizer transformers would build from it). Batches are formed from
texts of similar length so that little time goes to padding.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ragkit.errors import ConfigurationError, EmbeddingError

ONNX_BACKENDS = ("onnx", "onnx-int8")
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
_export_lock = threading.Lock()


def onnxruntime() -> Any:
    """The ``onnxruntime`` module, with its telemetry off.

    Left on, ONNX Runtime records a device id under ``~/.cache/Microsoft`` and may send usage
    events to Microsoft: a knowledge base that runs offline on its owner's data does neither.
    ``ORT_DISABLE_TELEMETRY=0`` in the environment turns it back on.
    """
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    import onnxruntime as ort

    return ort


def tokenizer_file(model_dir: Path) -> Any:
    """The ``tokenizers`` tokenizer saved in a model directory's ``tokenizer.json``."""
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(model_dir / "tokenizer.json"))


def batch_tokenizer(tokenizer: Any, max_length: int) -> Any:
    """A copy of ``tokenizer`` that truncates to ``max_length`` and pads to the longest text."""
    from tokenizers import Tokenizer

    configured = Tokenizer.from_str(tokenizer.to_str())
    configured.enable_truncation(max_length)
    # The file may ask for a fixed length; pad only to the batch's longest text.
    padding = tokenizer.padding or {}
    configured.enable_padding(
        pad_id=padding.get("pad_id", 0), pad_token=padding.get("pad_token", "[PAD]")
    )
    return configured


def counting_tokenizer(tokenizer: Any) -> Any:
    """A copy of ``tokenizer`` without truncation or padding, for measuring texts in tokens."""
    from tokenizers import Tokenizer

    counting = Tokenizer.from_str(tokenizer.to_str())
    counting.no_truncation()
    counting.no_padding()
    return counting


class OnnxEncoder:
    """Texts to normalised vectors with one ONNX Runtime session (thread-safe)."""

    def __init__(
        self, model_path: Path, tokenizer: Any, batch_size: int = 64, *, threads: int | None = None
    ) -> None:
        """``threads``: how many threads one call may use (default: one per core)."""
        ort = onnxruntime()
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        self.session = ort.InferenceSession(
            str(model_path), options, providers=["CPUExecutionProvider"]
        )
        self.tokenizer = tokenizer
        self.batch_size = batch_size

    @property
    def dimensions(self) -> int:
        return int(self.session.get_outputs()[0].shape[-1])

    def encode(self, texts: Sequence[str]) -> list[list[float]]:
        """Vectors for ``texts``, in their order."""
        order = np.argsort([len(text) for text in texts], kind="stable")
        result: list[list[float]] = [[] for _ in texts]
        for start in range(0, len(texts), self.batch_size):
            picked = order[start : start + self.batch_size]
            vectors = self.session.run(None, self._inputs([texts[i] for i in picked]))[0]
            for position, index in enumerate(picked):
                result[index] = vectors[position].tolist()
        return result

    def _inputs(self, texts: list[str]) -> dict[str, Any]:
        encoded = self.tokenizer.encode_batch(texts)
        columns = ([e.ids for e in encoded], [e.attention_mask for e in encoded])
        types = [e.type_ids for e in encoded]
        arrays = (*columns, types)
        return {name: np.asarray(array, dtype=np.int64) for name, array in zip(INPUT_NAMES, arrays)}


def onnx_model_path(source: str, backend: str, cache: Path) -> Path:
    """Where the ONNX file of model ``source`` for ``backend`` is cached (it may not exist yet)."""
    if backend not in ONNX_BACKENDS:
        raise ConfigurationError(f"an ONNX backend is one of {', '.join(ONNX_BACKENDS)}")
    digest = hashlib.sha256(source.encode()).hexdigest()[:12]
    return cache / f"{Path(source).name}-{digest}-{backend}.onnx"


def onnx_model_file(transformer: Any, source: str, backend: str, cache: Path) -> Path:
    """Export (once) the sentence-transformers model to ONNX for ``backend``; return the file.

    Processes sharing the data directory export one at a time (a lock file beside the model),
    and the file appears complete or not at all (written aside, then renamed).
    """
    target = onnx_model_path(source, backend, cache)
    with _export_lock:
        if target.exists():
            return target
        try:
            cache.mkdir(parents=True, exist_ok=True)
            with open(target.with_suffix(".lock"), "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                if not target.exists():
                    _export_aside(transformer, source, target, quantize=backend == "onnx-int8")
        except OSError as error:  # the cache folder cannot be written
            raise EmbeddingError(
                f"could not export {source} to ONNX in {cache}: {error}"
            ) from error
    return target


def _export_aside(transformer: Any, source: str, target: Path, *, quantize: bool) -> None:
    aside = target.with_name(f"{target.stem}.{os.getpid()}.partial.onnx")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the tracer's notes on shapes fixed at export
            _export(transformer, aside, quantize=quantize)
        aside.replace(target)
    except Exception as error:  # exporter and quantizer raise many types
        raise EmbeddingError(f"could not export {source} to ONNX: {error}") from error
    finally:
        aside.unlink(missing_ok=True)


def _export(transformer: Any, target: Path, *, quantize: bool) -> None:
    import torch

    encoder = transformer[0].auto_model.eval()
    pooled = _PooledEncoder(encoder)
    sample = transformer.tokenizer(["a b", "a longer sample"], padding=True, return_tensors="pt")
    names = list(INPUT_NAMES)
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
    try:
        _optimise(plain, optimised, encoder.config)
        if quantize:
            _quantize(optimised, target)
        else:
            optimised.replace(target)
    finally:
        for leftover in (plain, optimised):
            leftover.unlink(missing_ok=True)


def _optimise(source: Path, target: Path, config: Any) -> None:
    onnxruntime()
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

    onnxruntime()
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
