"""Sentences of retrieved passages: where they start and end, and how they read as answer text.

A passage is quoted verbatim in citations; in the answer text it is *rendered*: Markdown
emphasis, code marks, links and HTML tags are dropped, list markers removed, and a table row is
spelled out with its column headers ("Team — Annual: $144 per member/year; ...").
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float64]

# A sentence ends at . ! or ? before a space, at a blank line, or before a list item, heading or
# table row; a single line break inside a paragraph (as PDFs have) does not end it.
_BOUNDARY = re.compile(
    r"(?<=[.!?])[\"')\]*]*(?:[ \t]+|[ \t]*\n[ \t]*)(?=\S)"
    r"|\n[ \t]*\n\s*"
    r"|\n(?=[ \t]*(?:[-*•–]\s|\d+[.)]\s|#|\|))"
)
LIST_ITEM = re.compile(r"\s*(?:[-*•–]|\d+[.)])\s|\s*\|")
_MARKUP = re.compile(r"^\s*(?:[-*•–]|#+|\d+[.)])\s+")
_EMPHASIS = re.compile(r"\*\*|__|`")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_TAG = re.compile(r"</?[A-Za-z][^<>]*>")
_TABLE_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?\s*$")
# "monthly_price_usd: 8;" as the CSV reader writes a row's fields.
_FIELD_NAME = re.compile(r"(^|; )([a-z][a-z0-9]*(?:_[a-z0-9]+)+)(?=: )")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'\-]*")
# A number with a comparison: "before 3.6", "earlier than 3.6" (below); "3.6 and later" (above).
_BELOW_BEFORE = r"(?:before|earlier than|older than|prior to|lower than|below|under|up to)"
_ABOVE_BEFORE = r"(?:after|later than|newer than|higher than|above|over|since)"
_AFTER_NUMBER = r"(?:and|or)\s+(?P<after>later|newer|above|higher|earlier|older|below|lower)"
_BOUND = re.compile(
    rf"\b(?:(?P<below>{_BELOW_BEFORE})|(?P<above>{_ABOVE_BEFORE}))\s+(?:versions?\s+|v)?"
    rf"(?P<number>\d+(?:\.\d+)+|\d+)|(?P<number2>\d+(?:\.\d+)+)\s+{_AFTER_NUMBER}\b",
    re.IGNORECASE,
)


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Spans of the sentences (or list items) of ``text``, whitespace trimmed.

    A short line without final punctuation (a heading, as PDFs flatten them) stands alone, and a
    sentence that introduces a list (ends with a colon) keeps the list with it.
    """
    cuts = {0, len(text)}
    cuts.update(match.end() for match in _BOUNDARY.finditer(text))
    position = 0
    for line in text.split("\n"):
        end = position + len(line)
        stripped = line.strip()
        if 0 < len(stripped) < 60 and not stripped.endswith((".", ",", ";", ":", "!", "?")):
            cuts.update((position, end + 1))
        position = end + 1
    ordered = sorted(cut for cut in cuts if cut <= len(text))
    spans = [_trim(text, start, end) for start, end in itertools.pairwise(ordered)]
    spans = [(start, end) for start, end in spans if end > start]
    merged: list[tuple[int, int]] = []
    absorbing = False
    for start, end in spans:
        item = text[start:end]
        is_list_item = bool(LIST_ITEM.match(item))
        follows_intro = is_list_item or text[merged[-1][1] - 1] == ":" if merged else False
        if absorbing and follows_intro and end - merged[-1][0] < 500:
            merged[-1] = (merged[-1][0], end)
            continue
        merged.append((start, end))
        absorbing = item.endswith(":") or (absorbing and is_list_item)
    return merged


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def scoring_text(sentence: str, passage: str = "", start: int = 0) -> str:
    """What a sentence is compared with the question by.

    A list's introduction stands for the list ("To fix a sync conflict:" says what the steps
    under it are for; embedded with the steps, its meaning is diluted by their details), and a
    table row is read with its column headers.
    """
    if introduces_list(sentence):
        return sentence.partition(":\n")[0] + ":"
    return display_text(sentence, passage, start)


def introduces_list(sentence: str) -> bool:
    """A sentence ending in a colon followed by its list items ("To fix it:\n- Open...")."""
    _, colon, rest = sentence.partition(":\n")
    return bool(colon and LIST_ITEM.match(rest))


def numbers(text: str) -> set[str]:
    """The numbers a sentence states: two sentences with different ones say different things."""
    return set(_NUMBER.findall(text))


def bounds(text: str) -> set[tuple[str, str]]:
    """The numbers a text compares against, with the direction: ``{("below", "3.6")}`` for
    "on versions earlier than 3.6", ``{("above", "3.6")}`` for "version 3.6 and later"."""
    found = set()
    for match in _BOUND.finditer(text):
        if match["number"]:
            found.add(("below" if match["below"] else "above", match["number"]))
        else:
            upward = match["after"].lower() in {"later", "newer", "above", "higher"}
            found.add(("above" if upward else "below", match["number2"]))
    return found


def display_text(sentence: str, passage: str = "", start: int = 0) -> str:
    """A quoted sentence as answer text: one line, markup dropped, table rows spelled out.

    ``passage`` and ``start`` (the sentence's offset in it) let a table row find its headers.
    """
    if is_table_row(sentence):
        return render_table_row(sentence, table_header(passage, start))
    lines = [_MARKUP.sub("", line).strip() for line in sentence.splitlines()]
    text = " ".join(line for line in lines if line)
    text = _LINK.sub(r"\1", _TAG.sub("", text))
    text = _FIELD_NAME.sub(lambda match: match[1] + match[2].replace("_", " "), text)
    return _EMPHASIS.sub("", text)


def is_table_row(text: str) -> bool:
    return text.lstrip().startswith("|") and text.count("|") >= 2 and "\n" not in text.strip()


def table_cells(row: str) -> list[str]:
    cells = row.strip().strip("|").split("|")
    return [_EMPHASIS.sub("", cell).strip() for cell in cells]


def table_header(passage: str, start: int) -> list[str]:
    """The header cells of the Markdown table the row at ``start`` belongs to, if in view."""
    lines = passage[:start].splitlines()
    block: list[str] = []
    for line in reversed(lines):
        if not line.strip():
            if block:
                break
            continue
        if not line.lstrip().startswith("|"):
            break
        block.insert(0, line)
    if len(block) >= 2 and _TABLE_SEPARATOR.match(block[1]):
        return table_cells(block[0])
    return []


def is_table_header(passage: str, start: int, end: int) -> bool:
    """A header row or a separator row: it names columns, it answers nothing."""
    row = passage[start:end]
    if _TABLE_SEPARATOR.match(row):
        return True
    following = passage[end:].lstrip("\n").split("\n", 1)[0]
    return is_table_row(row) and bool(_TABLE_SEPARATOR.match(following))


def render_table_row(row: str, header: Sequence[str]) -> str:
    """``| Team | $14 | $144 |`` under ``Plan | Monthly | Annual`` as "Team — Monthly: $14; ..."."""
    cells = table_cells(row)
    if len(header) != len(cells) or len(cells) < 2:
        return "; ".join(cell for cell in cells if cell)
    pairs = [f"{name}: {value}" for name, value in zip(header[1:], cells[1:]) if value]
    return f"{cells[0]} — " + "; ".join(pairs)


def content_words(text: str) -> set[str]:
    return {word.lower() for word in _WORD.findall(text) if word.lower() not in STOPWORDS}


def word_count(text: str) -> int:
    return len(_WORD.findall(text))


def cosine(left: Sequence[float] | Vectors, right: Sequence[float] | Vectors) -> float:
    return float(cosines(np.asarray(left, dtype=np.float64)[np.newaxis], right)[0])


def cosines(rows: Vectors, vector: Sequence[float] | Vectors) -> Vectors:
    """The cosine similarity of each of ``rows`` (a matrix, one vector per row) to ``vector``;
    0 where either is all zeros."""
    target = np.asarray(vector, dtype=np.float64)
    norms = np.linalg.norm(rows, axis=1) * np.linalg.norm(target)
    dots = rows @ target
    return np.divide(dots, norms, out=np.zeros_like(dots), where=norms != 0)


STOPWORDS = frozenset(
    {
        *("a", "an", "and", "are", "as", "at", "be", "by", "can", "could", "do", "does", "for"),
        *("from", "how", "i", "if", "in", "is", "it", "its", "me", "my", "of", "on", "or", "our"),
        *("should", "so", "that", "the", "their", "there", "this", "to", "was", "we", "what"),
        *("when", "where", "which", "who", "why", "will", "with", "you", "your", "yours"),
    }
)
