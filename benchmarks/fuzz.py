"""A long fuzzing run and a sign-in brute force against the web app, with their figures.

1. schemathesis: ``tests/webapp/test_schemathesis.py`` with ``--examples`` examples per
   operation (the test suite runs 6): cases sent, statuses, server errors, failing operations.
2. Brute force: the app with its default abuse limits, served by werkzeug on 127.0.0.1, on a
   fresh database. ``--attempts`` wrong passwords for one account from one address, then the
   right one; then, counters emptied, ``--attempts`` wrong sign-ins to as many accounts
   (credential stuffing) from one address. Counts of 401 and 429 for each.

    python -m benchmarks.fuzz [--examples 30] [--attempts 60]

The test environment (``RAGKIT_TEST_HOME``, ``WEBAPP_TEST_REDIS_URL``...) is the test suite's.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import requests

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import Run, add_common_arguments, temporary_database
from ragkit import Settings

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "the right password, long enough"


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=30, help="per operation")
    parser.add_argument("--attempts", type=int, default=60, help="wrong sign-ins per phase")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    add_common_arguments(parser, "fuzz")
    return parser.parse_args(argv)


def fuzz(examples: int) -> dict[str, Any]:
    """Run the schemathesis test module with more examples; its counts and its outcome."""
    with tempfile.TemporaryDirectory(prefix="ragkit-fuzz-") as folder:
        report = Path(folder, "fuzz.json")
        environment = {
            **os.environ,
            "RAGKIT_FUZZ_EXAMPLES": str(examples),
            "RAGKIT_FUZZ_REPORT": str(report),
        }
        started = time.perf_counter()
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        outcome = subprocess.run(
            [*command, "tests/webapp/test_schemathesis.py"],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
        )
        figures = json.loads(report.read_text()) if report.exists() else {}
    summary = outcome.stdout.strip().splitlines()[-1:] or [""]
    return {
        **figures,
        "pytest": summary[0],
        "passed": outcome.returncode == 0,
        "seconds": round(time.perf_counter() - started, 1),
    }


@contextmanager
def served_app(arguments: argparse.Namespace, database_url: str) -> Iterator[str]:
    """The app with its default limits on a free loopback port; its base URL."""
    import redis
    from werkzeug.serving import make_server

    from ragkit import RagKit
    from webapp import create_app
    from webapp.extensions import db
    from webapp.security import BannerlessRequestHandler

    settings = Settings(database_url=database_url, home=arguments.home)
    redis.Redis.from_url(arguments.redis_url).flushdb()
    kit = RagKit(settings)  # migrates the fresh database
    app = create_app(
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": arguments.redis_url,
            "SECRET_KEY": uuid.uuid4().hex,
            "JWT_SECRET_KEY": uuid.uuid4().hex + uuid.uuid4().hex,
            "JWT_ACCESS_TOKEN_EXPIRES": timedelta(hours=1),
            "MEDIA_ROOT": tempfile.mkdtemp(prefix="ragkit-fuzz-media-"),
            "RAGKIT_SETTINGS": settings,
        }
    )
    app.extensions["ragkit"] = kit
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server(
        "127.0.0.1", 0, app, threaded=True, request_handler=BannerlessRequestHandler
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.shutdown()
        thread.join()
        with app.app_context():
            db.engine.dispose()
        kit.close()
        redis.Redis.from_url(arguments.redis_url).flushdb()


def sign_in(base: str, email: str, password: str) -> int:
    response = requests.post(
        f"{base}/api/v1/auth/login", json={"email": email, "password": password}, timeout=30
    )
    return response.status_code


def brute_force(base: str, attempts: int, redis_url: str) -> dict[str, Any]:
    """Wrong passwords on one account, then stuffing across accounts; statuses counted."""
    import redis

    email = f"target-{uuid.uuid4().hex[:8]}@example.com"
    registered = requests.post(
        f"{base}/api/v1/auth/register",
        json={"email": email, "password": PASSWORD, "organization": "Target"},
        timeout=30,
    )
    registered.raise_for_status()
    started = time.perf_counter()
    one_account = Counter(sign_in(base, email, f"guess {n}") for n in range(attempts))
    seconds = time.perf_counter() - started
    right_password = sign_in(base, email, PASSWORD)
    # Every request comes from 127.0.0.1: empty the counters so the second phase starts as a
    # fresh address would.
    redis.Redis.from_url(redis_url).flushdb()
    stuffing = Counter(sign_in(base, f"user{n}@example.com", "guess") for n in range(attempts))
    return {
        "one_account": {
            "attempts": attempts,
            "statuses": {str(code): count for code, count in sorted(one_account.items())},
            "seconds": round(seconds, 1),
            "right_password_after": right_password,
        },
        "many_accounts_one_address": {
            "attempts": attempts,
            "statuses": {str(code): count for code, count in sorted(stuffing.items())},
        },
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    arguments = parse_arguments(argv)
    run = Run("fuzz", arguments)
    results: dict[str, Any] = {"schemathesis": fuzz(arguments.examples)}
    print(json.dumps(results["schemathesis"], indent=2))
    database = temporary_database(arguments.home, arguments.server_url)
    with database as url, served_app(arguments, url) as base:
        results["brute_force"] = brute_force(base, arguments.attempts, arguments.redis_url)
    print(json.dumps(results["brute_force"], indent=2))
    return run.finish(results, arguments.output)


if __name__ == "__main__":
    main()
