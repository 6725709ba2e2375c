"""schemathesis against the app's own OpenAPI spec: no 5xx and no response the spec does not
describe, for valid and invalid requests to every operation, authenticated and public.

Each case runs with a fresh owner's token (so a fuzzed logout revokes nothing the next case
needs); positive cases of the public widget routes use a real widget key, conversation and
visitor token, so they reach the views instead of stopping at 404. Bounded by
``RAGKIT_FUZZ_EXAMPLES`` examples per operation (default 6: about a minute on two cores);
``python -m benchmarks.fuzz`` runs it longer and records the figures
(``RAGKIT_FUZZ_REPORT`` names the JSON file the counts are written to).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask_jwt_extended import create_access_token
from hypothesis import HealthCheck, assume, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.fixtures import Account
from tests.webapp.test_public_widget import ORIGIN, Visitor, create_widget, visit
from webapp import create_app
from webapp.request_checks import storable, strings_in

EXAMPLES = int(os.environ.get("RAGKIT_FUZZ_EXAMPLES", "6"))
PUBLIC_PREFIX = "/api/v1/public/widgets/"
# A schema cannot say which bytes are a document (415), which strings are URLs, host names and
# colours, or which embedding models this deployment allows (422): generated "valid" data
# gets a documented refusal there, which the positive-data check would count as a failure.
REFUSED_BY_MEANING = {
    ("POST", "/api/v1/documents/"),
    ("PATCH", "/api/v1/organizations/current"),
    ("POST", "/api/v1/widgets/"),
    ("PATCH", "/api/v1/widgets/{widget_id}"),
    ("POST", "/api/v1/reindex/"),
}


@dataclass
class Tally:
    """What the run did: cases sent, statuses seen, operations whose checks failed."""

    cases: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: set[str] = field(default_factory=set)

    def as_dict(self) -> dict[str, Any]:
        return {
            "examples_per_operation": EXAMPLES,
            "cases": self.cases,
            "statuses": {str(code): count for code, count in sorted(self.statuses.items())},
            "server_errors": sum(n for code, n in self.statuses.items() if code >= 500),
            "failing_operations": sorted(self.failures),
        }


TALLY = Tally()


@dataclass
class Target:
    """The owner the authenticated cases run as, and a real visitor for the public routes."""

    app: Flask
    owner: Account
    visitor: Visitor

    def owner_headers(self) -> dict[str, str]:
        with self.app.app_context():
            return {"Authorization": f"Bearer {create_access_token(self.owner.user_id)}"}


@pytest.fixture
def target(app: Flask, owner: Account) -> Target:
    client = app.test_client()
    widget = create_widget(client, owner, allowed_domains=["help.example.com"])
    return Target(app, owner, visit(client, widget["public_key"]))


@pytest.fixture(scope="module", autouse=True)
def report() -> Iterator[None]:
    yield
    path = os.environ.get("RAGKIT_FUZZ_REPORT")
    if path:
        Path(path).write_text(json.dumps(TALLY.as_dict(), indent=2) + "\n")


def app_spec() -> dict[str, Any]:
    """The spec as the app serves it, read at collection (building the app connects nothing)."""
    redis_url = os.environ.get("WEBAPP_TEST_REDIS_URL", "redis://127.0.0.1:6379/11")
    # The rate limiter's storage follows the app built last: keep it on the tests' Redis.
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": "postgresql://spec@127.0.0.1:9/spec",
            "REDIS_URL": redis_url,
            "RATELIMIT_STORAGE_URI": redis_url,
        }
    )
    return app.test_client().get("/api/openapi.json").json


schema = schemathesis.openapi.from_dict(app_spec())


def aim(case: Any, target: Target) -> dict[str, str]:
    """The headers of ``case``; public positive cases aimed at the real widget conversation."""
    if not case.path.startswith(PUBLIC_PREFIX):
        return target.owner_headers()
    headers = {"Origin": ORIGIN}
    if case.meta is not None and case.meta.generation.mode.is_positive:
        parameters = case.path_parameters or {}
        parameters["key"] = target.visitor.key
        if "conversation_id" in parameters:
            parameters["conversation_id"] = target.visitor.conversation_id
        case.path_parameters = parameters
        headers["Authorization"] = f"Bearer {target.visitor.token}"
    return headers


def storable_text(case: Any) -> bool:
    """Whether every string of the case can be stored: text with a NUL or a lone surrogate is
    refused with 400 on every route before validation (docs/api.md; test_hostile_input.py)."""
    parts = (case.body, case.query, case.path_parameters, case.headers)
    return all(storable(text) for part in parts for text in strings_in(part))


def excluded(case: Any) -> list[Any]:
    """Valid-looking data these operations refuse by meaning, not by shape (documented 4xx)."""
    if (case.method.upper(), case.path) in REFUSED_BY_MEANING:
        return [positive_data_acceptance]
    return []


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_the_api_answers_as_its_spec_says(case: Any, target: Target) -> None:
    positive = case.meta is not None and case.meta.generation.mode.is_positive
    if positive:
        assume(storable_text(case))
    # Positive cases run as the owner; negative ones keep whatever credential they test.
    generated = case.headers or {}
    ours = aim(case, target)
    headers = {**generated, **ours} if positive else {**ours, **generated}
    # The session's app answers, also the probes that checks send of their own.
    case.operation.app = case.operation.schema.app = target.app
    response = case.call(headers=headers)
    TALLY.cases += 1
    TALLY.statuses[response.status_code] += 1
    try:
        case.validate_response(response, headers=headers, excluded_checks=excluded(case))
    except Exception as failure:
        TALLY.failures.add(f"{case.operation.label}: {type(failure).__name__}")
        raise
