"""The web app and the workers use ragkit through its public API only."""

from __future__ import annotations

import ast
from pathlib import Path

import ragkit

ROOT = Path(__file__).resolve().parent.parent


def test_web_app_and_workers_import_only_the_ragkit_package() -> None:
    reaching_in = []
    for package in ("webapp", "workers"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                modules = []
                if isinstance(node, ast.ImportFrom) and node.module:
                    modules = [node.module]
                elif isinstance(node, ast.Import):
                    modules = [alias.name for alias in node.names]
                reaching_in += [
                    f"{path.relative_to(ROOT)}:{node.lineno} {module}"
                    for module in modules
                    if module.startswith("ragkit.")
                ]
    assert reaching_in == []


def test_every_public_name_resolves() -> None:
    assert sorted(ragkit.__all__) == sorted(ragkit._HOMES)
    for name in ragkit.__all__:
        assert getattr(ragkit, name) is not None, name
