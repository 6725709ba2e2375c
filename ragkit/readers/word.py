"""DOCX: one unit per section, a paragraph in a Heading style starting the next."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

from llama_index.core import Document as LlamaDocument

from ragkit.readers.base import BoundedReader, Sections

HEADING_STYLE = re.compile(r"^(heading \d|title)$", re.IGNORECASE)


class SectionedDocxReader(BoundedReader):
    """DOCX, one document per section: a paragraph in a Heading style starts a new one."""

    def load_data(
        self, file: Path, extra_info: dict[str, Any] | None = None
    ) -> list[LlamaDocument]:
        import docx

        with zipfile.ZipFile(file) as archive:
            self.limits.check_archive(archive, Path(file).stat().st_size)
        sections = Sections()
        for block in _docx_blocks(docx.Document(str(file))):
            text, is_heading = block
            if is_heading:
                sections.start(text)
            sections.add(text)
        documents = sections.documents()
        self.limits.check_text(sum(len(document.text) for document in documents))
        return documents


def _docx_blocks(document: Any) -> list[tuple[str, bool]]:
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    blocks: list[tuple[str, bool]] = []
    for item in document.iter_inner_content():
        if isinstance(item, Paragraph):
            text = item.text.strip()
            style = item.style.name if item.style is not None else ""
            if text:
                blocks.append((text, bool(HEADING_STYLE.match(style or ""))))
        elif isinstance(item, Table):
            for row in item.rows:
                cells = [cell.text.strip() for cell in row.cells if cell.text.strip()]
                if cells:
                    blocks.append((" | ".join(dict.fromkeys(cells)), False))
    return blocks


def docx_title(path: Path) -> str | None:
    import docx

    return str(docx.Document(str(path)).core_properties.title or "") or None
