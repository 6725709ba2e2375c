"""The support console in real Chromium: sign in, upload, live status, citations, knowledge gaps."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa

from ragkit import Document
from tests.browser.conftest import DEMO_PASSWORD, Server, Widget
from webapp.extensions import db

if TYPE_CHECKING:
    from playwright.sync_api import Page

UNCOVERED = "How do I connect a Zephyr headset to my smart TV?"
CURATED_ANSWER = (
    "Hold the headset's power button for five seconds until its light blinks blue, then "
    "choose Zephyr in the Bluetooth menu of the TV."
)


@pytest.fixture(autouse=True)
def demo_documents_restored(server: Server) -> Iterator[None]:
    """Documents a test adds to the demo organization are deleted after it (other tests, here
    and in tests/webapp, expect the demo to hold exactly the example documents)."""
    organization = server.demo.organization_id
    before = {
        row[0]
        for row in server.query(
            sa.select(Document.id).where(Document.organization_id == organization)
        )
    }
    yield
    added = server.query(sa.select(Document.id).where(Document.organization_id == organization))
    kit = server.app.extensions["ragkit"]
    for (document_id,) in added:
        if document_id not in before:
            kit.delete_document(document_id, organization)


def sign_in(page: Page, server: Server, path: str = "/console") -> None:
    from playwright.sync_api import expect

    page.goto(server.url(path))
    expect(page.get_by_role("heading", name="Sign in to the support console")).to_be_visible()
    page.get_by_label("E-mail").fill(server.demo.email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("navigation", name="Console")).to_be_visible()


def test_sign_in_upload_files_and_follow_a_citation_to_its_passage(
    server: Server, page: Page, tmp_path: Path, artifacts: Path
) -> None:
    from playwright.sync_api import expect

    sign_in(page, server)
    expect(page).to_have_url(server.url("/console/documents"))
    names = []
    for topic in ("office hours", "holiday schedule"):
        path = tmp_path / f"{topic.replace(' ', '-')}-{uuid.uuid4().hex[:6]}.md"
        path.write_text(f"# Our {topic}\n\nThe support team's {topic}: weekdays, 9:00 to 17:00.\n")
        names.append(path)
    page.get_by_label("Files").set_input_files([str(path) for path in names])
    page.get_by_role("button", name="Upload").click()

    progress = page.locator("[data-upload-list] li")
    expect(progress.filter(has_text="uploaded (ready)")).to_have_count(2)
    for path in names:
        row = page.locator("tr", has=page.get_by_role("link", name=path.stem, exact=True))
        expect(row).to_have_attribute("data-status", "ready", timeout=15_000)
    page.screenshot(path=artifacts / "console-documents.png", full_page=True)

    conversation = server.api("POST", "/api/v1/chat/conversations/", json={})["id"]
    server.api(
        "POST",
        f"/api/v1/chat/conversations/{conversation}/messages/",
        json={"content": "How do I reset my password?"},
    )
    page.get_by_role("link", name="Conversations").click()
    page.get_by_role("link", name="How do I reset my password?").first.click()
    citation = page.locator(".citations a").first
    expect(citation).to_be_visible()
    page.screenshot(path=artifacts / "console-conversation.png", full_page=True)
    citation.click()

    expect(page).to_have_url(re.compile(r"#chunk-[0-9a-f-]{36}$"))
    chunk_id = page.url.split("#chunk-")[1]
    target = page.locator(f"#chunk-{chunk_id}")
    expect(target).to_be_visible()
    assert page.evaluate("document.querySelector(':target').id") == f"chunk-{chunk_id}"


def test_a_processing_document_turns_ready_without_reloading(server: Server, page: Page) -> None:
    from playwright.sync_api import expect

    title = f"Being processed {uuid.uuid4().hex[:6]}"
    document_id = uuid.uuid4()
    with server.app.app_context():
        db.session.add(
            Document(
                id=document_id,
                organization_id=server.demo.organization_id,
                title=title,
                source=f"{title}.txt",
                content_type="text/plain",
                file_size=10,
                content_hash=hashlib.sha256(title.encode()).hexdigest(),
                status="processing",
            )
        )
        db.session.commit()
    sign_in(page, server, f"/console/documents?q={title}")
    row = page.locator(f'[data-document="{document_id}"]')
    expect(row.locator('[data-field="status"]')).to_have_text("processing")
    page.evaluate("window.notReloaded = true")

    with server.app.app_context():
        db.session.execute(
            sa.update(Document)
            .where(Document.id == document_id)
            .values(status="failed", processing_error="The file has no text.")
        )
        db.session.commit()

    expect(row.locator('[data-field="status"]')).to_have_text("failed", timeout=8_000)
    expect(row.locator('[data-field="error"]')).to_have_text("The file has no text.")
    assert page.evaluate("window.notReloaded") is True


def test_an_uncovered_widget_question_becomes_a_gap_then_an_answer_with_a_citation(
    server: Server, page_factory, artifacts: Path
) -> None:
    from playwright.sync_api import expect

    visitor = page_factory(viewport={"width": 1280, "height": 800})
    visitor.goto(server.url("/demo"))
    widget = Widget(visitor)
    widget.open()
    answer = widget.ask(UNCOVERED)
    expect(answer).to_contain_text("Our help articles don't cover this.")

    page = page_factory(viewport={"width": 375, "height": 800})
    sign_in(page, server, "/console/gaps")
    group = page.locator("[data-gap]", has_text=UNCOVERED)
    expect(group).to_have_count(1)
    page.screenshot(path=artifacts / "console-gaps-phone.png", full_page=True)
    group.get_by_role("link").first.click()

    page.get_by_label("Question", exact=True).fill(UNCOVERED)
    page.get_by_label("Answer (Markdown)").fill(CURATED_ANSWER)
    page.get_by_role("button", name="Save to the knowledge base").click()
    expect(page.locator(".flash-success")).to_contain_text("Saved")
    page.get_by_role("button", name="Mark resolved and re-ask").click()

    expect(page.locator(".flash-success")).to_contain_text("are now answered")
    expect(page.locator('[data-recheck="answered"]').first).to_be_visible()
    expect(page.locator('[data-recheck="unanswered"]')).to_have_count(0)
    page.screenshot(path=artifacts / "console-gap-resolved-phone.png", full_page=True)
    page.locator("[data-question] .citations a").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(UNCOVERED)
    expect(page.locator(".chunk:target")).to_contain_text("five seconds")
