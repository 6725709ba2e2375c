"""Every ragkit error has a deliberate HTTP status and comes out of a request in the one JSON
error shape, with that status and a code that names it."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.test import TestResponse

import ragkit
from ragkit import RagKit, RagkitError
from tests.fixtures import Account
from webapp import create_app
from webapp.errors import RAGKIT_CODES, RAGKIT_STATUSES, code_for, ragkit_code_for, status_for


def all_ragkit_errors() -> list[type[RagkitError]]:
    for module in pkgutil.walk_packages(ragkit.__path__, "ragkit."):
        importlib.import_module(module.name)
    found: list[type[RagkitError]] = []
    pending = [RagkitError]
    while pending:
        for subclass in pending.pop().__subclasses__():
            found.append(subclass)
            pending.append(subclass)
    return sorted(found, key=lambda kind: kind.__name__)


RAGKIT_ERRORS = all_ragkit_errors()


def test_every_ragkit_error_has_a_deliberate_status() -> None:
    unmapped = [kind.__name__ for kind in RAGKIT_ERRORS if kind not in RAGKIT_STATUSES]

    assert RAGKIT_ERRORS
    assert unmapped == []


def test_a_subclass_takes_its_own_status_not_its_base_class() -> None:
    too_large = ragkit.DocumentTooLarge("the file has more than 10 pages")
    unreadable = ragkit.DocumentReadError("the PDF is encrypted")

    assert status_for(too_large) == 413
    assert status_for(unreadable) == 422
    assert ragkit_code_for(too_large) == "document_too_large"
    assert ragkit_code_for(unreadable) == code_for(422)


def test_an_unlisted_subclass_falls_back_to_its_base_class() -> None:
    class PasswordProtected(ragkit.DocumentReadError):
        pass

    assert status_for(PasswordProtected("locked")) == RAGKIT_STATUSES[ragkit.DocumentReadError]


@pytest.fixture(scope="module")
def raising_app(app_config: dict[str, Any], redis_url: str, kit: RagKit) -> Iterator[Flask]:
    """The app with one more route, which raises the ragkit error it is named after."""
    # The rate limiter's storage is module-level: it must keep the test Redis.
    application = create_app({**app_config, "RATELIMIT_STORAGE_URI": redis_url})
    application.extensions["ragkit"] = kit
    errors = {kind.__name__: kind for kind in RAGKIT_ERRORS}

    def fail(name: str) -> None:
        raise errors[name](f"{name} raised on purpose")

    application.add_url_rule("/raise/<name>", view_func=fail)
    yield application


@pytest.mark.parametrize("kind", RAGKIT_ERRORS, ids=lambda kind: kind.__name__)
def test_a_request_that_raises_a_ragkit_error_answers_its_status(
    raising_app: Flask, kind: type[RagkitError]
) -> None:
    response = raising_app.test_client().get(f"/raise/{kind.__name__}")

    status = RAGKIT_STATUSES[kind]
    assert response.status_code == status
    assert response.json == {
        "code": RAGKIT_CODES.get(kind, code_for(status)),
        "status": status,
        "message": f"{kind.__name__} raised on purpose",
        "errors": {},
    }


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [
        (ragkit.DocumentChanged, 409, "document_changed"),
        (ragkit.DocumentTooLarge, 413, "document_too_large"),
        (ragkit.UnsupportedFileType, 415, "unsupported_media_type"),
        (ragkit.DocumentReadError, 422, "unprocessable_entity"),
        (ragkit.ReindexFailed, 500, "reindex_failed"),
        (ragkit.EmbeddingError, 503, "service_unavailable"),
    ],
)
def test_errors_clients_act_on_have_these_statuses(
    raising_app: Flask, kind: type[RagkitError], status: int, code: str
) -> None:
    response = raising_app.test_client().get(f"/raise/{kind.__name__}")

    assert (response.status_code, response.json["code"]) == (status, code)


def test_an_upload_ragkit_refuses_answers_the_status_of_its_error(
    owner: Account, upload: Callable[..., TestResponse], tmp_path: Path
) -> None:
    fake = tmp_path / "manual.pdf"
    fake.write_text("This is a plain text file with a PDF name.\n")

    response = upload(owner, fake)

    status = RAGKIT_STATUSES[ragkit.UnsupportedFileType]
    assert response.status_code == status, response.json
    assert response.json["code"] == code_for(status)
    assert "manual.pdf is not a valid PDF file" in response.json["message"]
