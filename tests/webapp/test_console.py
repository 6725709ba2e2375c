"""The support console: sign-in, CSRF, roles, tenant isolation and its pages."""

from __future__ import annotations

import io
import re
import secrets
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.fixtures import Account, AuthActions
from tests.webapp.console_helpers import add_exchange, csrf_token, post_form, sign_in, text
from tests.webapp.test_chat import ask, start
from tests.webapp.test_public_widget import create_widget

PAGES = [
    "/console/documents",
    "/console/conversations",
    "/console/handoffs",
    "/console/gaps",
    "/console/widgets",
    "/console/usage",
]


@pytest.fixture
def console(app: Flask, owner: Account) -> FlaskClient:
    """A browser signed in to the console as the owner."""
    browser = app.test_client()
    sign_in(browser, owner)
    return browser


@pytest.fixture
def member(auth: AuthActions, owner: Account) -> Account:
    return auth.invite(owner, "member")


@pytest.fixture
def member_console(app: Flask, member: Account) -> FlaskClient:
    browser = app.test_client()
    sign_in(browser, member)
    return browser


# --- Signing in and out --------------------------------------------------------------------------


def test_the_root_leads_to_the_console_and_the_console_to_sign_in(client: FlaskClient) -> None:
    assert client.get("/").location.endswith("/console/")
    response = client.get("/console/documents")
    assert response.status_code == 302
    assert "/console/sign-in?next=/console/documents" in response.location


def test_signing_in_sets_an_httponly_samesite_cookie_and_opens_the_console(
    app: Flask, owner: Account
) -> None:
    browser = app.test_client()
    response = sign_in(browser, owner)

    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert "access_token" not in text(browser.get("/console/documents"))
    page = browser.get("/console/documents")
    assert page.status_code == 200
    assert owner.email in text(page)


def test_a_wrong_password_is_refused_with_one_message(app: Flask, owner: Account) -> None:
    browser = app.test_client()
    response = browser.post(
        "/console/sign-in",
        data={"email": owner.email, "password": "wrong", "csrf_token": csrf_token(browser)},
    )
    assert response.status_code == 401
    assert "Wrong e-mail or password." in text(response)
    assert browser.get("/console/documents").status_code == 302


def test_signing_out_ends_the_session(console: FlaskClient) -> None:
    response = post_form(console, "/console/sign-out")
    assert response.status_code == 302
    assert console.get("/console/documents").status_code == 302


def test_sign_in_only_returns_to_console_pages(app: Flask, owner: Account) -> None:
    browser = app.test_client()
    for target, expected in [
        ("/console/usage", "/console/usage"),
        ("https://evil.example/", "/console/"),
    ]:
        response = browser.post(
            "/console/sign-in",
            data={
                "email": owner.email,
                "password": owner.password,
                "next": target,
                "csrf_token": csrf_token(browser),
            },
        )
        assert response.location == expected


def test_the_session_cookie_is_secure_in_production(app_config: dict) -> None:
    from webapp import create_app

    production = create_app(
        {
            **app_config,
            "RAGKIT_ENV": "production",
            "JWT_SECRET_KEY": secrets.token_hex(32),
            "SECRET_KEY": secrets.token_hex(32),
        }
    )
    assert production.config["SESSION_COOKIE_SECURE"] is True
    assert production.config["SESSION_COOKIE_SAMESITE"] == "Lax"


# --- CSRF ----------------------------------------------------------------------------------------


def test_a_form_without_its_csrf_token_is_refused(console: FlaskClient) -> None:
    response = console.post("/console/sign-out")
    assert response.status_code == 400
    assert "The form expired" in text(response)
    assert console.get("/console/documents").status_code == 200  # still signed in


def test_sign_in_without_a_csrf_token_is_refused(app: Flask, owner: Account) -> None:
    response = app.test_client().post(
        "/console/sign-in", data={"email": owner.email, "password": owner.password}
    )
    assert response.status_code == 400


def test_the_json_api_needs_no_csrf_token(client: FlaskClient, owner: Account) -> None:
    response = client.post(
        "/api/v1/auth/login", json={"email": owner.email, "password": owner.password}
    )
    assert response.status_code == 200
    assert (
        client.post("/api/v1/widgets/", json={"name": "W"}, headers=owner.headers).status_code
        == 201
    )


def test_a_mistyped_console_address_gets_a_page_and_the_api_keeps_json(
    console: FlaskClient,
) -> None:
    page = console.get("/console/no-such-page")
    assert page.status_code == 404 and "Not found" in text(page) and not page.is_json
    api = console.get("/api/v1/no-such-route")
    assert api.status_code == 404 and api.json["code"] == "not_found"


def test_scripts_get_json_errors(app: Flask) -> None:
    response = app.test_client().get("/console/documents/status.json")
    assert response.status_code == 401
    assert response.json["code"] == "not_signed_in"


# --- Pages and roles -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
def test_every_page_renders_for_owners_and_members(
    console: FlaskClient, member_console: FlaskClient, path: str
) -> None:
    for browser in (console, member_console):
        response = browser.get(path)
        assert response.status_code == 200, text(response)[:500]
        assert '<main id="main"' in text(response)
        assert 'aria-current="page"' in text(response)


def test_members_cannot_change_widgets_or_reprocess(
    client: FlaskClient, owner: Account, member_console: FlaskClient, console: FlaskClient
) -> None:
    widget = create_widget(client, owner)
    edit = {"name": "Hijacked", "title": "Ask", "primary_color": "#000000"}

    assert member_console.get("/console/widgets/new").status_code == 403
    assert post_form(member_console, f"/console/widgets/{widget['id']}", edit).status_code == 403
    rotated = post_form(member_console, f"/console/widgets/{widget['id']}/rotate-key")
    assert rotated.status_code == 403
    assert "Only an owner" in text(rotated)
    page = member_console.get(f"/console/widgets/{widget['id']}")
    assert page.status_code == 200 and "Only owners can change widgets." in text(page)
    assert (
        client.get(f"/api/v1/widgets/{widget['id']}", headers=owner.headers).json["name"]
        == widget["name"]
    )


def test_members_see_their_own_conversations_owners_see_all(
    app: Flask, owner: Account, member: Account, console: FlaskClient, member_console: FlaskClient
) -> None:
    mine = add_exchange(app, owner.organization_id, "Member's own question", user_id=member.user_id)
    visitor = add_exchange(app, owner.organization_id, "A visitor's question")

    assert mine in text(member_console.get("/console/conversations"))
    assert visitor not in text(member_console.get("/console/conversations"))
    assert member_console.get(f"/console/conversations/{visitor}").status_code == 404
    assert {mine, visitor} <= set(
        re.findall(
            r"/console/conversations/([0-9a-f-]{36})", text(console.get("/console/conversations"))
        )
    )


# --- Tenant isolation ----------------------------------------------------------------------------


def test_another_organizations_data_is_never_shown(
    app: Flask,
    client: FlaskClient,
    other_owner: Account,
    console: FlaskClient,
    upload: Callable[..., TestResponse],
    example_docs: Path,
) -> None:
    document = upload(other_owner, example_docs / "release-notes.txt").json
    conversation = add_exchange(
        app, other_owner.organization_id, "Their secret question", abstained=True, handoff=True
    )
    widget = create_widget(client, other_owner)
    their_console = app.test_client()
    sign_in(their_console, other_owner)
    their_console.get("/console/gaps")  # groups their abstained question
    gap_ids = re.findall(r"/console/gaps/([0-9a-f-]{36})", text(their_console.get("/console/gaps")))
    assert gap_ids

    for path in [
        f"/console/documents/{document['id']}",
        f"/console/conversations/{conversation}",
        f"/console/widgets/{widget['id']}",
        f"/console/gaps/{gap_ids[0]}",
    ]:
        response = console.get(path)
        assert response.status_code == 404, path
    assert post_form(console, f"/console/documents/{document['id']}/delete").status_code == 404
    assert post_form(console, f"/console/gaps/{gap_ids[0]}/resolve").status_code == 404
    for path in PAGES:
        page = text(console.get(path + "?status=all"))
        assert "Their secret question" not in page and document["title"] not in page
    status = console.get(f"/console/documents/status.json?id={document['id']}")
    assert status.json == {"documents": []}
    handoffs = text(their_console.get("/console/handoffs"))
    handoff_id = re.search(r'id="handoff-([0-9a-f-]{36})"', handoffs).group(1)
    assert (
        post_form(console, f"/console/handoffs/{handoff_id}", {"status": "resolved"}).status_code
        == 404
    )


# --- Knowledge base ------------------------------------------------------------------------------


def test_several_files_upload_and_are_listed_with_their_details(
    console: FlaskClient, example_docs: Path
) -> None:
    files = [
        (io.BytesIO((example_docs / name).read_bytes()), name)
        for name in ("troubleshooting.pdf", "faq.md")
    ]
    response = post_form(
        console, "/console/documents/upload", {"files": files}, content_type="multipart/form-data"
    )
    assert response.status_code == 302
    page = text(console.get("/console/documents"))
    assert "Uploaded troubleshooting.pdf." in page and "Uploaded faq.md." in page
    assert page.count('data-status="ready"') == 2
    assert '<td data-label="Type">PDF</td>' in page
    assert '<td data-label="Type">Markdown</td>' in page
    row = re.search(
        r'data-document="([^"]+)" data-status="ready">\s*'
        r'<th scope="row"><a[^>]*>troubleshooting</a>',
        page,
    )
    assert row, page

    status = console.get(f"/console/documents/status.json?id={row.group(1)}").json["documents"][0]
    assert status["status"] == "ready" and status["chunk_count"] > 0 and status["pages"] >= 2
    assert "troubleshooting" in text(console.get("/console/documents?q=trouble"))
    assert "troubleshooting" not in text(console.get("/console/documents?q=faq"))


def test_the_upload_script_gets_json_with_the_document_state(
    console: FlaskClient, example_docs: Path
) -> None:
    data = {
        "files": [
            (io.BytesIO((example_docs / "release-notes.txt").read_bytes()), "release-notes.txt")
        ]
    }
    first = post_form(
        console,
        "/console/documents/upload",
        data,
        content_type="multipart/form-data",
        headers={"Accept": "application/json"},
    )
    assert first.status_code == 201 and first.json["status"] == "ready"
    again = {
        "files": [
            (io.BytesIO((example_docs / "release-notes.txt").read_bytes()), "release-notes.txt")
        ]
    }
    duplicate = post_form(
        console,
        "/console/documents/upload",
        again,
        content_type="multipart/form-data",
        headers={"Accept": "application/json"},
    )
    assert duplicate.status_code == 409 and duplicate.json["code"] == "duplicate_document"
    empty = post_form(
        console, "/console/documents/upload", {}, headers={"Accept": "application/json"}
    )
    assert empty.status_code == 422 and set(empty.json) >= {"code", "status", "message", "errors"}


def test_a_document_page_shows_its_passages_and_the_questions_that_cited_it(
    app: Flask,
    console: FlaskClient,
    owner: Account,
    upload: Callable[..., TestResponse],
    example_docs: Path,
) -> None:
    document = upload(owner, example_docs / "troubleshooting.pdf").json
    conversation = add_exchange(
        app,
        owner.organization_id,
        "What does E-1042 mean?",
        cited=(document["id"], document["title"]),
    )

    page = text(console.get(f"/console/documents/{document['id']}"))
    assert 'id="chunk-' in page and "page 2" in page
    assert "What does E-1042 mean?" in page and f"/console/conversations/{conversation}" in page


def test_owners_reprocess_and_delete_documents(
    console: FlaskClient, owner: Account, upload: Callable[..., TestResponse], example_docs: Path
) -> None:
    document = upload(owner, example_docs / "release-notes.txt").json
    assert post_form(console, f"/console/documents/{document['id']}/reprocess").status_code == 302
    assert "is being processed again" in text(console.get("/console/documents"))
    assert post_form(console, f"/console/documents/{document['id']}/delete").status_code == 302
    assert console.get(f"/console/documents/{document['id']}").status_code == 404


def test_members_are_offered_delete_only_for_what_they_uploaded(
    owner: Account,
    member: Account,
    member_console: FlaskClient,
    upload: Callable[..., TestResponse],
    example_docs: Path,
) -> None:
    theirs = upload(owner, example_docs / "release-notes.txt").json
    mine = upload(member, example_docs / "faq.md").json

    listing = member_console.get("/console/documents").get_data(as_text=True)
    assert f"/console/documents/{mine['id']}/delete" in listing
    assert f"/console/documents/{theirs['id']}/delete" not in listing
    page = member_console.get(f"/console/documents/{theirs['id']}").get_data(as_text=True)
    assert "/delete" not in page
    assert post_form(member_console, f"/console/documents/{theirs['id']}/delete").status_code == 403
    assert post_form(member_console, f"/console/documents/{mine['id']}/delete").status_code == 302


# --- Conversations -------------------------------------------------------------------------------


def test_conversations_are_filtered_by_source_flags_dates_and_question_text(
    app: Flask, client: FlaskClient, owner: Account, console: FlaskClient
) -> None:
    widget = create_widget(client, owner)
    org = owner.organization_id
    old = datetime.now(UTC) - timedelta(days=40)
    ids = {
        "abstained": add_exchange(
            app, org, "Can I pay with gold bars?", abstained=True, widget_id=widget["id"]
        ),
        "down": add_exchange(app, org, "How do refunds work?", rating=-1, user_id=owner.user_id),
        "up": add_exchange(
            app, org, "Where is my invoice?", rating=1, widget_id=widget["id"], handoff=True
        ),
        "old": add_exchange(
            app, org, "An old question about invoices", asked_at=old, user_id=owner.user_id
        ),
    }

    def listed(query: str) -> set[str]:
        page = text(console.get(f"/console/conversations?{query}"))
        found = set(re.findall(r"/console/conversations/([0-9a-f-]{36})", page))
        return {name for name, conversation in ids.items() if conversation in found}

    assert listed("") == set(ids)
    assert listed("source=widget") == {"abstained", "up"}
    assert listed("source=api") == {"down", "old"}
    assert listed("abstained=1") == {"abstained"}
    assert listed("rating=down") == {"down"}
    assert listed("rating=up") == {"up"}
    assert listed("handoff=1") == {"up"}
    assert listed("q=invoice") == {"up", "old"}
    since = (date.today() - timedelta(days=7)).isoformat()
    assert listed(f"since={since}") == {"abstained", "down", "up"}
    assert listed(f"until={(date.today() - timedelta(days=30)).isoformat()}") == {"old"}
    assert listed("since=not-a-date&rating=sideways") == set(ids)


def test_a_conversation_shows_answers_with_numbered_citations_to_the_passage(
    client: FlaskClient,
    owner: Account,
    console: FlaskClient,
    upload: Callable[..., TestResponse],
    example_docs: Path,
) -> None:
    upload(owner, example_docs / "troubleshooting.pdf")
    conversation = start(client, owner)
    asked = ask(client, owner, conversation, "What does error E-1042 mean?").json
    citation = asked["assistant_message"]["citations"][0]

    page = text(console.get(f"/console/conversations/{conversation}"))
    link = f"/console/documents/{citation['document_id']}/chunks/{citation['chunk_id']}"
    assert "What does error E-1042 mean?" in page and link in page
    assert f'<li value="{citation["n"]}">' in page
    followed = console.get(link)
    assert followed.status_code == 302 and followed.location.endswith(
        f"#chunk-{citation['chunk_id']}"
    )
    assert f'id="chunk-{citation["chunk_id"]}"' in text(console.get(followed.location))


# --- Handoffs ------------------------------------------------------------------------------------


def test_handoffs_are_assigned_to_a_member_and_resolved(
    app: Flask, owner: Account, member: Account, console: FlaskClient, member_console: FlaskClient
) -> None:
    add_exchange(app, owner.organization_id, "I need a human", handoff=True)
    page = text(member_console.get("/console/handoffs"))
    handoff = re.search(r'id="handoff-([0-9a-f-]{36})"', page).group(1)
    assert (
        "visitor@example.org" in page
        and "Please call me back." in page
        and "not configured" in page
    )

    assigned = post_form(
        member_console, f"/console/handoffs/{handoff}", {"assigned_to": member.user_id}
    )
    assert assigned.status_code == 302
    assert f'value="{member.user_id}" selected' in text(console.get("/console/handoffs"))
    resolved = post_form(console, f"/console/handoffs/{handoff}", {"status": "resolved"})
    assert resolved.status_code == 302
    assert handoff not in text(console.get("/console/handoffs"))
    assert handoff in text(console.get("/console/handoffs?status=resolved"))
    bad = post_form(console, f"/console/handoffs/{handoff}", {"assigned_to": "not-an-id"})
    assert bad.status_code == 422


# --- Widgets -------------------------------------------------------------------------------------


def test_owners_create_edit_and_rotate_a_widget(
    client: FlaskClient, owner: Account, console: FlaskClient
) -> None:
    fields = {
        "name": "Help center",
        "title": "Ask Acme",
        "primary_color": "teal",
        "welcome_message": "Hi!",
        "allowed_domains": "help.acme.test\n*.acme.test",
        "enable_feedback": "on",
    }
    created = post_form(console, "/console/widgets/new", fields)
    assert created.status_code == 302
    widget_id = created.location.rsplit("/", 1)[-1]
    stored = client.get(f"/api/v1/widgets/{widget_id}", headers=owner.headers).json
    assert stored["allowed_domains"] == ["help.acme.test", "*.acme.test"]
    assert stored["primary_color"] == "teal" and stored["enable_feedback"] is True

    invalid = post_form(
        console, f"/console/widgets/{widget_id}", {**fields, "primary_color": "url(x)"}
    )
    assert invalid.status_code == 422 and 'aria-invalid="true"' in text(invalid)

    post_form(console, f"/console/widgets/{widget_id}", {**fields, "title": "Ask us anything"})
    page = text(console.get(f"/console/widgets/{widget_id}"))
    assert "Ask us anything" in page and stored["public_key"] in page and "widget.js" in page
    assert post_form(console, f"/console/widgets/{widget_id}/rotate-key").status_code == 302
    rotated = client.get(f"/api/v1/widgets/{widget_id}", headers=owner.headers).json
    assert rotated["public_key"] != stored["public_key"]
    assert rotated["public_key"] in text(console.get(f"/console/widgets/{widget_id}"))


# --- Members --------------------------------------------------------------------------------------


def test_owners_invite_change_roles_and_remove_members(
    app: Flask, owner: Account, other_owner: Account, console: FlaskClient
) -> None:
    invited = post_form(console, "/console/members", {"email": "New.Agent@Example.com"})
    assert invited.status_code == 201
    password = re.search(r"<code data-temporary-password>([^<]+)</code>", text(invited)).group(1)
    page = text(console.get("/console/members"))
    user_id = re.search(
        r'data-member="([0-9a-f-]{36})">\s*<th scope="row">new.agent@example.com', page
    )
    assert user_id, page
    agent = app.test_client()
    sign_in(agent, Account("new.agent@example.com", password, {}))
    assert agent.get("/console/members").status_code == 403
    assert "Members</a>" not in text(agent.get("/console/documents"))

    promoted = post_form(console, f"/console/members/{user_id.group(1)}/role", {"role": "owner"})
    assert promoted.status_code == 302
    assert agent.get("/console/members").status_code == 200  # read again on every request
    assert (
        post_form(console, f"/console/members/{owner.user_id}/role", {"role": "member"}).status_code
        == 409
    )
    assert post_form(console, f"/console/members/{other_owner.user_id}/remove").status_code == 404

    assert post_form(console, f"/console/members/{user_id.group(1)}/remove").status_code == 302
    assert agent.get("/console/documents").status_code == 302  # signed out: the user is gone
    again = post_form(console, "/console/members", {"email": "not-an-email"})
    assert again.status_code == 422 and 'aria-invalid="true"' in text(again)
