"""The embedding backends: the same model run by ONNX Runtime gives the same vectors."""

from __future__ import annotations

import json
import logging
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ragkit import Settings
from ragkit.embeddings import load_embedding_model, native_bfloat16, resolve_backend
from ragkit.errors import ConfigurationError, EmbeddingError

TEXTS = [
    "How do I reset my password?",
    "The reset link is valid for 30 minutes and can be used only once.",
    "Error E-1042 means the same note was edited on two devices while one was offline.",
]


def cosine(left: list[float], right: list[float]) -> float:
    dot = sum(a * b for a, b in zip(left, right))
    return dot / math.sqrt(sum(a * a for a in left) * sum(b * b for b in right))


def test_the_onnx_backend_reproduces_the_torch_vectors(settings: Settings) -> None:
    torch_model = load_embedding_model(settings)
    onnx_model = load_embedding_model(settings.replace(embed_backend="onnx"))
    assert type(onnx_model.embedding).__name__ == "OnnxEmbedding"
    assert onnx_model.dimensions == torch_model.dimensions == 384
    for ours, reference in zip(onnx_model.embed_texts(TEXTS), torch_model.embed_texts(TEXTS)):
        assert cosine(ours, reference) > 0.999
    assert list(settings.models_dir.glob("*-onnx.onnx"))


def test_questions_can_be_embedded_by_onnx_while_passages_stay_on_torch(
    settings: Settings,
) -> None:
    passages = load_embedding_model(settings.replace(embed_backend="torch", query_backend=""))
    split = load_embedding_model(settings.replace(embed_backend="torch", query_backend="onnx"))
    assert type(split.query_encoder).__name__ == "OnnxEncoder"
    assert split.embed_texts(TEXTS) == passages.embed_texts(TEXTS)  # passages unchanged
    for text in TEXTS:
        question = split.embed_query(text)
        assert question != passages.embed_query(text)  # computed by the other runtime...
        assert cosine(question, passages.embed_query(text)) > 0.9999  # ...to the same vector


def test_questions_are_embedded_without_pytorch_once_the_graph_is_cached(
    settings: Settings, tmp_path: Path
) -> None:
    model = load_embedding_model(settings)  # the default: exports the graph if it is missing
    assert model.query_encoder is not None
    probe = (
        "import json, sys; from ragkit import Settings;"
        "from ragkit.embeddings import load_embedding_model;"
        "model = load_embedding_model(Settings.from_env());"
        f"vector = model.embed_query({TEXTS[0]!r}); tokens = model.count_tokens({TEXTS[1]!r});"
        "print(json.dumps([vector, tokens, sorted({'torch', 'transformers'} & set(sys.modules))]))"
    )
    environment = os.environ | {"RAGKIT_HOME": str(settings.home), "HOME": str(tmp_path)}
    environment["RAGKIT_MODEL_CACHE"] = str(settings.models_dir)
    environment.pop("XDG_CACHE_HOME", None)
    environment.pop("ORT_DISABLE_TELEMETRY", None)
    done = subprocess.run(
        [sys.executable, "-c", probe], env=environment, capture_output=True, text=True, check=True
    )
    vector, tokens, heavy = json.loads(done.stdout)
    assert heavy == []
    assert list(tmp_path.rglob("*")) == []  # no telemetry device id under ~/.cache
    assert cosine(vector, model.embed_query(TEXTS[0])) > 0.99999
    transformers_tokenizer = model.embedding._model.tokenizer  # type: ignore[attr-defined]
    counted = len(transformers_tokenizer.encode(TEXTS[1], add_special_tokens=False))
    assert tokens == model.count_tokens(TEXTS[1]) == counted


def test_auto_falls_back_to_pytorch_for_questions_when_the_export_fails(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the model cache should be")
    with caplog.at_level(logging.WARNING, logger="ragkit.local_models"):
        model = load_embedding_model(settings.replace(model_cache=blocked))
    assert model.query_encoder is None
    assert "questions are embedded with PyTorch" in caplog.text
    reference = load_embedding_model(settings.replace(query_backend=""))
    assert model.embed_query(TEXTS[0]) == reference.embed_query(TEXTS[0])


def test_an_export_that_fails_is_an_error_when_onnx_is_asked_for(
    settings: Settings, tmp_path: Path
) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the model cache should be")
    with pytest.raises(EmbeddingError, match="could not export"):
        load_embedding_model(settings.replace(model_cache=blocked, query_backend="onnx-int8"))


def test_an_unknown_query_backend_is_refused(settings: Settings) -> None:
    with pytest.raises(ConfigurationError, match="RAGKIT_QUERY_BACKEND"):
        settings.replace(query_backend="cuda")


def test_the_bfloat16_backend_gives_the_float32_vectors(settings: Settings) -> None:
    float32 = load_embedding_model(settings.replace(embed_backend="torch"))
    bfloat16 = load_embedding_model(settings.replace(embed_backend="torch-bf16"))
    assert type(bfloat16.embedding).__name__ == "BFloat16HuggingFaceEmbedding"
    assert (float32.backend, bfloat16.backend) == ("torch", "torch-bf16")
    for ours, reference in zip(bfloat16.embed_texts(TEXTS), float32.embed_texts(TEXTS)):
        assert ours != reference  # computed differently...
        assert cosine(ours, reference) > 0.9995  # ...to the same direction
    assert cosine(bfloat16.embed_query(TEXTS[0]), float32.embed_query(TEXTS[0])) > 0.9995


def test_auto_picks_bfloat16_only_where_the_cpu_computes_it_natively() -> None:
    flags = set()
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.exists():
        pytest.skip("the CPU flags are read from /proc/cpuinfo")
    for line in cpuinfo.read_text().splitlines():
        if line.startswith("flags"):
            flags.update(line.split(":", 1)[1].split())
    native = bool(flags & {"avx512_bf16", "amx_bf16"})
    assert native_bfloat16() == native
    assert resolve_backend("auto") == ("torch-bf16" if native else "torch")
    assert resolve_backend("onnx") == "onnx"


def test_batches_sorted_by_length_come_back_in_the_given_order(settings: Settings) -> None:
    model = load_embedding_model(settings.replace(embed_backend="torch"))
    texts = [TEXTS[1], TEXTS[0] * 6, TEXTS[2], TEXTS[0]]
    together = model.embed_texts(texts)
    for text, vector in zip(texts, together):
        assert cosine(vector, model.embed_texts([text])[0]) > 0.99999


def test_an_unknown_backend_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="RAGKIT_EMBED_BACKEND"):
        Settings.from_env({"RAGKIT_EMBED_BACKEND": "tpu"})


def test_a_model_string_without_provider_is_refused(settings: Settings) -> None:
    with pytest.raises(ConfigurationError, match="PROVIDER:NAME"):
        load_embedding_model(settings.replace(embed_model="all-MiniLM-L6-v2"))
