"""The chat message endpoint under concurrent clients: latency p50/p95 and requests per second.

The web app (``webapp.create_app``, documents processed inline) is served by werkzeug's threaded
server on 127.0.0.1 in this process, on a fresh database; one organization is registered and the
example documents uploaded. Then, for each ``--clients`` N, N threads each open a conversation
and post questions to ``POST /api/v1/chat/conversations/<id>/messages/`` one after another,
until each has sent ``--requests`` or ``--seconds`` have passed. Loopback only.

    python -m benchmarks.chat [--clients 1 2 4] [--requests 25]
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import requests

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (
    Run,
    add_common_arguments,
    latency_summary,
    print_table,
    temporary_database,
)
from ragkit import RagKit, Settings
from ragkit.settings import EMBED_BACKENDS as BACKENDS
from ragkit.settings import QUERY_BACKENDS

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "docs"
PASSWORD = "benchmark password that is long enough"
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


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--requests", type=int, default=25, help="per client, at most")
    parser.add_argument("--seconds", type=float, default=60.0, help="per client count, at most")
    parser.add_argument("--backend", choices=BACKENDS, default=Settings().embed_backend)
    parser.add_argument(
        "--query-backend",
        choices=["", *QUERY_BACKENDS],
        default=Settings().query_backend,
        help="embed questions with this runtime (RAGKIT_QUERY_BACKEND; empty: as --backend)",
    )
    parser.add_argument(
        "--redis-url",
        default="redis://127.0.0.1:6379/14",
        help="Redis for the revoked-token list (only read on each request here)",
    )
    add_common_arguments(parser, "chat")
    return parser.parse_args(argv)


@contextmanager
def served_app(arguments: argparse.Namespace, database_url: str) -> Iterator[tuple[str, RagKit]]:
    """The web app on a free loopback port, sharing one loaded ``RagKit``; its base URL."""
    from werkzeug.serving import make_server

    from webapp import create_app
    from webapp.extensions import db

    settings = Settings(
        database_url=database_url,
        home=arguments.home,
        embed_backend=arguments.backend,
        query_backend=arguments.query_backend,
    )
    kit = RagKit(settings)  # migrates the fresh database
    with tempfile.TemporaryDirectory(prefix="ragkit-bench-media-") as media:
        app = create_app(
            {
                "DATABASE_URL": database_url,
                "REDIS_URL": arguments.redis_url,
                "SECRET_KEY": uuid.uuid4().hex,
                "JWT_SECRET_KEY": uuid.uuid4().hex + uuid.uuid4().hex,
                "JWT_ACCESS_TOKEN_EXPIRES": timedelta(hours=1),
                "PROCESSING_MODE": "inline",
                # The endpoint's throughput is measured, not the per-user question limit.
                "CHAT_RATE_LIMIT": "1000000 per minute",
                "MEDIA_ROOT": media,
                "RAGKIT_SETTINGS": settings,
            }
        )
        app.extensions["ragkit"] = kit
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.port}", kit
        finally:
            server.shutdown()
            thread.join()
            with app.app_context():
                db.engine.dispose()
            kit.close()


def register_with_documents(base: str) -> dict[str, str]:
    """A new organization holding the example documents; the owner's auth header."""
    response = requests.post(
        f"{base}/api/v1/auth/register",
        json={
            "email": f"bench-{uuid.uuid4().hex[:8]}@example.com",
            "password": PASSWORD,
            "organization": "Benchmark Support",
        },
        timeout=30,
    )
    response.raise_for_status()
    login = requests.post(
        f"{base}/api/v1/auth/login",
        json={"email": response.json()["email"], "password": PASSWORD},
        timeout=30,
    )
    login.raise_for_status()
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    for path in sorted(EXAMPLES.iterdir()):
        with path.open("rb") as handle:
            uploaded = requests.post(
                f"{base}/api/v1/documents/",
                files={"file": (path.name, handle)},
                headers=headers,
                timeout=300,
            )
        uploaded.raise_for_status()
        if uploaded.json()["status"] != "ready":
            raise SystemExit(f"{path.name} was not processed: {uploaded.json()}")
    return headers


@dataclass
class ClientLog:
    seconds: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def client(
    base: str, headers: dict[str, str], number: int, count: int, deadline: float
) -> ClientLog:
    """One user: a conversation of up to ``count`` questions, asked one after another."""
    log = ClientLog()
    with requests.Session() as session:
        session.headers.update(headers)
        created = session.post(f"{base}/api/v1/chat/conversations/", json={}, timeout=30)
        created.raise_for_status()
        url = f"{base}/api/v1/chat/conversations/{created.json()['id']}/messages/"
        for turn in range(count):
            if time.perf_counter() > deadline:
                break
            question = QUESTIONS[(number + turn) % len(QUESTIONS)]
            started = time.perf_counter()
            response = session.post(url, json={"content": question}, timeout=120)
            log.seconds.append(time.perf_counter() - started)
            if response.status_code != 201:
                log.errors.append(f"{response.status_code} {response.text[:200]}")
    return log


def load_test(
    base: str, headers: dict[str, str], clients: int, count: int, limit: float
) -> dict[str, Any]:
    """``clients`` users at once, each asking up to ``count`` questions within ``limit`` s."""
    logs = [ClientLog() for _ in range(clients)]
    deadline = time.perf_counter() + limit

    def work(number: int) -> None:
        logs[number] = client(base, headers, number, count, deadline)

    threads = [threading.Thread(target=work, args=(number,)) for number in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    seconds = [value for log in logs for value in log.seconds]
    errors = [error for log in logs for error in log.errors]
    return {
        "clients": clients,
        "requests": len(seconds),
        "errors": len(errors),
        "first_errors": errors[:3],
        "wall_seconds": round(elapsed, 2),
        "requests_per_s": round(len(seconds) / elapsed, 2),
        **latency_summary(seconds),
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    arguments = parse_arguments(argv)
    run = Run("chat", arguments)
    rounds = []
    with (
        temporary_database(arguments.home, arguments.server_url) as url,
        served_app(arguments, url) as (base, kit),
    ):
        run.record_server(kit.database.engine)
        headers = register_with_documents(base)
        load_test(base, headers, 1, 2, 60.0)  # warm-up: first queries load caches
        for clients in arguments.clients:
            rounds.append(load_test(base, headers, clients, arguments.requests, arguments.seconds))
            print(f"{clients} clients: {rounds[-1]}", flush=True)
    print_table(
        ["clients", "requests", "errors", "req/s", "p50 ms", "p95 ms", "p99 ms"],
        [
            [
                row["clients"],
                row["requests"],
                row["errors"],
                row["requests_per_s"],
                row["p50_ms"],
                row["p95_ms"],
                row["p99_ms"],
            ]
            for row in rounds
        ],
    )
    results = {
        "endpoint": "POST /api/v1/chat/conversations/<id>/messages/",
        "documents": sorted(path.name for path in EXAMPLES.iterdir()),
        "answerer": "extractive (no LLM configured)",
        "backend": arguments.backend,
        "query_backend": arguments.query_backend or arguments.backend,
        "rounds": rounds,
    }
    run.finish(results, arguments.output)
    return results


if __name__ == "__main__":
    main()
