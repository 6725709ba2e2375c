"""The public widget API: origins and CORS, visitor tokens, answers, citations, feedback, limits."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.fixtures import Account, Library
from webapp import create_app
from webapp.extensions import db
from webapp.models import Conversation, Feedback

ORIGIN = "https://help.example.com"
ERROR_KEYS = {"code", "status", "message", "errors"}
QUESTION = "What does error E-1042 mean?"
WIDGET = {
    "name": "Help centre",
    "title": "Ask Acme",
    "primary_color": "#1a73e8",
    "welcome_message": "Hi! Ask about your account.",
    "allowed_domains": ["help.example.com", "*.acme.io", "localhost:5000"],
}


@dataclass
class Visitor:
    """A conversation started on a widget, and how its visitor's requests are sent."""

    key: str
    conversation_id: str
    token: str
    origin: str = ORIGIN

    @property
    def url(self) -> str:
        return f"/api/v1/public/widgets/{self.key}/conversations/{self.conversation_id}"

    @property
    def headers(self) -> dict[str, str]:
        return {"Origin": self.origin, "Authorization": f"Bearer {self.token}"}


def create_widget(client: FlaskClient, account: Account, **fields: Any) -> dict:
    response = client.post("/api/v1/widgets/", json={**WIDGET, **fields}, headers=account.headers)
    assert response.status_code == 201, response.json
    return response.json


def start(client: FlaskClient, key: str, origin: str = ORIGIN) -> TestResponse:
    return client.post(
        f"/api/v1/public/widgets/{key}/conversations", json={}, headers={"Origin": origin}
    )


def visit(client: FlaskClient, key: str, origin: str = ORIGIN) -> Visitor:
    response = start(client, key, origin)
    assert response.status_code == 201, response.json
    return Visitor(key, response.json["conversation_id"], response.json["token"], origin)


def ask(client: FlaskClient, visitor: Visitor, question: str = QUESTION) -> TestResponse:
    return client.post(
        f"{visitor.url}/messages", json={"content": question}, headers=visitor.headers
    )


def widget_of(client: FlaskClient, account: Account, widget_id: str) -> dict:
    return client.get(f"/api/v1/widgets/{widget_id}", headers=account.headers).json


def assert_error(response: TestResponse, status: int, code: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    assert set(response.json) == ERROR_KEYS
    assert (response.json["status"], response.json["code"]) == (status, code)


@pytest.fixture
def widget(client: FlaskClient, library: Library) -> dict:
    """A widget of the organization whose documents answer the questions."""
    return create_widget(client, library.account)


@pytest.fixture
def visitor(client: FlaskClient, widget: dict) -> Visitor:
    return visit(client, widget["public_key"])


@pytest.fixture(scope="module")
def answered(app: Flask, library: Library) -> dict:
    """One visitor's answered question (about page 2 of the troubleshooting guide)."""
    client = app.test_client()
    key = create_widget(client, library.account)["public_key"]
    visitor = visit(client, key)
    response = ask(client, visitor)
    assert response.status_code == 201, response.json
    return {"visitor": visitor, **response.json}


# --- The widget, its origins and CORS -----------------------------------------------------------


def test_the_widget_configuration_is_served_to_an_allowed_origin(
    client: FlaskClient, widget: dict
) -> None:
    response = client.get(
        f"/api/v1/public/widgets/{widget['public_key']}", headers={"Origin": ORIGIN}
    )

    assert response.status_code == 200
    assert response.json == {
        "title": "Ask Acme",
        "primary_color": "#1a73e8",
        "welcome_message": "Hi! Ask about your account.",
        "enable_feedback": True,
        "enable_file_upload": False,
        "enable_handoff": True,
        "max_question_length": 1000,
    }
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "Origin" in response.headers["Vary"]


@pytest.mark.parametrize(
    "origin",
    [
        "https://help.example.com",
        "http://help.example.com:8080",
        "https://docs.acme.io",
        "https://eu.docs.acme.io",
        "http://localhost:5000",
        "HTTPS://HELP.EXAMPLE.COM",
    ],
)
def test_allowed_origins_hosts_subdomains_and_ports(
    client: FlaskClient, widget: dict, origin: str
) -> None:
    response = client.get(
        f"/api/v1/public/widgets/{widget['public_key']}", headers={"Origin": origin}
    )

    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == origin


@pytest.mark.parametrize(
    "origin",
    [
        "https://acme.io",  # the wildcard matches subdomains only
        "https://notacme.io",
        "https://example.com",
        "https://help.example.com.evil.com",
        "http://localhost:5001",
        "null",
        "help.example.com",
        "ftp://help.example.com",
    ],
)
def test_other_origins_are_refused_without_cors_headers(
    client: FlaskClient, widget: dict, origin: str
) -> None:
    response = client.get(
        f"/api/v1/public/widgets/{widget['public_key']}", headers={"Origin": origin}
    )

    assert_error(response, 403, "origin_not_allowed")
    assert "Access-Control-Allow-Origin" not in response.headers


def test_a_request_without_origin_is_refused_unless_the_widget_allows_any(
    client: FlaskClient, library: Library, widget: dict
) -> None:
    anywhere = create_widget(client, library.account, allowed_domains=["*"])

    refused = client.get(f"/api/v1/public/widgets/{widget['public_key']}")
    accepted = client.get(f"/api/v1/public/widgets/{anywhere['public_key']}")
    cross_origin = client.get(
        f"/api/v1/public/widgets/{anywhere['public_key']}", headers={"Origin": "https://x.org"}
    )

    assert_error(refused, 403, "origin_required")
    assert accepted.status_code == 200
    assert cross_origin.headers["Access-Control-Allow-Origin"] == "https://x.org"


def test_a_same_origin_request_without_origin_is_checked_as_the_apps_own_host(
    client: FlaskClient, library: Library
) -> None:
    """Browsers send no Origin on same-origin GETs, e.g. from a page the app serves itself."""
    on_the_app = create_widget(client, library.account, allowed_domains=["app.example.net"])
    elsewhere = create_widget(client, library.account)
    same_origin = {"Sec-Fetch-Site": "same-origin"}
    url = "/api/v1/public/widgets/{}"

    allowed = client.get(
        url.format(on_the_app["public_key"]), headers=same_origin, base_url="http://app.example.net"
    )
    refused = client.get(
        url.format(elsewhere["public_key"]), headers=same_origin, base_url="http://app.example.net"
    )
    cross_site = client.get(
        url.format(on_the_app["public_key"]),
        headers={"Sec-Fetch-Site": "cross-site"},
        base_url="http://app.example.net",
    )

    assert allowed.status_code == 200
    assert_error(refused, 403, "origin_not_allowed")
    assert_error(cross_site, 403, "origin_required")


def test_an_unknown_key_is_404(client: FlaskClient) -> None:
    response = client.get("/api/v1/public/widgets/wk_nothing", headers={"Origin": ORIGIN})

    assert_error(response, 404, "not_found")


def test_preflight_is_answered_for_allowed_origins_only(
    client: FlaskClient, visitor: Visitor
) -> None:
    preflight = {"Access-Control-Request-Method": "POST"}

    allowed = client.options(f"{visitor.url}/messages", headers={"Origin": ORIGIN, **preflight})
    refused = client.options(
        f"{visitor.url}/messages", headers={"Origin": "https://evil.example", **preflight}
    )

    assert allowed.status_code == 204
    assert allowed.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "POST" in allowed.headers["Access-Control-Allow-Methods"]
    assert "Authorization" in allowed.headers["Access-Control-Allow-Headers"]
    assert int(allowed.headers["Access-Control-Max-Age"]) > 0
    assert_error(refused, 403, "origin_not_allowed")
    assert "Access-Control-Allow-Origin" not in refused.headers


def test_the_global_cors_setting_does_not_open_the_public_api(
    app_config: dict, kit: Any, library: Library
) -> None:
    app = create_app({**app_config, "CORS_ORIGINS": "https://console.example"})
    app.extensions["ragkit"] = kit
    client = app.test_client()
    key = create_widget(client, library.account)["public_key"]
    preflight = {"Origin": "https://console.example", "Access-Control-Request-Method": "GET"}

    public = client.options(f"/api/v1/public/widgets/{key}", headers=preflight)
    authenticated = client.options("/api/v1/auth/me", headers=preflight)

    assert_error(public, 403, "origin_not_allowed")
    assert "Access-Control-Allow-Origin" not in public.headers
    assert authenticated.headers["Access-Control-Allow-Origin"] == "https://console.example"
    with app.app_context():
        db.engine.dispose()


# --- Conversations and visitor tokens -----------------------------------------------------------


def test_starting_a_conversation_records_the_widget_and_a_visitor_session(
    app: Flask, client: FlaskClient, library: Library, widget: dict
) -> None:
    response = start(client, widget["public_key"])
    without_body = client.post(
        f"/api/v1/public/widgets/{widget['public_key']}/conversations", headers={"Origin": ORIGIN}
    )

    assert response.status_code == 201 and without_body.status_code == 201
    assert set(response.json) == {"conversation_id", "token", "expires_at"}
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    with app.app_context():
        conversation = db.session.get(Conversation, uuid.UUID(response.json["conversation_id"]))
        assert conversation is not None
        assert str(conversation.widget_id) == widget["id"]
        assert conversation.user_id is None and len(conversation.session_id or "") >= 20
    assert widget_of(client, library.account, widget["id"])["conversation_count"] == 2


def test_concurrent_starts_each_count_once(app: Flask, library: Library, widget: dict) -> None:
    starts = 12

    def start_one(_: int) -> TestResponse:
        return start(app.test_client(), widget["public_key"])

    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(pool.map(start_one, range(starts)))

    assert [response.status_code for response in responses] == [201] * starts
    assert len({response.json["conversation_id"] for response in responses}) == starts
    counted = widget_of(app.test_client(), library.account, widget["id"])
    assert counted["conversation_count"] == starts


def test_a_visitor_asks_and_gets_an_answer_citing_the_document(
    client: FlaskClient, library: Library, answered: dict
) -> None:
    visitor = answered["visitor"]
    answer = answered["assistant_message"]

    listed = client.get(f"{visitor.url}/messages", headers=visitor.headers)

    assert answered["user_message"]["content"] == QUESTION
    assert not answer["abstained"]
    pdf = library.documents["troubleshooting.pdf"]["id"]
    assert any(c["document_id"] == pdf and c["page"] == 2 for c in answer["citations"])
    assert listed.status_code == 200
    assert [message["id"] for message in listed.json] == [
        answered["user_message"]["id"],
        answer["id"],
    ]
    assert listed.json[1]["citations"] == answer["citations"]


def test_a_streamed_answer_sends_citations_deltas_and_the_stored_messages(
    client: FlaskClient, visitor: Visitor
) -> None:
    response = client.post(
        f"{visitor.url}/messages/stream", json={"content": QUESTION}, headers=visitor.headers
    )

    assert response.status_code == 200 and response.mimetype == "text/event-stream"
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    events = parse_events(response.get_data(as_text=True))
    names = [name for name, _ in events]
    assert names[0] == "citations" and names[-1] == "done"
    assert set(names[1:-1]) == {"delta"}
    done = events[-1][1]
    assert done["assistant_message"]["content"] == "".join(
        data["text"] for name, data in events if name == "delta"
    )
    stored = client.get(f"{visitor.url}/messages", headers=visitor.headers).json
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
    "authorization",
    [None, "Bearer", "Bearer not-a-token", "Basic abc", "Bearer eyJhbGciOiJIUzI1NiJ9.e30.x"],
)
def test_a_missing_or_invalid_token_is_401(
    client: FlaskClient, visitor: Visitor, authorization: str | None
) -> None:
    headers = {"Origin": ORIGIN} | ({"Authorization": authorization} if authorization else {})

    read = client.get(f"{visitor.url}/messages", headers=headers)
    asked = client.post(f"{visitor.url}/messages", json={"content": "hi"}, headers=headers)

    assert_error(read, 401, "unauthorized")
    assert_error(asked, 401, "unauthorized")
    assert read.headers["Access-Control-Allow-Origin"] == ORIGIN


def test_an_expired_token_is_401(
    app: Flask, client: FlaskClient, visitor: Visitor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "PUBLIC_TOKEN_DAYS", -1)

    response = client.get(f"{visitor.url}/messages", headers=visitor.headers)

    assert_error(response, 401, "unauthorized")
    assert "expired" in response.json["message"]


def test_a_token_opens_only_its_own_conversation(
    client: FlaskClient, library: Library, widget: dict, answered: dict
) -> None:
    mine = visit(client, widget["public_key"])
    theirs = answered["visitor"]
    message_id = answered["assistant_message"]["id"]
    # Their conversation's URLs (on their widget and on mine) with my token.
    stolen = [
        Visitor(theirs.key, theirs.conversation_id, mine.token),
        Visitor(mine.key, theirs.conversation_id, mine.token),
        Visitor(theirs.key, mine.conversation_id, mine.token),
    ]

    for attempt in stolen:
        read = client.get(f"{attempt.url}/messages", headers=attempt.headers)
        asked = ask(client, attempt, "hello")
        cited = client.get(
            f"{attempt.url}/messages/{message_id}/citations/1", headers=attempt.headers
        )
        for response in (read, asked, cited):
            assert_error(response, 404, "not_found")


def test_rotating_the_key_invalidates_visitor_tokens(
    client: FlaskClient, library: Library, widget: dict, visitor: Visitor
) -> None:
    rotated = client.post(
        f"/api/v1/widgets/{widget['id']}/rotate-key", headers=library.account.headers
    ).json
    old_key = client.get(f"{visitor.url}/messages", headers=visitor.headers)
    new_key = Visitor(rotated["public_key"], visitor.conversation_id, visitor.token)

    response = client.get(f"{new_key.url}/messages", headers=new_key.headers)

    assert_error(old_key, 404, "not_found")
    assert_error(response, 401, "unauthorized")
    assert visit(client, rotated["public_key"]).token != visitor.token


def test_a_visitor_of_another_organization_never_reads_its_answers(
    client: FlaskClient, other_owner: Account, answered: dict
) -> None:
    """Globex's visitor cannot reach Library's conversation, messages or cited passages."""
    outsider = visit(client, create_widget(client, other_owner)["public_key"])
    theirs = answered["visitor"]
    message_id = answered["assistant_message"]["id"]
    probes = [
        f"{outsider.url}/messages/{message_id}/citations/1",
        f"/api/v1/public/widgets/{outsider.key}/conversations/{theirs.conversation_id}/messages",
    ]

    for url in probes:
        assert_error(client.get(url, headers=outsider.headers), 404, "not_found")
    own = ask(client, outsider).json["assistant_message"]
    assert own["abstained"] is True and own["citations"] == []


# --- Citations, feedback, handoff ------------------------------------------------------------


def test_a_citation_opens_the_cited_passage(
    client: FlaskClient, library: Library, answered: dict
) -> None:
    visitor = answered["visitor"]
    citation = answered["assistant_message"]["citations"][0]
    url = f"{visitor.url}/messages/{answered['assistant_message']['id']}/citations"

    response = client.get(f"{url}/{citation['n']}", headers=visitor.headers)

    assert response.status_code == 200
    passage = response.json
    assert set(passage) == {
        "n", "title", "source", "page", "section", "quote", "passage", "document_id",
    }  # fmt: skip
    assert (passage["n"], passage["title"], passage["page"]) == (
        citation["n"],
        citation["title"],
        citation["page"],
    )
    assert passage["document_id"] == citation["document_id"]
    assert citation["quote"].strip()[:40] in passage["passage"]
    assert len(passage["passage"]) >= len(passage["quote"])


def test_only_citations_of_the_conversations_answers_are_served(
    client: FlaskClient, answered: dict
) -> None:
    visitor = answered["visitor"]
    cited = len(answered["assistant_message"]["citations"])
    user_message = answered["user_message"]["id"]
    answer = answered["assistant_message"]["id"]

    missing = [
        f"{visitor.url}/messages/{answer}/citations/{cited + 1}",
        f"{visitor.url}/messages/{answer}/citations/0",
        f"{visitor.url}/messages/{user_message}/citations/1",
        f"{visitor.url}/messages/{uuid.uuid4()}/citations/1",
    ]

    for url in missing:
        assert_error(client.get(url, headers=visitor.headers), 404, "not_found")


def test_feedback_is_stored_for_the_visitor_and_replaced_on_repost(
    app: Flask, client: FlaskClient, answered: dict
) -> None:
    visitor = answered["visitor"]
    url = f"{visitor.url}/messages/{answered['assistant_message']['id']}/feedback"

    first = client.post(url, json={"rating": -1, "comment": "wrong page"}, headers=visitor.headers)
    second = client.post(url, json={"rating": 1}, headers=visitor.headers)

    assert first.status_code == 200 and second.status_code == 200
    assert set(first.json) == {"id", "message_id", "rating", "comment", "created_at", "updated_at"}
    assert second.json["id"] == first.json["id"]
    assert (second.json["rating"], second.json["comment"]) == (1, "")
    with app.app_context():
        stored = db.session.get(Feedback, uuid.UUID(first.json["id"]))
        conversation = db.session.get(Conversation, uuid.UUID(visitor.conversation_id))
        assert stored is not None and conversation is not None
        assert stored.user_id is None and stored.session_id == conversation.session_id
        assert stored.rating == 1


def test_feedback_is_refused_when_the_widget_disables_it(
    client: FlaskClient, library: Library
) -> None:
    visitor = visit(
        client, create_widget(client, library.account, enable_feedback=False)["public_key"]
    )
    answer = ask(client, visitor).json["assistant_message"]

    response = client.post(
        f"{visitor.url}/messages/{answer['id']}/feedback",
        json={"rating": 1},
        headers=visitor.headers,
    )

    assert_error(response, 403, "feedback_disabled")


@pytest.mark.parametrize("body", [{"rating": 0}, {"rating": "up"}, {}, {"rating": 1, "x": 1}])
def test_invalid_feedback_is_422(client: FlaskClient, answered: dict, body: dict) -> None:
    visitor = answered["visitor"]
    url = f"{visitor.url}/messages/{answered['assistant_message']['id']}/feedback"

    assert_error(client.post(url, json=body, headers=visitor.headers), 422, "unprocessable_entity")


def test_feedback_on_the_visitors_own_question_is_refused(
    client: FlaskClient, answered: dict
) -> None:
    visitor = answered["visitor"]
    url = f"{visitor.url}/messages/{answered['user_message']['id']}/feedback"

    response = client.post(url, json={"rating": 1}, headers=visitor.headers)

    assert_error(response, 422, "not_an_answer")


def test_a_handoff_request_is_stored_and_listed_for_the_organization(
    client: FlaskClient, other_owner: Account
) -> None:
    visitor = visit(client, create_widget(client, other_owner)["public_key"])

    response = client.post(
        f"{visitor.url}/handoff",
        json={"email": " ada@example.org ", "message": "Please call me back."},
        headers=visitor.headers,
    )
    listed = client.get("/api/v1/handoffs/", headers=other_owner.headers).json

    assert response.status_code == 201
    assert response.json["conversation_id"] == visitor.conversation_id
    assert (response.json["email"], response.json["status"]) == ("ada@example.org", "open")
    assert [item["id"] for item in listed["items"]] == [response.json["id"]]
    assert listed["items"][0]["delivery_status"] == "not_configured"


@pytest.mark.parametrize("body", [{}, {"email": "not-an-address"}, {"email": 3}])
def test_an_invalid_handoff_is_422(client: FlaskClient, visitor: Visitor, body: dict) -> None:
    response = client.post(f"{visitor.url}/handoff", json=body, headers=visitor.headers)

    assert_error(response, 422, "unprocessable_entity")


# --- Abuse limits -------------------------------------------------------------------------------


def test_a_question_longer_than_the_limit_is_413(client: FlaskClient, visitor: Visitor) -> None:
    long_question = "x" * 1001

    asked = ask(client, visitor, long_question)
    streamed = client.post(
        f"{visitor.url}/messages/stream", json={"content": long_question}, headers=visitor.headers
    )

    assert_error(asked, 413, "question_too_long")
    assert_error(streamed, 413, "question_too_long")
    assert "1000" in asked.json["message"]
    assert client.get(f"{visitor.url}/messages", headers=visitor.headers).json == []


@pytest.fixture
def limited_app(app_config: dict, kit: Any) -> Iterator[Flask]:
    """The app with low public limits, on the same Redis (emptied around every test)."""
    app = create_app(
        {
            **app_config,
            "PUBLIC_RATE_LIMIT_VISITOR": "2 per minute",
            "PUBLIC_RATE_LIMIT_WIDGET": "6 per minute",
            "PUBLIC_CONVERSATIONS_PER_IP": "3 per minute",
        }
    )
    app.extensions["ragkit"] = kit
    yield app
    with app.app_context():
        db.engine.dispose()


def assert_limited(response: TestResponse) -> None:
    assert_error(response, 429, "too_many_requests")
    assert 0 < int(response.headers["Retry-After"]) <= 60
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN


def test_a_visitor_over_the_limit_gets_429_with_retry_after(
    limited_app: Flask, other_owner: Account
) -> None:
    client = limited_app.test_client()
    key = create_widget(client, other_owner)["public_key"]
    visitor, neighbour = visit(client, key), visit(client, key)

    responses = [ask(client, visitor, f"question {n}?") for n in range(3)]

    assert [response.status_code for response in responses[:2]] == [201, 201]
    assert_limited(responses[2])
    assert "conversation" in responses[2].json["message"]
    assert ask(client, neighbour).status_code == 201


def test_requests_without_the_conversations_token_do_not_use_up_its_allowance(
    limited_app: Flask, other_owner: Account
) -> None:
    client = limited_app.test_client()
    visitor = visit(client, create_widget(client, other_owner)["public_key"])
    intruder = Visitor(visitor.key, visitor.conversation_id, "forged")

    refused = [ask(client, intruder, "let me in?") for _ in range(3)]
    asked = [ask(client, visitor, f"question {n}?") for n in range(2)]

    assert [response.status_code for response in refused] == [401] * 3
    assert [response.status_code for response in asked] == [201, 201]


def test_a_widget_over_its_limit_gets_429(limited_app: Flask, other_owner: Account) -> None:
    client = limited_app.test_client()
    key = create_widget(client, other_owner)["public_key"]
    other_key = create_widget(client, other_owner)["public_key"]
    visitors = [visit(client, key), visit(client, key)]
    asked = [ask(client, visitor, "q?") for visitor in visitors for _ in range(2)]

    over = start(client, key)  # the widget's seventh request this minute

    assert [response.status_code for response in asked] == [201] * 4
    assert_limited(over)
    assert "widget" in over.json["message"]
    assert ask(client, visit(client, other_key)).status_code == 201


def test_conversation_starts_are_limited_per_address(
    limited_app: Flask, other_owner: Account
) -> None:
    client = limited_app.test_client()
    key = create_widget(client, other_owner)["public_key"]

    responses = [start(client, key) for _ in range(4)]

    assert [response.status_code for response in responses[:3]] == [201, 201, 201]
    assert_limited(responses[3])


def test_the_limits_are_read_from_the_environment(
    app_config: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PUBLIC_MAX_QUESTION_LENGTH", "50")
    monkeypatch.setenv("PUBLIC_RATE_LIMIT_VISITOR", "5 per second; 100 per hour")
    monkeypatch.setenv("PUBLIC_TOKEN_DAYS", "0.5")

    config = create_app(app_config).config

    assert config["PUBLIC_MAX_QUESTION_LENGTH"] == 50
    assert config["PUBLIC_RATE_LIMIT_VISITOR"] == "5 per second; 100 per hour"
    assert config["PUBLIC_TOKEN_DAYS"] == 0.5


@pytest.mark.parametrize(
    "setting",
    ["PUBLIC_RATE_LIMIT_VISITOR", "PUBLIC_RATE_LIMIT_WIDGET", "PUBLIC_CONVERSATIONS_PER_IP"],
)
def test_an_unreadable_limit_is_refused_at_start(app_config: dict, setting: str) -> None:
    from ragkit import ConfigurationError

    with pytest.raises(ConfigurationError, match=setting):
        create_app({**app_config, setting: "lots"})


# --- Documentation ------------------------------------------------------------------------------


def test_the_public_routes_are_in_the_openapi_spec(client: FlaskClient) -> None:
    spec = client.get("/api/openapi.json").json
    prefix = "/api/v1/public/widgets/{key}"

    start_op = spec["paths"][f"{prefix}/conversations"]["post"]
    ask_op = spec["paths"][f"{prefix}/conversations/{{conversation_id}}/messages"]["post"]
    cite_path = (
        f"{prefix}/conversations/{{conversation_id}}/messages/{{message_id}}/citations/{{n}}"
    )

    assert spec["paths"][prefix]["get"]["security"] == []
    assert start_op["security"] == [] and "429" in start_op["responses"]
    assert ask_op["security"] == [{"visitorToken": []}]
    assert {"401", "404", "413", "429"} <= set(ask_op["responses"])
    assert "get" in spec["paths"][cite_path]
    assert "visitorToken" in spec["components"]["securitySchemes"]


# --- Access: every visitor route against every kind of credential ------------------------------

VISITOR_ROUTES = [
    ("get", "/messages", None),
    ("post", "/messages", {"content": "hello?"}),
    ("post", "/messages/stream", {"content": "hello?"}),
    ("post", "/messages/{message}/feedback", {"rating": 1}),
    ("get", "/messages/{message}/citations/1", None),
    ("post", "/handoff", {"email": "ada@example.org"}),
]
CREDENTIALS = {
    "none": 401,
    "garbage": 401,
    "user access token": 401,
    "another conversation's token": 404,
    "another organization's visitor token": 404,
}


@pytest.mark.parametrize(("method", "path", "body"), VISITOR_ROUTES)
@pytest.mark.parametrize("credential", list(CREDENTIALS))
def test_visitor_routes_need_that_conversations_token(
    client: FlaskClient,
    library: Library,
    other_owner: Account,
    answered: dict,
    method: str,
    path: str,
    body: dict | None,
    credential: str,
) -> None:
    target = answered["visitor"]
    tokens = {
        "none": None,
        "garbage": "garbage",
        "user access token": library.account.access_token,
        "another conversation's token": visit(client, target.key).token,
        "another organization's visitor token": visit(
            client, create_widget(client, other_owner)["public_key"]
        ).token,
    }
    headers = {"Origin": ORIGIN}
    if tokens[credential]:
        headers["Authorization"] = f"Bearer {tokens[credential]}"
    url = target.url + path.format(message=answered["assistant_message"]["id"])

    response = getattr(client, method)(url, json=body, headers=headers)

    expected = CREDENTIALS[credential]
    assert_error(response, expected, "unauthorized" if expected == 401 else "not_found")
    messages = client.get(f"{target.url}/messages", headers=target.headers).json
    assert len(messages) == 2  # nothing was added to the conversation


def test_no_authenticated_route_accepts_a_visitor_token(
    client: FlaskClient, visitor: Visitor
) -> None:
    spec = client.get("/api/openapi.json").json
    headers = {"Authorization": f"Bearer {visitor.token}"}
    checked = 0

    for path, operations in spec["paths"].items():
        if path.startswith("/api/v1/public/"):
            continue
        for method, operation in operations.items():
            if method == "parameters" or operation.get("security") != [{"bearerAuth": []}]:
                continue
            url = re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)
            response = client.open(url, method=method.upper(), json={}, headers=headers)
            assert response.status_code == 401, (method, path, response.json)
            checked += 1

    assert checked >= 20
