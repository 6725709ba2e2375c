"""Conversations, answers with citations (also streamed), follow-ups and feedback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from tests.fixtures import Account, AuthActions, Library

CITATION_FIELDS = {
    "n",
    "chunk_id",
    "document_id",
    "title",
    "source",
    "page",
    "section",
    "quote",
    "score",
}


def start(client: FlaskClient, account: Account, title: str = "") -> str:
    response = client.post(
        "/api/v1/chat/conversations/", json={"title": title}, headers=account.headers
    )
    assert response.status_code == 201, response.json
    return response.json["id"]


def ask(client: FlaskClient, account: Account, conversation_id: str, question: str):
    return client.post(
        f"/api/v1/chat/conversations/{conversation_id}/messages/",
        json={"content": question},
        headers=account.headers,
    )


@pytest.fixture(scope="module")
def exchange(app, library: Library) -> dict:
    """One question about page 2 of the troubleshooting guide, asked once for several tests."""
    client = app.test_client()
    conversation_id = start(client, library.account)
    response = ask(client, library.account, conversation_id, "What does error E-1042 mean?")
    assert response.status_code == 201, response.json
    return {"conversation_id": conversation_id, **response.json}


def test_full_flow_register_upload_ask_cites_the_pdf_page(
    client: FlaskClient, auth: AuthActions, upload, example_docs: Path
) -> None:
    account = auth.register("Flow Inc")
    document = upload(account, example_docs / "troubleshooting.pdf").json
    assert document["status"] == "ready"
    conversation_id = start(client, account)

    response = ask(client, account, conversation_id, "What does error E-1042 mean?")

    assert response.status_code == 201
    answer = response.json["assistant_message"]
    assert not answer["abstained"]
    assert any(
        citation["document_id"] == document["id"] and citation["page"] == 2
        for citation in answer["citations"]
    )
    assert "E-1042" in answer["content"] or any("E-1042" in c["quote"] for c in answer["citations"])


def test_the_exchange_stores_both_messages_with_timing_and_model(
    exchange: dict, library: Library
) -> None:
    asked, answered = exchange["user_message"], exchange["assistant_message"]

    assert (asked["role"], asked["content"]) == ("user", "What does error E-1042 mean?")
    assert answered["role"] == "assistant"
    assert answered["response_time"] > 0
    assert answered["llm_model"]
    citation = answered["citations"][0]
    assert set(citation) == CITATION_FIELDS
    assert citation["source"] == "troubleshooting.pdf"
    assert citation["title"] == library.documents["troubleshooting.pdf"]["title"]


def test_messages_list_the_exchange_with_citations(
    client: FlaskClient, exchange: dict, library: Library
) -> None:
    response = client.get(
        f"/api/v1/chat/conversations/{exchange['conversation_id']}/messages/",
        headers=library.account.headers,
    )

    assert response.status_code == 200
    assert [message["id"] for message in response.json] == [
        exchange["user_message"]["id"],
        exchange["assistant_message"]["id"],
    ]
    assert response.json[1]["citations"] == exchange["assistant_message"]["citations"]


def test_the_first_question_titles_the_conversation(
    client: FlaskClient, exchange: dict, library: Library
) -> None:
    response = client.get(
        f"/api/v1/chat/conversations/{exchange['conversation_id']}", headers=library.account.headers
    )

    assert response.json["title"] == "What does error E-1042 mean?"


def test_a_follow_up_uses_the_conversation_history(client: FlaskClient, library: Library) -> None:
    conversation_id = start(client, library.account)
    ask(client, library.account, conversation_id, "What does error E-1042 mean?")

    follow_up = ask(client, library.account, conversation_id, "How do I fix it?").json

    citations = follow_up["assistant_message"]["citations"]
    assert any(citation["page"] == 2 for citation in citations)


def test_a_question_the_documents_cannot_answer_abstains(
    client: FlaskClient, owner: Account
) -> None:
    conversation_id = start(client, owner)

    response = ask(client, owner, conversation_id, "What is the boiling point of tungsten?")

    assert response.status_code == 201
    assert response.json["assistant_message"]["abstained"] is True
    assert response.json["assistant_message"]["citations"] == []


def test_streaming_sends_citations_deltas_then_the_stored_message(
    client: FlaskClient, library: Library
) -> None:
    conversation_id = start(client, library.account)

    response = client.post(
        f"/api/v1/chat/conversations/{conversation_id}/messages/stream",
        json={"content": "What does error E-1042 mean?"},
        headers=library.account.headers,
    )

    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    events = parse_events(response.get_data(as_text=True))
    names = [name for name, _ in events]
    assert names[0] == "citations" and names[-1] == "done"
    assert set(names[1:-1]) == {"delta"}
    text = "".join(data["text"] for name, data in events if name == "delta")
    done = events[-1][1]
    assert done["assistant_message"]["content"] == text
    assert any(citation["page"] == 2 for citation in done["assistant_message"]["citations"])
    stored = client.get(
        f"/api/v1/chat/conversations/{conversation_id}/messages/", headers=library.account.headers
    ).json
    assert [message["id"] for message in stored] == [
        done["user_message"]["id"],
        done["assistant_message"]["id"],
    ]


def parse_events(body: str) -> list[tuple[str, dict]]:
    events = []
    for block in body.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"content": ""},
        {"content": "   "},
        {"content": 42},
        {"content": "q", "top_k": 0},
        {"content": "q", "mode": "magic"},
        {"content": "q", "document_ids": ["nope"]},
    ],
)
def test_invalid_questions_are_422(client: FlaskClient, owner: Account, body: dict) -> None:
    conversation_id = start(client, owner)

    response = client.post(
        f"/api/v1/chat/conversations/{conversation_id}/messages/", json=body, headers=owner.headers
    )

    assert response.status_code == 422


def test_conversations_can_be_listed_renamed_and_deleted(
    client: FlaskClient, owner: Account
) -> None:
    conversation_id = start(client, owner, "Billing")
    url = f"/api/v1/chat/conversations/{conversation_id}"

    listed = client.get("/api/v1/chat/conversations/", headers=owner.headers).json
    renamed = client.patch(url, json={"title": "Invoices"}, headers=owner.headers)
    deleted = client.delete(url, headers=owner.headers)

    assert [item["id"] for item in listed["items"]] == [conversation_id]
    assert renamed.json["title"] == "Invoices"
    assert deleted.status_code == 204
    assert client.get(url, headers=owner.headers).status_code == 404


def test_members_see_their_own_conversations_and_owners_all(
    client: FlaskClient, auth: AuthActions, owner: Account
) -> None:
    member = auth.invite(owner)
    owners = start(client, owner, "owner's")
    members = start(client, member, "member's")

    seen_by_member = client.get("/api/v1/chat/conversations/", headers=member.headers).json
    seen_by_owner = client.get("/api/v1/chat/conversations/", headers=owner.headers).json

    assert [item["id"] for item in seen_by_member["items"]] == [members]
    assert {item["id"] for item in seen_by_owner["items"]} == {owners, members}
    assert (
        client.get(f"/api/v1/chat/conversations/{owners}", headers=member.headers).status_code
        == 404
    )


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("get", "", None),
        ("patch", "", {"title": "mine"}),
        ("delete", "", None),
        ("get", "/messages/", None),
        ("post", "/messages/", {"content": "What does error E-1042 mean?"}),
        ("post", "/messages/stream", {"content": "What does error E-1042 mean?"}),
    ],
)
def test_another_organizations_conversation_is_404(
    client: FlaskClient, exchange: dict, other_owner: Account, method: str, suffix: str, body
) -> None:
    url = f"/api/v1/chat/conversations/{exchange['conversation_id']}{suffix}"

    response = getattr(client, method)(url, json=body, headers=other_owner.headers)

    assert response.status_code == 404
    listed = client.get("/api/v1/chat/conversations/", headers=other_owner.headers).json
    assert listed["total"] == 0


def test_feedback_is_recorded_and_replaced_on_repost(
    client: FlaskClient, exchange: dict, library: Library
) -> None:
    url = f"/api/v1/chat/messages/{exchange['assistant_message']['id']}/feedback"

    first = client.post(url, json={"rating": 1}, headers=library.account.headers)
    second = client.post(
        url, json={"rating": -1, "comment": "too short"}, headers=library.account.headers
    )

    assert first.status_code == second.status_code == 200
    assert second.json["id"] == first.json["id"]
    assert (second.json["rating"], second.json["comment"]) == (-1, "too short")


def test_feedback_on_a_user_message_is_refused(
    client: FlaskClient, exchange: dict, library: Library
) -> None:
    url = f"/api/v1/chat/messages/{exchange['user_message']['id']}/feedback"

    response = client.post(url, json={"rating": 1}, headers=library.account.headers)

    assert response.status_code == 422
    assert response.json["code"] == "not_an_answer"


@pytest.mark.parametrize("rating", [0, 2, "up", None])
def test_feedback_ratings_other_than_plus_or_minus_one_are_422(
    client: FlaskClient, exchange: dict, library: Library, rating
) -> None:
    url = f"/api/v1/chat/messages/{exchange['assistant_message']['id']}/feedback"

    assert (
        client.post(url, json={"rating": rating}, headers=library.account.headers).status_code
        == 422
    )


def test_feedback_on_another_organizations_message_is_404(
    client: FlaskClient, exchange: dict, other_owner: Account
) -> None:
    url = f"/api/v1/chat/messages/{exchange['assistant_message']['id']}/feedback"

    assert client.post(url, json={"rating": 1}, headers=other_owner.headers).status_code == 404


def test_citations_survive_deleting_their_document(
    client: FlaskClient, auth: AuthActions, upload, example_docs: Path
) -> None:
    account = auth.register("Deleters")
    document = upload(account, example_docs / "release-notes.txt").json
    conversation_id = start(client, account)
    answer = ask(client, account, conversation_id, "What changed in the latest release?").json
    cited = answer["assistant_message"]["citations"]
    assert cited

    client.delete(f"/api/v1/documents/{document['id']}", headers=account.headers)

    stored = client.get(
        f"/api/v1/chat/conversations/{conversation_id}/messages/", headers=account.headers
    ).json[1]["citations"]
    assert [citation["quote"] for citation in stored] == [citation["quote"] for citation in cited]
    assert all(citation["chunk_id"] is None for citation in stored)
    assert all(citation["source"] == "release-notes.txt" for citation in stored)
