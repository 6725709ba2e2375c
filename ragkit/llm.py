"""Answers from a language model configured by settings (OpenAI-compatible server or Ollama)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.llms import LLM

from ragkit.answer import (
    ABSTENTION,
    Answer,
    Citation,
    Delta,
    Done,
    Turn,
    abstain,
    answer_events,
    final_answer,
)
from ragkit.embeddings import EmbeddingModel
from ragkit.errors import AnswerError, ConfigurationError
from ragkit.languages import fixed_texts
from ragkit.retrieve import RetrievedChunk
from ragkit.sentences import cosine
from ragkit.settings import Settings

SYSTEM_PROMPT = (
    "You are a customer-support assistant. Answer the question using only the numbered sources. "
    "After every sentence, cite the sources it relies on as [1], [2], ... . "
    "Be concise. If the sources do not contain the answer, reply exactly: " + ABSTENTION
)
CONDENSE_PROMPT = (
    "Rewrite the last user question so that it can be understood without the conversation. "
    "Reply with the rewritten question only.\n\nConversation:\n{history}\n\n"
    "Last question: {question}\n\nStandalone question:"
)
_MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")


def build_llm(settings: Settings) -> LLM:
    """The LlamaIndex LLM named by ``RAGKIT_LLM`` and ``RAGKIT_LLM_MODEL``."""
    if settings.llm in ("openai", "openai-like"):
        from llama_index.llms.openai_like import OpenAILike

        return OpenAILike(
            model=settings.llm_model,
            api_base=settings.llm_base_url or "https://api.openai.com/v1",
            api_key=settings.llm_api_key or "unused",
            is_chat_model=True,
            timeout=settings.llm_timeout,
            max_retries=1,
        )
    if settings.llm == "ollama":
        from llama_index.llms.ollama import Ollama

        return Ollama(
            model=settings.llm_model,
            base_url=settings.llm_base_url or "http://localhost:11434",
            request_timeout=settings.llm_timeout,
        )
    raise ConfigurationError(f"no language model is configured (RAGKIT_LLM={settings.llm!r})")


def number_sources(chunks: Sequence[RetrievedChunk]) -> str:
    blocks = []
    for number, chunk in enumerate(chunks, start=1):
        where = ", ".join(
            part
            for part in (chunk.title, f"page {chunk.page_number}" if chunk.page_number else "")
            if part
        )
        blocks.append(f"[{number}] ({where})\n{chunk.content}")
    return "\n\n".join(blocks)


def cited_numbers(text: str, count: int) -> list[int]:
    """Source numbers cited in ``text``, in order of first use, within 1..count."""
    numbers: list[int] = []
    for match in _MARKER.finditer(text):
        for raw in match.group(1).split(","):
            number = int(raw)
            if 1 <= number <= count and number not in numbers:
                numbers.append(number)
    return numbers


class LLMAnswerer:
    """Asks a LlamaIndex LLM to answer from numbered sources and parses its citations back."""

    rewrites_follow_ups = True

    def __init__(self, llm: LLM, settings: Settings) -> None:
        self.llm = llm
        self.threshold = settings.abstain_threshold
        self.model_name = f"{settings.llm}:{settings.llm_model}"

    def search_query(self, question: str, history: Sequence[Turn]) -> str:
        """Rewrite a follow-up into a standalone question."""
        if not history:
            return question
        transcript = "\n".join(f"{turn.role}: {turn.content}" for turn in history[-6:])
        prompt = CONDENSE_PROMPT.format(history=transcript, question=question)
        try:
            rewritten = self.llm.complete(prompt).text.strip()
        except Exception as error:  # HTTP, timeouts, provider errors
            raise AnswerError(f"the language model failed: {error}") from error
        return rewritten or question

    def _relevant(
        self,
        chunks: Sequence[RetrievedChunk],
        query_embedding: Sequence[float],
        model: EmbeddingModel,
    ) -> bool:
        if not chunks:
            return False
        vectors = model.embed_texts([chunk.content for chunk in chunks[:3]])
        return max(cosine(query_embedding, vector) for vector in vectors) >= self.threshold

    def _messages(self, question: str, chunks: Sequence[RetrievedChunk]) -> list[ChatMessage]:
        return [
            ChatMessage(role=MessageRole.SYSTEM, content=SYSTEM_PROMPT),
            ChatMessage(
                role=MessageRole.USER,
                content=f"Sources:\n\n{number_sources(chunks)}\n\nQuestion: {question}",
            ),
        ]

    def answer(
        self,
        question: str,
        chunks: Sequence[RetrievedChunk],
        query_embedding: Sequence[float],
        model: EmbeddingModel,
        search_query: str = "",
    ) -> Answer:
        return final_answer(self.stream(question, chunks, query_embedding, model, streaming=False))

    def stream(
        self,
        question: str,
        chunks: Sequence[RetrievedChunk],
        query_embedding: Sequence[float],
        model: EmbeddingModel,
        search_query: str = "",
        streaming: bool = True,
    ) -> Iterator[Delta | Done]:
        """The model's answer as it streams; ``search_query`` is unused: the model condensed
        the follow-up itself, and judges from the sources whether they answer."""
        if not self._relevant(chunks, query_embedding, model):
            yield from answer_events(abstain(question, self.model_name))
            return
        pieces: list[str] = []
        try:
            for piece in self._reply(self._messages(question, chunks), streaming):
                pieces.append(piece)
                yield Delta(piece)
        except Exception as error:  # HTTP, timeouts, provider errors
            raise AnswerError(f"the language model failed: {error}") from error
        yield Done(self._parse(question, "".join(pieces).strip(), chunks))

    def _reply(self, messages: list[ChatMessage], streaming: bool) -> Iterator[str]:
        """The model's reply in the pieces it sends (one piece unless ``streaming``)."""
        if not streaming:
            yield self.llm.chat(messages).message.content or ""
            return
        for response in self.llm.stream_chat(messages):
            delta: Any = response.delta or ""
            if delta:
                yield delta

    def _parse(self, question: str, text: str, chunks: Sequence[RetrievedChunk]) -> Answer:
        numbers = cited_numbers(text, len(chunks))
        if not numbers or text.startswith(tuple(fixed_texts("abstention"))):
            return Answer(
                text=text or ABSTENTION, abstained=True, model=self.model_name, question=question
            )
        citations = [Citation.from_chunk(number, chunks[number - 1]) for number in numbers]
        return Answer(text=text, citations=citations, model=self.model_name, question=question)
