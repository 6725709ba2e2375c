"""Questions embedded by ONNX Runtime (the default) get the answers PyTorch would give."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from ragkit import RagKit, Settings
from ragkit.answer import Turn
from ragkit.database import Database

QUESTIONS = [
    "How do I reset my password?",
    "How long is the reset link valid?",
    "Where are the log files on macOS?",
    "What does error E-1042 mean?",
    "What about on versions before 3.6?",
    "Can I get a refund after 30 days?",
    "How much does the Business plan cost per month?",
    "Which plan includes single sign-on?",
    "What changed in version 3.6?",
    "How do I install the desktop app?",
    "What does error E-1099 mean?",
    "Do you ship to Antarctica?",
]


@pytest.fixture(scope="module")
def torch_kit(settings: Settings) -> Iterator[RagKit]:
    """The same knowledge base, with questions embedded by the passages' PyTorch runtime."""
    torch_settings = settings.replace(query_backend="")
    with RagKit(torch_settings, Database.from_settings(torch_settings)) as instance:
        yield instance


def summary(
    kit: RagKit, organization: str, question: str, history: list[Turn]
) -> tuple[str, list[tuple[int, str, str]], bool]:
    answer = kit.ask(question, organization, history=history)
    return answer.text, [(c.n, c.chunk_id, c.quote) for c in answer.citations], answer.abstained


def test_the_default_runtime_embeds_questions_with_onnx(kit: RagKit, torch_kit: RagKit) -> None:
    assert kit.model.query_encoder is not None
    assert torch_kit.model.query_encoder is None


def test_answers_are_the_same_whichever_runtime_embeds_the_questions(
    kit: RagKit, torch_kit: RagKit, support_org: str
) -> None:
    history: list[Turn] = []
    for question in QUESTIONS:
        ours = summary(kit, support_org, question, history)
        reference = summary(torch_kit, support_org, question, history)
        assert ours == reference, question
        history = [Turn("user", question), Turn("assistant", ours[0])]


BLOCKER = """
import sys

class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in {"torch", "transformers", "llama_index", "alembic"}:
            raise ImportError(f"{name} is not needed to answer a question")

sys.meta_path.insert(0, Refuse())
from ragkit.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_ragkit_ask_needs_neither_pytorch_llamaindex_nor_alembic(
    kit: RagKit, support_org: str
) -> None:
    kit.model.embed_query("the question graph is exported by now")
    environment = os.environ | {
        "DATABASE_URL": kit.settings.database_url or "",
        "RAGKIT_HOME": str(kit.settings.home),
        "RAGKIT_MODEL_CACHE": str(kit.settings.models_dir),
    }
    for command in (["ask", "How do I reset my password?"], ["status"]):
        done = subprocess.run(
            [sys.executable, "-c", BLOCKER, *command, "--org", support_org],
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert "Reset password" in done.stdout if command[0] == "ask" else "chunks" in done.stdout
