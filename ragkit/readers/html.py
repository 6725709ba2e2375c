"""HTML: the visible text, one unit per heading-delimited section."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from llama_index.core import Document as LlamaDocument

from ragkit.markup import INVISIBLE_TAGS
from ragkit.readers.base import BoundedReader, Sections
from ragkit.readers.content_types import decode_text

HEADING_TAGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
BLOCK_TAGS = frozenset(
    {"p", "li", "dt", "dd", "pre", "blockquote", "td", "th", "tr", "div", "section", "article"}
    | {"caption", "figcaption", "main", "header", "footer", "aside", "table", "ul", "ol", "body"}
)


class SectionedHTMLReader(BoundedReader):
    """HTML, visible text only, one document per heading-delimited section.

    The markup may be longer than the text limit (inline styles, scripts, images); the text
    read from it may not.
    """

    def load_data(
        self, file: Path, extra_info: dict[str, Any] | None = None
    ) -> list[LlamaDocument]:
        documents = html_to_documents(decode_text(Path(file).read_bytes()))
        self.limits.check_text(sum(len(document.text) for document in documents))
        return documents


def html_to_documents(markup: str) -> list[LlamaDocument]:
    """Split HTML into sections of visible text, titled by their headings.

    Parsed by lxml: Python's own ``html.parser`` takes quadratic time on unfinished tags (60 KB
    of ``<a <a <a`` took a minute).
    """
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(markup, "lxml")
    for tag in soup.find_all(list(INVISIBLE_TAGS)):
        tag.decompose()
    for tag in soup.find_all(hidden=True):
        tag.decompose()
    sections = Sections()
    last_block: Any = None
    for node, block in _visible_nodes(soup.body or soup):
        if block is node:  # a heading
            title = " ".join(node.get_text(" ").split())
            if title:
                sections.start(title)
                sections.add(title)
            last_block = node
            continue
        text = " ".join(str(node).split())
        if not text:
            continue
        if block is not last_block or not sections.extend_last(text):
            sections.add(text)
        last_block = block
    return sections.documents(separator="\n")


def _visible_nodes(root: Any) -> Iterator[tuple[Any, Any]]:
    """Headings (as ``(heading, heading)``) and text outside them, with their nearest block.

    In document order, walked with a stack: a page nested a hundred thousand tags deep costs
    no more than a flat one, and no recursion.
    """
    from bs4 import CData, NavigableString, Tag
    from bs4.element import PreformattedString

    stack: list[tuple[Any, Any]] = [(root, None)]
    while stack:
        node, block = stack.pop()
        if isinstance(node, Tag):
            if node.name in HEADING_TAGS:
                yield node, node
                continue  # its text is its title
            inner = node if node.name in BLOCK_TAGS else block
            stack.extend((child, inner) for child in reversed(node.contents))
        elif isinstance(node, NavigableString) and (
            not isinstance(node, PreformattedString) or isinstance(node, CData)
        ):
            yield node, block


def html_title(path: Path) -> str | None:
    from bs4 import BeautifulSoup

    title = BeautifulSoup(decode_text(path.read_bytes()), "lxml").title
    return title.get_text() if title is not None else None
