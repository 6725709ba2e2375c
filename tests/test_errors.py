"""Every error ragkit raises on purpose is a ``RagkitError`` defined in ``ragkit.errors`` and
exported by the package, so callers catch them without reaching into ragkit's modules."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator

import pytest

import ragkit
from ragkit.errors import RagkitError


def subclasses(kind: type[RagkitError]) -> Iterator[type[RagkitError]]:
    for subclass in kind.__subclasses__():
        yield subclass
        yield from subclasses(subclass)


@pytest.fixture(scope="module")
def ragkit_errors() -> list[type[RagkitError]]:
    """Every subclass of ``RagkitError`` once all of ragkit's modules are imported."""
    for module in pkgutil.walk_packages(ragkit.__path__, "ragkit."):
        importlib.import_module(module.name)
    found = [kind for kind in subclasses(RagkitError) if kind.__module__.startswith("ragkit.")]
    assert found, "no subclass of RagkitError was found"
    return found


def test_every_ragkit_error_is_defined_in_ragkit_errors(
    ragkit_errors: list[type[RagkitError]],
) -> None:
    elsewhere = [f"{kind.__module__}.{kind.__name__}" for kind in ragkit_errors]
    elsewhere = [name for name in elsewhere if not name.startswith("ragkit.errors.")]

    assert elsewhere == []


def test_every_ragkit_error_is_exported_by_the_package(
    ragkit_errors: list[type[RagkitError]],
) -> None:
    for kind in [RagkitError, *ragkit_errors]:
        assert kind.__name__ in ragkit.__all__
        assert getattr(ragkit, kind.__name__) is kind


def test_every_public_name_is_listed_where_it_lives() -> None:
    assert sorted(ragkit.__all__) == sorted(ragkit._HOMES)
    for name in ragkit.__all__:
        assert getattr(ragkit, name) is not None


def test_reindex_failed_is_still_importable_from_the_reindex_module() -> None:
    from ragkit.reindex import ReindexFailed

    assert ReindexFailed is ragkit.ReindexFailed
    assert issubclass(ReindexFailed, RagkitError)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'NotAnError'"):
        ragkit.NotAnError  # noqa: B018
