"""The chat endpoint's answers on a fixed set of conversations stay what they were recorded as.

``tests/data/chat_answers.json`` holds each question's answer text and citations as the
endpoint gave them on the example documents; a change meant to make answering faster must not
change them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.fixtures import Account, AuthActions

RECORDED = Path(__file__).resolve().parent.parent / "data" / "chat_answers.json"
# Scores are stored rounded to 4 places: a last-digit wobble of the float sums is no change.
SCORE_TOLERANCE = 2e-4


def recorded() -> list[dict[str, Any]]:
    return json.loads(RECORDED.read_text(encoding="utf-8"))["conversations"]


@pytest.fixture(scope="module")
def help_center(app: Flask, example_docs: Path) -> Account:
    """An organization holding every example document."""
    client = app.test_client()
    account = AuthActions(client).register("Answers Recorded")
    for path in sorted(example_docs.iterdir()):
        with path.open("rb") as handle:
            response = client.post(
                "/api/v1/documents/",
                data={"file": (handle, path.name)},
                headers=account.headers,
                content_type="multipart/form-data",
            )
        assert response.status_code == 201 and response.json["status"] == "ready", response.json
    return account


def answered(message: dict[str, Any]) -> dict[str, Any]:
    """What a user reads of an answer: its text, whether it abstained, what it cites."""
    citations = [
        {key: citation[key] for key in ("n", "source", "page", "section", "quote", "score")}
        for citation in message["citations"]
    ]
    return {
        "content": message["content"],
        "abstained": message["abstained"],
        "citations": citations,
    }


def converse(app: Flask, account: Account, questions: list[str]) -> list[dict[str, Any]]:
    """Ask ``questions`` one after another in a new conversation; each answer as read."""
    client = app.test_client()
    created = client.post("/api/v1/chat/conversations/", json={}, headers=account.headers)
    url = f"/api/v1/chat/conversations/{created.json['id']}/messages/"
    answers = []
    for question in questions:
        response = client.post(url, json={"content": question}, headers=account.headers)
        assert response.status_code == 201, response.json
        answers.append(answered(response.json["assistant_message"]))
    return answers


def assert_same_answer(answer: dict[str, Any], expected: dict[str, Any], question: str) -> None:
    scores = [citation.pop("score") for citation in answer["citations"]]
    expected_scores = [citation["score"] for citation in expected["citations"]]
    expected_rest = {
        **expected,
        "citations": [
            {key: value for key, value in citation.items() if key != "score"}
            for citation in expected["citations"]
        ],
    }
    assert answer == expected_rest, question
    assert scores == pytest.approx(expected_scores, abs=SCORE_TOLERANCE), question


@pytest.mark.parametrize("conversation", recorded(), ids=lambda conversation: conversation["id"])
def test_chat_answers_are_the_recorded_ones(
    app: Flask, help_center: Account, conversation: dict[str, Any]
) -> None:
    questions = [turn["question"] for turn in conversation["turns"]]

    answers = converse(app, help_center, questions)

    for answer, turn in zip(answers, conversation["turns"], strict=True):
        assert_same_answer(answer, turn["answer"], turn["question"])
