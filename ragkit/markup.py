"""Markdown without its HTML: the text a reader sees, never markup a browser would run.

Markdown may embed raw HTML (``<script>``, ``<img onerror=...>``, whole HTML blocks) and links
to any scheme (``[click](javascript:...)``). Chunks, answers and citation quotes are text, so
the raw HTML is reduced to its visible text as the HTML reader does (scripts, styles and hidden
elements dropped), and a link or image whose target is not a web, mail or relative address
keeps only its text. Code (fenced blocks and backtick spans) is kept as written: Markdown
shows it as text, and a support article may well show the HTML to paste into a page. The rest
stays Markdown source: emphasis, safe links and entities (``&lt;``) are left as they are.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

INVISIBLE_TAGS = frozenset(
    {"script", "style", "noscript", "template", "iframe", "svg", "head", "nav", "button", "form"}
    | {"object", "embed", "applet"}
)
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
# Within a line and bounded, so that a text of unmatched backticks is not searched end to end
# from each of them.
CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)([^\n]{1,500}?)(?<!`)\1(?!`)")
# What the HTML parser would take for markup: a tag, a closing tag, a comment or declaration.
MARKUP = re.compile(r"<[A-Za-z/!?]")
AUTOLINK = re.compile(r"<([A-Za-z][A-Za-z0-9+.-]{1,31}:[^\s<>]*+)>")
EMAIL_AUTOLINK = re.compile(r"<([^\s<>@]++@[^\s<>@]++)>")
LINK = re.compile(
    r"(!?)\[((?:[^\[\]]|\[[^\[\]]*+\])*+)\]"  # [text] or ![alt], one level of nested brackets
    # (target "title"), read as leniently as the loosest renderer: spaces and one level of
    # parentheses in the target, which an unquoted title then joins.
    # (possessive: a text of unclosed links is read once, not once per way to split it).
    r"\(\s*+(<[^<>\n]*+>|[^()\n]*+(?:\([^()\n]*+\)[^()\n]*+)*+)\)"
)
DEFINITION = re.compile(r"^ {0,3}\[[^\]\n]++\]:[ \t]*+<?([^\s>]*+)>?.*$", re.MULTILINE)
SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*):")
SAFE_SCHEMES = frozenset({"http", "https", "mailto", "tel", "ftp", "ftps"})
# Browsers ignore these inside a URL, so ``java\tscript:`` is still ``javascript:``.
IGNORED_IN_URLS = re.compile(r"[\x00-\x20\x7f]")
PLACEHOLDER = "\ue000{}\ue001"
PLACEHOLDERS = re.compile("\ue000(\\d+)\ue001")


def strip_markdown_html(markdown: str) -> str:
    """``markdown`` with raw HTML reduced to text and unsafe link targets removed."""
    lines: list[str] = []
    prose: list[str] = []
    for line, is_code in _code_lines(markdown.split("\n")):
        if is_code:
            if prose:
                lines.append(safe_prose("\n".join(prose)))
                prose = []
            lines.append(line)
        else:
            prose.append(line)
    if prose:
        lines.append(safe_prose("\n".join(prose)))
    return "\n".join(lines)


def _code_lines(lines: list[str]) -> Iterator[tuple[str, bool]]:
    """Each line, and whether it belongs to a fenced code block (its fences excluded)."""
    fence: str | None = None
    for line in lines:
        opening = FENCE.match(line)
        if fence is None:
            if opening:
                fence = opening.group(1)
                info = line[opening.end() :]  # the code's language; not code itself
                yield line[: opening.end()] + safe_prose(info), True
                continue
            yield line, False
        else:
            if _closes(opening, fence, line):
                fence = None
            yield line, True


def _closes(fence_match: re.Match[str] | None, fence: str, line: str) -> bool:
    """A closing fence: the same character, at least as many, nothing after them."""
    if fence_match is None:
        return False
    marks = fence_match.group(1)
    return (
        marks[0] == fence[0] and len(marks) >= len(fence) and not line[fence_match.end() :].strip()
    )


def safe_prose(text: str) -> str:
    """Prose with its HTML reduced to text and its unsafe links reduced to their text."""
    code: list[str] = []

    def keep(match: re.Match[str]) -> str:
        code.append(match.group(0))
        return PLACEHOLDER.format(len(code) - 1)

    text = CODE_SPAN.sub(keep, text)
    text = AUTOLINK.sub(lambda match: match.group(1) if is_safe_url(match.group(1)) else "", text)
    text = EMAIL_AUTOLINK.sub(lambda match: match.group(1), text)
    if MARKUP.search(text):
        text = html_to_text(text)
    text = LINK.sub(_safe_link, text)
    text = DEFINITION.sub(lambda match: match.group(0) if is_safe_url(match.group(1)) else "", text)
    return PLACEHOLDERS.sub(lambda match: _nth(code, int(match.group(1))), text)


def _nth(code: list[str], number: int) -> str:
    return code[number] if number < len(code) else ""  # a placeholder the source itself held


def html_to_text(fragment: str) -> str:
    """The visible text of an HTML fragment inside Markdown, entities left as written.

    What the parser leaves of an unfinished tag (``<img src=x onerror=...`` at the end) has
    its ``<`` written as ``&lt;``, which Markdown shows as the character itself.
    """
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(fragment.replace("&", "&amp;"), "lxml")
    for tag in soup.find_all(list(INVISIBLE_TAGS)):
        tag.decompose()
    for tag in soup.find_all(hidden=True):
        tag.decompose()
    for tag in soup.find_all("br"):
        tag.replace_with("\n")
    return MARKUP.sub(lambda match: "&lt;" + match.group(0)[1:], soup.get_text())


def _safe_link(match: re.Match[str]) -> str:
    text, target = match.group(2), match.group(3)
    if is_safe_url(target.strip("<>")):
        return match.group(0)
    return text  # an image's alternative text


def is_safe_url(url: str) -> bool:
    """A web, mail or telephone address, or one relative to the document (no other scheme)."""
    cleaned = IGNORED_IN_URLS.sub("", html.unescape(url)).lower()
    scheme = SCHEME.match(cleaned)
    return scheme is None or scheme.group(1) in SAFE_SCHEMES
