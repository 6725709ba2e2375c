"""The LLM answerer, configured by settings alone, against a local OpenAI-compatible server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ragkit import Delta, Done, RagKit, Settings, Turn
from ragkit.database import Database
from ragkit.llm import cited_numbers
from tests.fake_llm import FakeLLM


@pytest.fixture(scope="module")
def fake_llm() -> Iterator[FakeLLM]:
    with FakeLLM() as server:
        yield server


@pytest.fixture(scope="module")
def llm_kit(settings: Settings, kit: RagKit, fake_llm: FakeLLM) -> RagKit:
    environment = {
        "DATABASE_URL": settings.database_url or "",
        "RAGKIT_LLM": "openai-like",
        "RAGKIT_LLM_MODEL": "fake-model",
        "RAGKIT_LLM_BASE_URL": fake_llm.base_url,
    }
    llm_settings = Settings.from_env(environment, home=settings.home)
    return RagKit(llm_settings, Database.from_settings(llm_settings))


def test_the_llm_answers_from_numbered_sources_and_its_citations_are_parsed(
    llm_kit: RagKit, support_org: str, fake_llm: FakeLLM
) -> None:
    answer = llm_kit.ask("What does error E-1042 mean?", support_org)
    assert answer.model == "openai-like:fake-model"
    assert not answer.abstained
    prompt = fake_llm.requests[-1]["messages"][-1]["content"]
    assert "[1] (" in prompt and "Question: What does error E-1042 mean?" in prompt
    (citation,) = answer.citations
    sentence, marker = answer.text.rsplit(" ", 1)
    assert marker == f"[{citation.n}]"
    assert sentence in citation.quote and "E-1042" in citation.quote
    assert Path(citation.source).name == "troubleshooting.pdf"


def test_the_llm_is_not_asked_when_nothing_relevant_was_retrieved(
    llm_kit: RagKit, support_org: str, fake_llm: FakeLLM
) -> None:
    before = len(fake_llm.requests)
    answer = llm_kit.ask("What is the capital of France?", support_org)
    assert answer.abstained and answer.citations == []
    assert len(fake_llm.requests) == before


def test_a_follow_up_is_rewritten_by_the_llm_before_retrieval(
    llm_kit: RagKit, support_org: str, fake_llm: FakeLLM
) -> None:
    history = [Turn("user", "What does error E-1042 mean?"), Turn("assistant", "A conflict.")]
    answer = llm_kit.ask("How do I fix it?", support_org, history=history)
    assert "E-1042" in answer.search_query
    assert any("Standalone question" in r["messages"][-1]["content"] for r in fake_llm.requests)


def test_streamed_llm_text_arrives_in_pieces(llm_kit: RagKit, support_org: str) -> None:
    events = list(llm_kit.stream("How long is the password reset link valid?", support_org))
    pieces = [event.text for event in events if isinstance(event, Delta)]
    assert len(pieces) > 3
    assert isinstance(events[-1], Done) and "".join(pieces).strip() == events[-1].answer.text


def test_citation_markers_are_read_in_order_and_bounded() -> None:
    assert cited_numbers("A [2]. B [1, 3]. C [2] [9].", count=3) == [2, 1, 3]
