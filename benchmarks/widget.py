"""The chat widget on the demo page: its transferred size and the time to the first answer token.

Runs against a server started by ``make run`` (queue mode, one worker, ``flask run``), in real
Chromium (Debian's ``/usr/bin/chromium``, driven by Playwright). Each question is asked by a new
visitor (a fresh browser context): the time runs from pressing Enter to the first streamed text
in the panel, as the widget marks them (``performance.mark``), so the first question includes
starting the conversation. A follow-up question in the same conversation is timed too.

    make run &   # then, once it prints the demo URL:
    python -m benchmarks.widget [--url http://127.0.0.1:5000/demo] [--questions 10]

Each visitor starts a conversation: keep ``--questions`` under the server's
``PUBLIC_CONVERSATIONS_PER_IP`` (30 per hour by default).
"""

from __future__ import annotations

import argparse
import gzip
import sys
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import RESULTS, Run, latency_summary

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
WIDGET = Path(__file__).resolve().parent.parent / "webapp" / "static" / "widget.js"
QUESTIONS = (
    "How do I reset my password?",
    "Where are the log files on macOS?",
    "What does error E-1042 mean?",
    "Can I get a refund after upgrading?",
    "How many devices can I sync on the Free plan?",
    "How do I share a single note?",
    "What changed in version 3.6.0?",
    "How much does the Team plan cost?",
    "How do I turn on two-factor authentication?",
    "What happens when a payment fails?",
)
FOLLOW_UP = "And how long is the link valid?"
FIRST_TOKEN_SECONDS = """() => {
    const [asked] = performance.getEntriesByName('ragkit:question').slice(-1);
    const [first] = performance.getEntriesByName('ragkit:first-token').slice(-1);
    return (first.startTime - asked.startTime) / 1000;
}"""


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:5000/demo", help="the demo page")
    parser.add_argument("--questions", type=int, default=10, help="visitors, one question each")
    parser.add_argument("--chromium", default=CHROMIUM)
    parser.add_argument("--output", type=Path, default=RESULTS / "widget.json")
    return parser.parse_args(argv)


def script_sizes(page_url: str) -> dict[str, int]:
    """widget.js as stored, gzip -9, and as the server sends it to a browser accepting gzip."""
    body = WIDGET.read_bytes()
    request = urllib.request.Request(
        urljoin(page_url, "/widget.js"), headers={"Accept-Encoding": "gzip"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        sent = len(response.read())
    return {"raw_bytes": len(body), "gzip9_bytes": len(gzip.compress(body, 9)), "sent_bytes": sent}


def ask(page: Any, question: str) -> float:
    """Ask in the open panel, wait for the whole answer; seconds to its first token."""
    root = page.locator("[data-ragkit-widget]")
    field = root.get_by_label("Your question")
    field.fill(question)
    field.press("Enter")
    page.wait_for_function(
        "() => !document.querySelector('[data-ragkit-widget]').shadowRoot"
        ".querySelector('.log[aria-busy]')",
        timeout=120_000,
    )
    return float(page.evaluate(FIRST_TOKEN_SECONDS))


def visitor(browser: Any, url: str, question: str) -> tuple[float, float]:
    """A new visitor's first question and a follow-up: (first token s, follow-up first token s)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        page.goto(url)
        root = page.locator("[data-ragkit-widget]")
        root.locator("button.launcher").click()
        root.locator("#rk-panel").wait_for(state="visible")
        return ask(page, question), ask(page, FOLLOW_UP)
    finally:
        context.close()


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    arguments = parse_arguments(argv)
    from playwright.sync_api import sync_playwright

    run = Run("widget", arguments)
    sizes = script_sizes(arguments.url)
    first, follow_up = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=arguments.chromium, args=ARGS)
        for number in range(arguments.questions):
            seconds, again = visitor(browser, arguments.url, QUESTIONS[number % len(QUESTIONS)])
            first.append(seconds)
            follow_up.append(again)
            print(
                f"{number + 1:3}: first token {seconds * 1000:.0f} ms, "
                f"follow-up {again * 1000:.0f} ms"
            )
        browser.close()
    results = {
        "widget_js": sizes,
        "first_question_first_token": latency_summary(first),
        "follow_up_first_token": latency_summary(follow_up),
    }
    print(results)
    return run.finish(results, arguments.output)


if __name__ == "__main__":
    main()
