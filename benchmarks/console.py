"""Render times of the support console's pages in a large organization.

Seeds one organization with ``--documents`` documents (ready, three passages each) and
``--conversations`` conversations (a question and a cited answer each; some abstained, rated up
or down, or handed off, spread over 90 days), signs in, and times each page with the Flask test
client (the whole request: session, queries, templates), ``--repeat`` times after one warm-up.
The first visit of the knowledge gaps page (which embeds and groups the first 64 gap questions)
and the grouping of the rest (what ``flask ragkit group-gaps`` does) are timed on their own.

    python -m benchmarks.console [--documents 1000] [--conversations 10000] [--repeat 10]
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa

from benchmarks.common import (
    Run,
    add_common_arguments,
    latency_summary,
    print_table,
    temporary_database,
)
from ragkit import Chunk, Document, Settings
from webapp import create_app
from webapp.auth.passwords import hash_password
from webapp.extensions import db
from webapp.models import (
    Conversation,
    Feedback,
    HandoffRequest,
    Message,
    MessageCitation,
    Organization,
    User,
    WidgetConfiguration,
)
from webapp.services import gaps

PASSWORD = "benchmark password"
TOPICS = (
    "reset my password",
    "export my notes to PDF",
    "change the billing address",
    "sync on a second phone",
    "restore a deleted notebook",
    "share a notebook with my team",
    "cancel my subscription",
    "use the app offline",
)
GAP_TOPICS = (
    "pair the Zephyr headset with a smart TV",
    "pay with Bitcoin",
    "ship to Antarctica",
    "install it on a Commodore 64",
    "get a student discount",
)


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=10)
    add_common_arguments(parser, "console")
    return parser.parse_args(argv)


def seed(documents: int, conversations: int) -> dict[str, Any]:
    """One organization with its documents and conversations; ids the pages need."""
    organization = Organization(name="Benchmark Support")
    owner = User(
        email="owner@bench.example",
        password_hash=hash_password(PASSWORD),
        role="owner",
        organization=organization,
    )
    widget = WidgetConfiguration(name="Help center", title="Ask us", primary_color="#1a73e8")
    db.session.add_all([organization, owner])
    db.session.flush()
    widget.organization_id = organization.id
    db.session.add(widget)
    db.session.flush()
    namespace = str(organization.id)
    now = datetime.now(UTC)
    document_rows, chunk_rows = [], []
    for number in range(documents):
        document_id = uuid.uuid4()
        title = f"Article {number:04d}: how to {TOPICS[number % len(TOPICS)]}"
        document_rows.append(
            {
                "id": document_id,
                "organization_id": namespace,
                "title": title,
                "source": f"article-{number}.md",
                "content_type": "text/markdown",
                "file_size": 4096,
                "content_hash": hashlib.sha256(title.encode()).hexdigest(),
                "status": "ready",
                "chunk_count": 3,
            }
        )
        for index in range(3):
            text = f"{title}. Step {index + 1}: open Settings and follow the instructions."
            chunk_rows.append(
                {
                    "id": uuid.uuid4(),
                    "document_id": document_id,
                    "organization_id": namespace,
                    "chunk_index": index,
                    "content": text,
                    "content_hash": hashlib.sha256(text.encode()).hexdigest(),
                    "page_number": index + 1,
                    "section_title": title,
                    "start_char": 0,
                    "end_char": len(text),
                }
            )
    db.session.execute(sa.insert(Document), document_rows)
    db.session.execute(sa.insert(Chunk), chunk_rows)
    conversation_rows, message_rows, citation_rows, feedback_rows, handoff_rows = [], [], [], [], []
    for number in range(conversations):
        conversation_id, answer_id = uuid.uuid4(), uuid.uuid4()
        asked_at = now - timedelta(minutes=13 * number)
        abstained = number % 10 == 3
        topics = GAP_TOPICS if abstained else TOPICS
        question = f"How do I {topics[number % len(topics)]}? (#{number})"
        from_widget = number % 2 == 0
        conversation_rows.append(
            {
                "id": conversation_id,
                "organization_id": organization.id,
                "user_id": None if from_widget else owner.id,
                "widget_id": widget.id if from_widget else None,
                "session_id": uuid.uuid4().hex if from_widget else None,
                "title": question[:80],
                "created_at": asked_at,
                "updated_at": asked_at,
            }
        )
        message_rows += [
            {
                "id": uuid.uuid4(),
                "conversation_id": conversation_id,
                "role": "user",
                "content": question,
                "created_at": asked_at,
                "response_time": None,
                "abstained": None,
            },
            {
                "id": answer_id,
                "conversation_id": conversation_id,
                "role": "assistant",
                "content": "I could not find this." if abstained else "Open Settings. [1]",
                "created_at": asked_at + timedelta(seconds=1),
                "response_time": 0.4 + (number % 17) / 10,
                "abstained": abstained,
            },
        ]
        if not abstained:
            cited = document_rows[number % documents]
            citation_rows.append(
                {
                    "id": uuid.uuid4(),
                    "message_id": answer_id,
                    "chunk_id": None,
                    "document_id": cited["id"],
                    "rank": 1,
                    "score": 0.8,
                    "quote": "Open Settings.",
                    "document_title": cited["title"],
                    "source": cited["source"],
                    "page_number": 1,
                    "section_title": None,
                }
            )
        if number % 7 == 0:
            feedback_rows.append(
                {
                    "id": uuid.uuid4(),
                    "message_id": answer_id,
                    "session_id": uuid.uuid4().hex,
                    "rating": -1 if number % 21 == 0 else 1,
                    "comment": "",
                }
            )
        if number % 50 == 0:
            handoff_rows.append(
                {
                    "id": uuid.uuid4(),
                    "organization_id": organization.id,
                    "conversation_id": conversation_id,
                    "email": f"visitor{number}@example.org",
                    "message": "Please call me.",
                }
            )
    for model, rows in (
        (Conversation, conversation_rows),
        (Message, message_rows),
        (MessageCitation, citation_rows),
        (Feedback, feedback_rows),
        (HandoffRequest, handoff_rows),
    ):
        db.session.execute(sa.insert(model), rows)
    db.session.commit()
    db.session.execute(sa.text("ANALYZE"))
    db.session.commit()
    return {
        "email": owner.email,
        "document": str(document_rows[0]["id"]),
        "conversation": str(conversation_rows[0]["id"]),
        "widget": str(widget.id),
        "gap_questions": sum(1 for row in message_rows if row["abstained"])
        + sum(1 for row in feedback_rows if row["rating"] == -1),
    }


def timed(client: Any, path: str) -> float:
    started = time.perf_counter()
    response = client.get(path)
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"{path} answered {response.status_code}")
    return elapsed


def pages(ids: dict[str, str], gap: str) -> list[str]:
    return [
        "/console/documents",
        "/console/documents?q=password",
        "/console/documents?page=20",
        f"/console/documents/{ids['document']}",
        "/console/conversations",
        "/console/conversations?source=widget&abstained=1",
        "/console/conversations?rating=down",
        "/console/conversations?q=billing",
        "/console/conversations?page=200",
        f"/console/conversations/{ids['conversation']}",
        "/console/handoffs",
        "/console/gaps",
        f"/console/gaps/{gap}",
        "/console/widgets",
        f"/console/widgets/{ids['widget']}",
        "/console/usage",
        "/console/usage?days=90",
        "/console/members",
    ]


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    arguments = parse_arguments(argv)
    run = Run("console", arguments)
    with temporary_database(arguments.home, arguments.server_url) as url:
        app = create_app(
            {
                "TESTING": True,
                "WTF_CSRF_ENABLED": False,
                "DATABASE_URL": url,
                "RAGKIT_SETTINGS": Settings.from_env(home=arguments.home),
                "SECRET_KEY": "benchmark",
                "JWT_SECRET_KEY": "benchmark-jwt-secret-long-enough-for-hs256",
            }
        )
        assert app.test_cli_runner().invoke(args=["db", "upgrade"]).exit_code == 0
        with app.app_context():
            run.record_server(db.engine)
            started = time.perf_counter()
            ids = seed(arguments.documents, arguments.conversations)
            print(f"seeded in {time.perf_counter() - started:.1f} s")
        client = app.test_client()
        client.post("/console/sign-in", data={"email": ids["email"], "password": PASSWORD})
        first_gaps = timed(client, "/console/gaps")
        with app.app_context():
            started = time.perf_counter()
            organization = db.session.execute(db.select(Organization)).scalar_one()
            grouped = gaps.refresh(organization, limit=None)
            backlog_seconds = time.perf_counter() - started
        gap = re.search(
            r'data-gap="([0-9a-f-]{36})"', client.get("/console/gaps").get_data(as_text=True)
        )
        rows, results = [], {}
        for path in pages(ids, gap.group(1) if gap else ""):
            timed(client, path)
            summary = latency_summary([timed(client, path) for _ in range(arguments.repeat)])
            results[path] = summary
            rows.append((path, summary["p50_ms"], summary["p95_ms"]))
        with app.app_context():
            db.engine.dispose()
    print_table(("page", "p50 ms", "p95 ms"), rows)
    print(
        f"gaps, first visit (embeds and groups {gaps.MAX_NEW_PER_VISIT} of "
        f"{ids['gap_questions']} questions): {first_gaps * 1000:.0f} ms; "
        f"the other {grouped} grouped at once in {backlog_seconds:.1f} s"
    )
    return run.finish(
        {
            "documents": arguments.documents,
            "conversations": arguments.conversations,
            "pages": results,
            "gap_questions": ids["gap_questions"],
            "gaps_first_visit_ms": round(first_gaps * 1000, 1),
            "gaps_first_visit_grouped": gaps.MAX_NEW_PER_VISIT,
            "gaps_backlog_grouped": grouped,
            "gaps_backlog_seconds": round(backlog_seconds, 1),
        },
        arguments.output,
    )


if __name__ == "__main__":
    main()
