"""The chat widget on the demo page, in real Chromium: what a visitor sees and does."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from tests.browser.conftest import Server, Widget
from webapp.extensions import db
from webapp.models import Feedback, Message, WidgetConfiguration

if TYPE_CHECKING:
    from playwright.sync_api import Page

PASSWORD_QUESTION = "How do I reset my password?"
FAQ_TITLE = "Nimbus Notes — Frequently Asked Questions"
OFF_TOPIC = "What is the best recipe for a chocolate soufflé?"


def launcher_colours(widget: Widget) -> tuple[str, str]:
    background, text = widget.launcher.evaluate(
        "node => [getComputedStyle(node).backgroundColor, getComputedStyle(node).color]"
    )
    return background, text


def test_launcher_opens_a_panel_with_the_widgets_title_welcome_and_colour(
    open_demo: Callable[..., Widget],
) -> None:
    widget = open_demo()
    widget.expect(widget.launcher).to_have_attribute(
        "aria-label", "Open help chat: Nimbus Notes Help"
    )
    assert launcher_colours(widget) == ("rgb(47, 95, 208)", "rgb(255, 255, 255)")
    widget.expect(widget.launcher).to_have_attribute("aria-expanded", "false")

    widget.open()

    widget.expect(widget.root.get_by_role("heading", name="Nimbus Notes Help")).to_be_visible()
    widget.expect(widget.answers.first).to_contain_text("Ask me anything about Nimbus Notes")
    widget.expect(widget.launcher).to_have_attribute("aria-expanded", "true")
    assert widget.active_element() == "rk-question"
    widget.expect(widget.root.get_by_role("button", name="Talk to a person")).to_be_visible()


def test_keyboard_alone_opens_and_closes_the_panel(open_demo: Callable[..., Widget]) -> None:
    widget = open_demo()
    widget.launcher.focus()
    widget.page.keyboard.press("Enter")
    widget.expect(widget.panel).to_be_visible()
    assert widget.active_element() == "rk-question"

    widget.page.keyboard.press("Escape")

    widget.expect(widget.panel).to_be_hidden()
    assert widget.active_element() == "launcher"
    outline = widget.launcher.evaluate("node => getComputedStyle(node).outlineStyle")
    assert outline == "solid"  # the focus ring is visible


def test_question_gets_a_streamed_answer_whose_citation_opens_the_quoted_passage(
    open_demo: Callable[..., Widget], artifacts: Path
) -> None:
    widget = open_demo()
    widget.open()
    widget.page.evaluate(
        """() => {
            const log = document.querySelector('[data-ragkit-widget]').shadowRoot
                .querySelector('.log');
            window.textPieces = 0;
            new MutationObserver(records => {
                for (const record of records)
                    for (const node of record.addedNodes)
                        if (node.nodeType === Node.TEXT_NODE) window.textPieces++;
            }).observe(log, {childList: true, subtree: true});
        }"""
    )

    answer = widget.ask(PASSWORD_QUESTION)

    widget.expect(answer).to_contain_text("Settings → Security → Reset password")
    assert widget.page.evaluate("window.textPieces") > 5  # arrived piece by piece
    source = answer.locator("button.source").filter(has_text=FAQ_TITLE).first
    widget.expect(source).to_have_attribute("aria-expanded", "false")
    inline = answer.locator("button.cite").first
    widget.expect(inline).to_have_text(re.compile(r"\[\d+\]"))

    inline.click()

    passage = widget.root.locator(f"#{source.get_attribute('aria-controls')}")
    widget.expect(source).to_have_attribute("aria-expanded", "true")
    widget.expect(passage).to_be_visible()
    widget.expect(passage).to_contain_text(FAQ_TITLE)
    widget.expect(passage.locator("mark")).to_contain_text("Reset password")
    record_first_token(widget.page, artifacts)
    widget.page.screenshot(path=artifacts / "answered.png")


def record_first_token(page: Page, artifacts: Path) -> None:
    """Time from sending the question to the first answer token on the page (not asserted)."""
    seconds = page.evaluate(
        """() => {
            const [asked] = performance.getEntriesByName('ragkit:question');
            const [first] = performance.getEntriesByName('ragkit:first-token');
            return (first.startTime - asked.startTime) / 1000;
        }"""
    )
    timings = artifacts / "timings.json"
    recorded = json.loads(timings.read_text()) if timings.exists() else {}
    recorded.setdefault("first_token_seconds", []).append(round(seconds, 3))
    timings.write_text(json.dumps(recorded, indent=2))


def test_thumbs_down_is_stored_for_the_answer(
    open_demo: Callable[..., Widget], server: Server
) -> None:
    widget = open_demo()
    widget.open()
    answer = widget.ask(PASSWORD_QUESTION)
    down = answer.get_by_role("button", name="Not helpful")
    widget.expect(down).to_have_attribute("aria-pressed", "false")

    down.click()

    widget.expect(down).to_have_attribute("aria-pressed", "true")
    widget.expect(answer.get_by_role("button", name="Helpful", exact=True)).to_have_attribute(
        "aria-pressed", "false"
    )
    widget.expect(answer).to_contain_text("Thanks for your feedback")
    conversation_id = uuid.UUID(widget.stored()["id"])
    ratings = server.query(
        db.select(Feedback.rating)
        .join(Message, Message.id == Feedback.message_id)
        .where(Message.conversation_id == conversation_id)
    )
    assert [rating for (rating,) in ratings] == [-1]


def test_off_topic_question_shows_the_abstention_and_a_handoff_the_team_can_list(
    open_demo: Callable[..., Widget], server: Server, artifacts: Path
) -> None:
    widget = open_demo()
    widget.open()

    answer = widget.ask(OFF_TOPIC)

    widget.expect(answer).to_contain_text("Our help articles don't cover this.")
    widget.expect(answer.get_by_role("button", name="Not helpful")).to_have_count(0)
    answer.get_by_role("button", name="Talk to a person").click()
    form = widget.root.locator("form.handoff")
    widget.expect(form).to_be_visible()
    assert widget.active_element() == "rk-email"
    widget.expect(form.get_by_label("Your message")).to_have_value(OFF_TOPIC)
    email = f"visitor-{uuid.uuid4().hex[:8]}@example.com"
    form.get_by_label("Your e-mail address").fill(email)
    form.get_by_label("Your message").fill("Can a person help me with dessert?")
    widget.page.screenshot(path=artifacts / "handoff.png")
    form.get_by_role("button", name="Send to our team").click()

    widget.expect(widget.notice).to_contain_text(f"our team will reply to {email}")
    widget.expect(form).to_be_hidden()
    listed = server.api("GET", "/api/v1/handoffs/")["items"]
    mine = [handoff for handoff in listed if handoff["email"] == email]
    assert len(mine) == 1
    assert mine[0]["message"] == "Can a person help me with dessert?"
    assert mine[0]["conversation_id"] == widget.stored()["id"]
    assert mine[0]["status"] == "open"


def test_widget_on_a_page_of_a_host_it_does_not_allow_shows_the_refusal(
    open_demo: Callable[..., Widget], server: Server, artifacts: Path
) -> None:
    key = server.demo.widget_key
    allow_only(server, key, ["127.0.0.1"])
    try:
        widget = open_demo(host="localhost")
        widget.open(configured=False)

        widget.expect(widget.notice).to_have_text("This chat isn't available on this website.")
        widget.expect(widget.question).to_be_hidden()
        widget.expect(widget.root.get_by_role("button", name="Talk to a person")).to_be_hidden()
        assert widget.active_element() == "close"
        widget.page.screenshot(path=artifacts / "refused.png")
    finally:
        allow_only(server, key, server.demo.allowed_domains)


def allow_only(server: Server, key: str, domains: list[str]) -> None:
    with server.app.app_context():
        db.session.execute(
            db.update(WidgetConfiguration)
            .where(WidgetConfiguration.public_key == key)
            .values(allowed_domains=domains)
        )
        db.session.commit()


def test_conversation_survives_a_page_reload(open_demo: Callable[..., Widget]) -> None:
    widget = open_demo()
    widget.open()
    answer = widget.ask(PASSWORD_QUESTION)
    answer.get_by_role("button", name="Not helpful").click()
    widget.expect(answer).to_contain_text("Thanks for your feedback")
    stored = widget.stored()

    widget.page.reload()

    widget.expect(widget.panel).to_be_visible()  # it was open: it opens again
    widget.expect(widget.root.locator(".msg.user")).to_have_text([PASSWORD_QUESTION])
    restored = widget.answers.nth(1)
    widget.expect(restored).to_contain_text("Settings → Security → Reset password")
    widget.expect(restored.locator("button.source").first).to_contain_text(FAQ_TITLE)
    down = restored.get_by_role("button", name="Not helpful")
    widget.expect(down).to_have_attribute("aria-pressed", "true")
    assert widget.stored()["id"] == stored["id"]


def test_a_forgotten_conversation_starts_afresh(
    open_demo: Callable[..., Widget], page: Page
) -> None:
    widget = open_demo()
    key = widget.root.get_attribute("data-ragkit-widget")
    gone = {"id": str(uuid.uuid4()), "token": "not-a-valid-token", "ratings": {}}
    page.evaluate(
        "([key, value]) => localStorage.setItem('ragkit-widget:' + key, value)",
        [key, json.dumps(gone)],
    )

    page.reload()
    widget.open()
    answer = widget.ask(PASSWORD_QUESTION)

    widget.expect(answer).to_contain_text("Reset password")
    assert widget.stored()["id"] != gone["id"]


def test_too_many_questions_shows_when_to_try_again(
    open_demo: Callable[..., Widget], server: Server
) -> None:
    configured = server.app.config["PUBLIC_RATE_LIMIT_VISITOR"]
    server.app.config["PUBLIC_RATE_LIMIT_VISITOR"] = "1 per minute"
    try:
        widget = open_demo()
        widget.open()
        widget.ask(PASSWORD_QUESTION)
        widget.question.fill("And how do I turn on two-factor authentication?")
        widget.question.press("Enter")

        widget.expect(widget.notice).to_have_text(
            re.compile(r"Too many questions, try again in \d+ seconds?\.")
        )
        widget.expect(widget.question).to_have_value(
            "And how do I turn on two-factor authentication?"
        )
    finally:
        server.app.config["PUBLIC_RATE_LIMIT_VISITOR"] = configured


def test_on_a_phone_the_panel_fills_the_screen_and_answers(
    page_factory: Callable[..., Page], open_demo: Callable[..., Widget], artifacts: Path
) -> None:
    phone = page_factory(viewport={"width": 375, "height": 667}, is_mobile=True, has_touch=True)
    widget = open_demo(target=phone)
    widget.open()

    box = widget.panel.bounding_box()
    assert box is not None and (box["x"], box["y"]) == (0, 0)
    assert (box["width"], box["height"]) == (375, 667)
    answer = widget.ask(PASSWORD_QUESTION)
    widget.expect(answer).to_contain_text("Reset password")
    widget.expect(widget.root.get_by_role("button", name="Close chat")).to_be_in_viewport()
    widget.expect(widget.panel).to_have_attribute("aria-modal", "true")
    for _ in range(25):  # full-screen, the panel keeps the focus
        phone.keyboard.press("Tab")
        assert widget.active_element()
    phone.screenshot(path=artifacts / "mobile.png")


MARKUP = '<img src=x onerror="window.injected = 1">'


def test_markup_in_answers_and_settings_is_shown_as_text_never_run(
    open_demo: Callable[..., Widget], server: Server, tmp_path: Path
) -> None:
    note = tmp_path / "server-room.txt"
    note.write_text(f"The server room door code is {MARKUP} and it changes every month.\n")
    with note.open("rb") as handle:
        document = server.api(
            "POST",
            "/api/v1/documents/",
            data={"file": (handle, note.name)},
            content_type="multipart/form-data",
        )
    key = server.demo.widget_key
    welcome = set_welcome(server, key, f"Welcome! {MARKUP}")
    try:
        widget = open_demo()
        widget.open()
        widget.expect(widget.answers.first).to_have_text(f"Welcome! {MARKUP}")

        answer = widget.ask("What is the server room door code?")

        # The answer's own text drops markup; the quoted passage keeps it verbatim, as text.
        widget.expect(answer).to_contain_text("The server room door code is")
        answer.locator("button.source").first.click()
        widget.expect(widget.root.locator(".passage").first).to_contain_text(MARKUP)
        assert widget.root.locator("img").count() == 0
        assert widget.page.evaluate("window.injected") is None
    finally:
        set_welcome(server, key, welcome)
        server.api("DELETE", f"/api/v1/documents/{document['id']}")


def set_welcome(server: Server, key: str, message: str) -> str:
    """Change the widget's welcome message; the one it had."""
    with server.app.app_context():
        widget = db.session.execute(
            db.select(WidgetConfiguration).where(WidgetConfiguration.public_key == key)
        ).scalar_one()
        previous, widget.welcome_message = widget.welcome_message, message
        db.session.commit()
    return previous


HOSTILE_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>A customer's site</title>
<style>
  * { color: red !important; font: 40px serif !important; }
  button, textarea { background: black !important; border: 9px dotted lime !important; }
</style></head><body><h1>Our shop</h1>
<script src="SCRIPT" data-widget-key="KEY" async></script></body></html>"""


def test_a_widget_on_a_page_with_hostile_css_keeps_its_own_look_and_settings(
    page: Page, server: Server, customer_site: Callable[[str], str]
) -> None:
    key = add_widget(server, title="Gold Help", primary_color="gold", enable_feedback=False)
    html = HOSTILE_PAGE.replace("SCRIPT", server.url("/widget.js")).replace("KEY", key)
    page.goto(customer_site(html))
    widget = Widget(page)

    widget.expect(widget.launcher).to_have_attribute("aria-label", "Open help chat: Gold Help")
    assert launcher_colours(widget) == ("rgb(255, 215, 0)", "rgb(17, 17, 17)")  # dark on gold
    widget.open()
    assert widget.question.evaluate("node => getComputedStyle(node).fontSize") == "16px"
    answer = widget.ask(PASSWORD_QUESTION)
    widget.expect(answer).to_contain_text("Reset password")
    widget.expect(answer.get_by_role("button", name="Not helpful")).to_have_count(0)


def add_widget(server: Server, **fields: object) -> str:
    """Another widget of the demo organization, allowed on 127.0.0.1 only; its key."""
    with server.app.app_context():
        widget = WidgetConfiguration(
            organization_id=uuid.UUID(server.demo.organization_id),
            name=f"test {uuid.uuid4().hex[:6]}",
            allowed_domains=["127.0.0.1"],
            **fields,
        )
        db.session.add(widget)
        db.session.commit()
        return widget.public_key
