"""The files a run ingests, and what is known of a file before it is read."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

from ragkit.readers import SUPPORTED_EXTENSIONS


def collect_files(paths: Iterable[Path]) -> list[Path]:
    """Files named directly, and supported files found under named folders (sorted)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(child for child in path.rglob("*") if _ingestible(child, path)))
        else:
            found.append(path)
    return found


def _ingestible(child: Path, folder: Path) -> bool:
    """A supported file, not hidden nor inside a hidden folder under ``folder``."""
    return (
        child.is_file()
        and child.suffix.lower() in SUPPORTED_EXTENSIONS
        and not any(part.startswith(".") for part in child.relative_to(folder).parts)
    )


def file_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def title_from_path(path: Path) -> str:
    return path.stem.replace("_", " ").replace("-", " ").strip().capitalize() or path.name
