"""The embedding backends: the same model run by ONNX Runtime gives the same vectors."""

from __future__ import annotations

import math

import pytest

from ragkit import Settings
from ragkit.embeddings import load_embedding_model
from ragkit.errors import ConfigurationError

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
    assert list(settings.home.glob("models/*-onnx.onnx"))


def test_an_unknown_backend_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="RAGKIT_EMBED_BACKEND"):
        Settings.from_env({"RAGKIT_EMBED_BACKEND": "tpu"})


def test_a_model_string_without_provider_is_refused(settings: Settings) -> None:
    with pytest.raises(ConfigurationError, match="PROVIDER:NAME"):
        load_embedding_model(settings.replace(embed_model="all-MiniLM-L6-v2"))
