"""The console's usage numbers and knowledge gaps, on known data."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.fixtures import Account
from tests.webapp.console_helpers import add_exchange, post_form, sign_in, text
from tests.webapp.test_chat import ask, start
from tests.webapp.test_public_widget import create_widget
from webapp.services import usage


@pytest.fixture
def console(app: Flask, owner: Account) -> FlaskClient:
    browser = app.test_client()
    sign_in(browser, owner)
    return browser


def stat(page: str, name: str) -> str:
    found = re.search(rf'data-stat="{name}">([^<]*)<', page)
    assert found, page
    return found.group(1).strip()


def test_usage_numbers_are_computed_from_the_conversations(
    app: Flask, client: FlaskClient, owner: Account, other_owner: Account, console: FlaskClient
) -> None:
    org = owner.organization_id
    widget = create_widget(client, owner)["id"]
    today = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    yesterday = today - timedelta(days=1)
    add_exchange(app, org, "q1", response_time=1.0, rating=1, asked_at=yesterday, widget_id=widget)
    add_exchange(app, org, "q2", response_time=2.0, rating=1, asked_at=yesterday)
    add_exchange(app, org, "q3", response_time=3.0, rating=-1, asked_at=today, abstained=True)
    add_exchange(app, org, "q4", response_time=4.0, asked_at=today, handoff=True)
    add_exchange(app, other_owner.organization_id, "theirs", response_time=100.0, rating=-1)
    add_exchange(app, org, "too old", response_time=50.0, asked_at=today - timedelta(days=60))

    with app.app_context():
        found = usage.usage(uuid.UUID(org), today.date() - timedelta(days=6), today.date())
    assert [day.questions for day in found.days][-2:] == [2, 2]
    assert found.questions == 4 and found.conversations == 4
    assert found.answer_rate == 75.0
    assert (found.rated_up, found.rated_down, found.thumbs_up_rate) == (
        2,
        1,
        pytest.approx(66.67, 0.01),
    )
    assert found.handoff_rate == 25.0
    assert found.p50_seconds == pytest.approx(2.5)
    assert found.p95_seconds == pytest.approx(3.85)

    page = text(console.get("/console/usage?days=7"))
    assert stat(page, "questions") == "4"
    assert stat(page, "answer_rate") == "75%"
    assert stat(page, "thumbs_up_rate") == "67%"
    assert stat(page, "handoff_rate") == "25%"
    assert stat(page, "p50") == "2.50 s" and stat(page, "p95") == "3.85 s"
    assert page.count('<svg class="chart"') == 2  # no document cited: no third chart


def test_top_cited_documents_are_charted(app: Flask, owner: Account, console: FlaskClient) -> None:
    document = "00000000-0000-0000-0000-000000000001"
    for _ in range(3):
        add_exchange(app, owner.organization_id, "q", cited=(document, "Refund policy"))
    page = text(console.get("/console/usage"))
    assert "Refund policy: 3" in page


SIMILAR = [
    "How do I pair the Zephyr headset with my smart TV?",
    "Can I connect my Zephyr headset to a television?",
    "Zephyr headset pairing with a smart TV",
]
UNRELATED = "Do you ship to Antarctica?"


def gap_ids(page: str) -> list[str]:
    return re.findall(r'data-gap="([0-9a-f-]{36})"', page)


def test_similar_gap_questions_are_grouped_largest_first(
    app: Flask, owner: Account, console: FlaskClient
) -> None:
    org = owner.organization_id
    start_time = datetime.now(UTC) - timedelta(hours=1)
    for minutes, question in enumerate([SIMILAR[0], UNRELATED, SIMILAR[1]]):
        add_exchange(
            app, org, question, abstained=True, asked_at=start_time + timedelta(minutes=minutes)
        )
    add_exchange(app, org, SIMILAR[2], rating=-1, asked_at=start_time + timedelta(minutes=5))
    add_exchange(app, org, "How do I reset my password?", rating=1)  # answered well: no gap

    page = text(console.get("/console/gaps"))

    groups = gap_ids(page)
    assert len(groups) == 2
    first, second = page.split('data-gap="')[1:3]
    assert re.search(r"data-count>3<", first) and SIMILAR[0] in first and SIMILAR[2] in first
    assert re.search(r"data-count>1<", second) and UNRELATED in second
    assert "reset my password" not in page
    # A second visit groups nothing twice.
    assert gap_ids(text(console.get("/console/gaps"))) == groups
    detail = text(console.get(f"/console/gaps/{groups[0]}"))
    assert "rated down" in detail and detail.count("abstained</span>") == 2


def test_writing_the_answer_makes_the_gap_questions_answered_with_a_citation(
    app: Flask, client: FlaskClient, owner: Account, console: FlaskClient
) -> None:
    conversation = start(client, owner)
    asked = ask(client, owner, conversation, SIMILAR[0]).json
    assert asked["assistant_message"]["abstained"] is True
    add_exchange(app, owner.organization_id, SIMILAR[1], abstained=True)
    gap = gap_ids(text(console.get("/console/gaps")))[0]

    answer = (
        "Hold the headset's power button for five seconds until the light blinks blue, "
        "then choose Zephyr in the Bluetooth menu of the smart TV."
    )
    written = post_form(
        console, f"/console/gaps/{gap}/answer", {"question": SIMILAR[0], "answer": answer}
    )
    assert written.status_code == 302
    documents = client.get("/api/v1/documents/", headers=owner.headers).json["items"]
    curated = next(item for item in documents if item["title"] == SIMILAR[0])
    assert curated["status"] == "ready" and curated["content_type"] == "text/markdown"

    resolved = post_form(console, f"/console/gaps/{gap}/resolve")
    assert resolved.status_code == 302
    page = text(console.get(f"/console/gaps/{gap}"))
    assert page.count('data-recheck="answered"') == 2 and 'data-recheck="unanswered"' not in page
    assert f"/console/documents/{curated['id']}" in page
    assert "resolved" in page and gap not in gap_ids(text(console.get("/console/gaps")))
    assert gap in gap_ids(text(console.get("/console/gaps?status=resolved")))

    # A new conversation now gets an answer citing the curated document.
    again = ask(client, owner, start(client, owner), SIMILAR[0]).json["assistant_message"]
    assert again["abstained"] is False
    assert again["citations"][0]["document_id"] == curated["id"]


def test_writing_an_empty_answer_is_refused(
    app: Flask, owner: Account, console: FlaskClient
) -> None:
    add_exchange(app, owner.organization_id, UNRELATED, abstained=True)
    gap = gap_ids(text(console.get("/console/gaps")))[0]
    response = post_form(
        console, f"/console/gaps/{gap}/answer", {"question": UNRELATED, "answer": " "}
    )
    assert response.status_code == 422


def test_members_see_gaps_but_open_only_their_own_conversations(
    app: Flask, auth, owner: Account
) -> None:
    member = auth.invite(owner, "member")
    visitor = add_exchange(app, owner.organization_id, SIMILAR[0], abstained=True)
    own = add_exchange(
        app, owner.organization_id, SIMILAR[1], abstained=True, user_id=member.user_id
    )
    browser = app.test_client()
    sign_in(browser, member)
    gap = gap_ids(text(browser.get("/console/gaps")))[0]

    page = text(browser.get(f"/console/gaps/{gap}"))

    assert SIMILAR[0] in page and SIMILAR[1] in page
    assert f"/console/conversations/{own}" in page
    assert f"/console/conversations/{visitor}" not in page


def test_a_backlog_is_grouped_a_few_questions_per_visit_or_all_at_once_by_command(
    app: Flask, owner: Account, console: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from webapp.services import gaps

    monkeypatch.setattr(gaps, "MAX_NEW_PER_VISIT", 2)
    for question in [*SIMILAR, UNRELATED]:
        add_exchange(app, owner.organization_id, question, abstained=True)

    first = text(console.get("/console/gaps"))
    assert "2 more questions wait to be grouped" in first
    assert sum(int(count) for count in re.findall(r"data-count>(\d+)<", first)) == 2

    result = app.test_cli_runner().invoke(
        args=["ragkit", "group-gaps", "--org", owner.organization_id]
    )
    assert result.exit_code == 0, result.output
    assert "grouped 2 questions" in result.output
    after = text(console.get("/console/gaps"))
    assert "wait to be grouped" not in after
    assert sorted(re.findall(r"data-count>(\d+)<", after)) == ["1", "3"]


def test_an_embedding_failure_shows_an_error_page_not_a_stack_trace(
    app: Flask, owner: Account, console: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ragkit import EmbeddingError
    from webapp.services import gaps

    def unavailable(organization: object) -> object:
        raise EmbeddingError("the embedding model is unavailable")

    monkeypatch.setattr(gaps, "embedding_model", unavailable)
    add_exchange(app, owner.organization_id, UNRELATED, abstained=True)

    response = console.get("/console/gaps")

    assert response.status_code == 503
    assert "the embedding model is unavailable" in text(response)
    assert not response.is_json


@pytest.mark.parametrize("query", ["since=0001-01-01", "until=0001-01-01", "until=9999-12-31"])
def test_extreme_dates_are_ignored_not_a_server_error(console: FlaskClient, query: str) -> None:
    assert console.get(f"/console/usage?{query}").status_code == 200
    assert console.get(f"/console/conversations?{query}").status_code == 200
