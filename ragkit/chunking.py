"""Split read documents into chunks with LlamaIndex's ``SentenceSplitter``.

Chunks are sized in the embedding model's own tokens so that none is truncated by the model,
and each keeps its page, its section and its character span in the document's source text
(the read units joined by blank lines).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from llama_index.core import Document as LlamaDocument
from llama_index.core.node_parser import SentenceSplitter

from ragkit.embeddings import Tokenizer
from ragkit.errors import ConfigurationError

UNIT_SEPARATOR = "\n\n"
# [CLS] and [SEP] take two of the model's positions.
SPECIAL_TOKENS = 2


@dataclass(frozen=True)
class ChunkDraft:
    """A chunk before it is stored: its text and where it came from."""

    index: int
    content: str
    page_number: int | None
    section_title: str | None
    start_char: int
    end_char: int
    token_count: int

    @functools.cached_property
    def content_hash(self) -> str:
        return hashlib.sha256(self.content.encode()).hexdigest()

    @property
    def embedding_text(self) -> str:
        return embedding_text(self.content, self.section_title)


def embedding_text(content: str, section_title: str | None) -> str:
    """What is embedded for a chunk: its section title gives a passage its context."""
    if section_title and not content.startswith(section_title):
        return f"{section_title}\n{content}"
    return content


def source_text(units: Sequence[LlamaDocument]) -> str:
    """The document's text as chunk spans refer to it."""
    return UNIT_SEPARATOR.join(unit.text for unit in units)


def make_splitter(
    chunk_size: int, chunk_overlap: int, tokenizer: Tokenizer | None, max_tokens: int | None
) -> SentenceSplitter:
    """A sentence-aware splitter whose chunks fit the embedding model's window."""
    if max_tokens is not None and chunk_size > max_tokens - SPECIAL_TOKENS:
        raise ConfigurationError(
            f"chunk size {chunk_size} exceeds the embedding model's window of {max_tokens} "
            f"tokens; use at most {max_tokens - SPECIAL_TOKENS}"
        )
    return SentenceSplitter(
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        tokenizer=tokenizer,
        paragraph_separator="\n\n",
        include_metadata=False,
        include_prev_next_rel=False,
    )


def split_units(
    units: Sequence[LlamaDocument], splitter: SentenceSplitter, tokenizer: Tokenizer | None
) -> list[ChunkDraft]:
    """Chunk every unit (page or section) and number the chunks across the document."""
    drafts: list[ChunkDraft] = []
    offset = 0
    for unit in units:
        drafts.extend(split_unit(unit, splitter, tokenizer, len(drafts), offset))
        offset += len(unit.text) + len(UNIT_SEPARATOR)
    return drafts


def split_unit(
    unit: LlamaDocument,
    splitter: SentenceSplitter,
    tokenizer: Tokenizer | None,
    first_index: int,
    offset: int,
) -> list[ChunkDraft]:
    """Chunk one unit whose text starts at ``offset`` of the document's source text.

    Chunks never span units, so a unit's chunks depend only on its own text and section: the
    chunks of an unchanged unit can be kept, renumbered and moved, when its document changes.
    """
    drafts: list[ChunkDraft] = []
    for node in splitter.get_nodes_from_documents([unit]):
        content = node.get_content()
        if not content.strip():
            continue
        start = _locate(unit.text, content, getattr(node, "start_char_idx", None))
        drafts.append(
            ChunkDraft(
                index=first_index + len(drafts),
                content=content,
                page_number=unit.metadata.get("page_number"),
                section_title=unit.metadata.get("section_title"),
                start_char=offset + start,
                end_char=offset + start + len(content),
                token_count=len(tokenizer(content)) if tokenizer else len(content) // 4,
            )
        )
    return drafts


def _locate(text: str, content: str, hint: int | None) -> int:
    if hint is not None and text.startswith(content, hint):
        return hint
    found = text.find(content, max(0, (hint or 0) - len(content)))
    if found < 0:
        found = text.find(content)
    return max(found, 0) if found >= 0 else (hint or 0)
