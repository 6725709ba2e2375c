"""Hostile Markdown uploaded through the API never comes back as markup, by any answer path.

The file carries ``<script>``, ``<img onerror>``, ``javascript:`` links (raw, Markdown,
reference, autolink, mixed case, entity-encoded), raw HTML blocks, an iframe and an SVG; a
second file is an HTML page named ``.md``. Answers, citation quotes, streamed deltas, stored
messages, the public widget's answers and its cited passages are searched for a tag or a
``javascript:`` scheme, after checking that they do quote the files' text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.fixtures import Account, AuthActions
from tests.hostile_corpus import HOSTILE_MARKDOWN, HTML_PAGE
from tests.webapp.test_public_widget import ORIGIN, create_widget, visit

TAG = re.compile(r"<\s*/?\s*[A-Za-z!?]")
SCRIPT_SCHEME = re.compile(r"(java|vb)script\s*:", re.IGNORECASE)
QUESTIONS = {
    "How long is the password reset link valid?": "30 minutes",
    "When are invoices sent?": "first day of each month",
    "What are the support hours?": "9:00 to 17:00",
}


def strings(value: Any) -> Iterator[str]:
    """Every string in a JSON value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def assert_no_markup(where: str, value: Any) -> None:
    for text in strings(value):
        assert not TAG.search(text), f"{where}: markup in {text!r}"
        assert not SCRIPT_SCHEME.search(text), f"{where}: script URL in {text!r}"
        assert "alert(" not in text and "onerror" not in text, f"{where}: script in {text!r}"


def events(body: str) -> list[tuple[str, Any]]:
    parsed = []
    for block in body.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        parsed.append((lines["event"], json.loads(lines["data"])))
    return parsed


@pytest.fixture(scope="module")
def hostile_account(app: Flask, tmp_path_factory: pytest.TempPathFactory) -> Account:
    """An organization whose only documents are the hostile Markdown and the HTML named .md."""
    client = app.test_client()
    account = AuthActions(client).register("Hostile Markup Ltd")
    folder = tmp_path_factory.mktemp("hostile")
    for name, text in (("reset-guide.md", HOSTILE_MARKDOWN), ("billing.md", HTML_PAGE)):
        path = folder / name
        path.write_text(text)
        with path.open("rb") as handle:
            response = client.post(
                "/api/v1/documents/",
                data={"file": (handle, name)},
                headers=account.headers,
                content_type="multipart/form-data",
            )
        assert response.status_code == 201 and response.json["status"] == "ready", response.json
    return account


def conversation(client: FlaskClient, account: Account) -> str:
    response = client.post("/api/v1/chat/conversations/", json={}, headers=account.headers)
    assert response.status_code == 201, response.json
    return response.json["id"]


def assert_quotes(answer: dict, expected: str) -> None:
    """The answer does come from the hostile files: the check below is not of an empty answer."""
    text = answer["content"] + " ".join(c["quote"] for c in answer["citations"])
    assert expected in text, answer
    assert {Path(c["source"]).name for c in answer["citations"]} <= {"reset-guide.md", "billing.md"}


def test_chat_answers_and_their_citations_carry_no_markup(
    client: FlaskClient, hostile_account: Account
) -> None:
    conversation_id = conversation(client, hostile_account)
    url = f"/api/v1/chat/conversations/{conversation_id}/messages/"
    for question, expected in QUESTIONS.items():
        response = client.post(url, json={"content": question}, headers=hostile_account.headers)
        assert response.status_code == 201, response.json
        assert_quotes(response.json["assistant_message"], expected)
        assert_no_markup(question, response.json)
    stored = client.get(url, headers=hostile_account.headers)
    assert len(stored.json) == 2 * len(QUESTIONS)
    assert_no_markup("stored messages", stored.json)


def test_streamed_deltas_citations_and_final_message_carry_no_markup(
    client: FlaskClient, hostile_account: Account
) -> None:
    conversation_id = conversation(client, hostile_account)
    for question, expected in QUESTIONS.items():
        response = client.post(
            f"/api/v1/chat/conversations/{conversation_id}/messages/stream",
            json={"content": question},
            headers=hostile_account.headers,
        )
        assert response.status_code == 200
        body = response.get_data(as_text=True)
        streamed = events(body)
        assert streamed[-1][0] == "done"
        assert_quotes(streamed[-1][1]["assistant_message"], expected)
        assert_no_markup(f"stream of {question!r}", [data for _, data in streamed])
        deltas = "".join(data["text"] for name, data in streamed if name == "delta")
        assert_no_markup("the deltas joined", deltas)  # no tag split across deltas


def test_the_public_widget_answers_and_cited_passages_carry_no_markup(
    client: FlaskClient, hostile_account: Account
) -> None:
    visitor = visit(client, create_widget(client, hostile_account)["public_key"])
    for question, expected in QUESTIONS.items():
        response = client.post(
            f"{visitor.url}/messages", json={"content": question}, headers=visitor.headers
        )
        assert response.status_code == 201, response.json
        answer = response.json["assistant_message"]
        assert_quotes(answer, expected)
        assert_no_markup(f"widget answer to {question!r}", response.json)
        for citation in answer["citations"]:
            passage = client.get(
                f"{visitor.url}/messages/{answer['id']}/citations/{citation['n']}",
                headers=visitor.headers,
            )
            assert passage.status_code == 200, passage.json
            assert_no_markup("cited passage", passage.json)
    streamed = client.post(
        f"{visitor.url}/messages/stream",
        json={"content": next(iter(QUESTIONS))},
        headers={**visitor.headers, "Origin": ORIGIN},
    )
    assert streamed.status_code == 200
    assert_no_markup("widget stream", [data for _, data in events(streamed.get_data(True))])
