"""Browser fixtures: the demo page in real Chromium, served by a real HTTP server.

The app runs in a thread (werkzeug's ``make_server``) on a free port, on the session's test
database and model, with the demo seeded (documents processed inline). Chromium is Debian's
(``/usr/bin/chromium``, or ``RAGKIT_CHROMIUM``), driven by Playwright, which never downloads a
browser here. Without Chromium or Playwright the tests are skipped with a loud message, unless
``RAGKIT_REQUIRE_BROWSER`` is set (``make test`` sets it): then they fail.

Screenshots go to ``tests/browser/artifacts/`` (or ``RAGKIT_TEST_ARTIFACTS``), with
``timings.json`` (time to the first answer token).
"""

from __future__ import annotations

import importlib.util
import json
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import redis
from flask import Flask
from werkzeug.serving import make_server

from ragkit import Document, RagKit
from tests.fixtures import app_config_for
from webapp import create_app
from webapp.demo import DemoInfo, seed_demo
from webapp.extensions import db

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page

CHROMIUM = Path(os.environ.get("RAGKIT_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(os.environ.get("RAGKIT_TEST_ARTIFACTS") or Path(__file__).parent / "artifacts")
DEMO_PASSWORD = "browser-test demo password"
ANSWER_TIMEOUT_MS = 60_000
NOT_RUN: list[str] = []


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if importlib.util.find_spec("playwright") is None:
        return "Playwright for Python is not installed (pip install -e '.[dev]')"
    if not os.access(CHROMIUM, os.X_OK):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium, or set RAGKIT_CHROMIUM)"
    return None


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if NOT_RUN:
        terminalreporter.write_sep("!", f"BROWSER TESTS DID NOT RUN: {NOT_RUN[0]}", red=True)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    missing = browser_missing()
    if missing:
        NOT_RUN.append(missing)
        if os.environ.get("RAGKIT_REQUIRE_BROWSER"):
            pytest.fail(f"browser tests required (RAGKIT_REQUIRE_BROWSER) but {missing}", False)
        pytest.skip(f"BROWSER TESTS NOT RUN: {missing}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(autouse=True)
def needs_browser(chromium: Browser) -> None:
    """Every test here needs the browser: skip (or fail) before starting the server."""


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def browser_app(
    database_url: str, redis_url: str, kit: RagKit, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Flask]:
    redis.Redis.from_url(redis_url).flushdb()
    media_root = tmp_path_factory.mktemp("browser-media")
    app = create_app(
        app_config_for(
            database_url,
            redis_url,
            kit,
            media_root,
            PUBLIC_CONVERSATIONS_PER_IP="1000 per hour",
        )
    )
    app.extensions["ragkit"] = kit
    yield app
    redis.Redis.from_url(redis_url).flushdb()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="session")
def demo(browser_app: Flask) -> DemoInfo:
    """The demo organization, user, widget and example documents (all processed)."""
    with browser_app.app_context():
        info = seed_demo(DEMO_PASSWORD)
        statuses = db.session.execute(
            db.select(Document.source, Document.status).where(
                Document.organization_id == info.organization_id
            )
        ).all()
    assert statuses and all(status == "ready" for _, status in statuses), statuses
    return info


@pytest.fixture(scope="session")
def server(browser_app: Flask, demo: DemoInfo) -> Iterator[Server]:
    http = make_server("127.0.0.1", 0, browser_app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield Server(browser_app, http.server_port, demo)
    http.shutdown()
    thread.join(timeout=10)


@dataclass
class Server:
    app: Flask
    port: int
    demo: DemoInfo

    def url(self, path: str = "/demo", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call the authenticated API as the demo user; the JSON body."""
        client = self.app.test_client()
        login = client.post(
            "/api/v1/auth/login", json={"email": self.demo.email, "password": DEMO_PASSWORD}
        )
        assert login.status_code == 200, login.json
        headers = {"Authorization": f"Bearer {login.json['access_token']}"}
        response = client.open(path, method=method, headers=headers, **kwargs)
        assert response.status_code < 300, response.get_data(as_text=True)
        return response.get_json(silent=True)

    def query(self, statement: Any) -> list[Any]:
        with self.app.app_context():
            return list(db.session.execute(statement).all())


@pytest.fixture
def customer_site() -> Iterator[Callable[[str], str]]:
    """A customer's own web site (another origin on 127.0.0.1): serves the page it is given."""
    pages: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(pages[-1])

        def log_message(self, *args: Any) -> None:
            pass

    http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()

    def serve(html: str) -> str:
        pages.append(html.encode())
        return f"http://127.0.0.1:{http.server_address[1]}/"

    yield serve
    http.shutdown()
    http.server_close()


@pytest.fixture
def page_factory(chromium: Browser) -> Iterator[Callable[..., Page]]:
    """New pages, each in a fresh browser context (its own storage); JS errors fail the test."""
    contexts = []
    errors: list[str] = []

    def new_page(**options: Any) -> Page:
        context = chromium.new_context(**options)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        return page

    yield new_page
    for context in contexts:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def page(page_factory: Callable[..., Page]) -> Page:
    return page_factory(viewport={"width": 1280, "height": 800})


class Widget:
    """The embedded widget as a visitor sees it (its shadow root is open to Playwright)."""

    def __init__(self, page: Page) -> None:
        from playwright.sync_api import expect

        self.page = page
        self.expect = expect
        self.root = page.locator("[data-ragkit-widget]")
        self.launcher = self.root.locator("button.launcher")
        self.panel = self.root.locator("#rk-panel")
        self.question = self.root.get_by_label("Your question")
        self.notice = self.root.locator(".notice")
        self.answers = self.root.locator(".msg.bot")

    def open(self, configured: bool = True) -> None:
        """Open the panel; unless told otherwise, wait for the widget's settings to be shown."""
        self.launcher.click()
        self.expect(self.panel).to_be_visible()
        if configured:
            self.expect(self.root.locator("#rk-title")).not_to_have_text("Help")

    def ask(self, text: str) -> Locator:
        """Ask a question and wait for the whole answer; the answer bubble."""
        before = self.answers.count()
        self.question.fill(text)
        self.question.press("Enter")
        self.expect(self.answers).to_have_count(before + 1)
        self.expect(self.root.locator(".log[aria-busy]")).to_have_count(
            0, timeout=ANSWER_TIMEOUT_MS
        )
        return self.answers.nth(before)

    def stored(self) -> dict[str, Any]:
        """What the widget keeps in localStorage: conversation id, token, ratings."""
        key = self.root.get_attribute("data-ragkit-widget")
        saved = self.page.evaluate("key => localStorage.getItem('ragkit-widget:' + key)", key)
        return json.loads(saved)

    def active_element(self) -> str:
        """A description of the focused element inside the widget ('' when focus is outside)."""
        return self.page.evaluate(
            """() => {
                const active = document.querySelector('[data-ragkit-widget]').shadowRoot
                    .activeElement;
                return active ? (active.id || active.className || active.tagName) : '';
            }"""
        )


@pytest.fixture
def open_demo(server: Server, page: Page) -> Callable[..., Widget]:
    def visit(host: str = "127.0.0.1", target: Page | None = None) -> Widget:
        shown = target or page
        shown.goto(server.url("/demo", host))
        widget = Widget(shown)
        widget.expect(widget.launcher).to_be_visible()
        return widget

    return visit
