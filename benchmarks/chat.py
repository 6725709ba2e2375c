"""The chat message endpoint under concurrent clients: latency p50/p95 and requests per second.

The web app (``webapp:create_app()``, documents processed inline) runs on a fresh database, as
it is deployed: gunicorn's threaded workers in processes of their own (``--workers`` x
``--threads``, the image's 2 x 4 by default). ``--server in-process`` serves it instead with
werkzeug's threaded server inside this process, where the client threads share its GIL. One
organization is registered and the example documents uploaded; every worker is warmed up with
each question. Then, for each ``--clients`` N, N threads each open a conversation and post
questions to ``POST /api/v1/chat/conversations/<id>/messages/`` one after another, until each has
sent ``--requests`` or ``--seconds`` have passed. Loopback only.

    python -m benchmarks.chat [--clients 1 2 4] [--requests 25] [--server in-process]
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa

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

# Whether each round's questions are sent as unique texts (see Wording).
QUESTION_MODES = {"repeated": [False], "unique": [True], "both": [False, True]}


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
        help="Redis for the revoked-token list and the rate limits (read on each request)",
    )
    parser.add_argument(
        "--questions",
        choices=list(QUESTION_MODES),
        default="both",
        help="repeated: the 10 questions as they are; unique: never the same text twice (each "
        "spaced differently, same words), so no question's vector is kept from before",
    )
    parser.add_argument("--server", choices=["gunicorn", "in-process"], default="gunicorn")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    add_common_arguments(parser, "chat")
    return parser.parse_args(argv)


def app_config(arguments: argparse.Namespace, database_url: str, media: str) -> dict[str, str]:
    """The web app's configuration, as environment variables."""
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": arguments.redis_url,
        "RAGKIT_ENV": "test",
        "SECRET_KEY": uuid.uuid4().hex,
        "JWT_SECRET_KEY": uuid.uuid4().hex + uuid.uuid4().hex,
        "PROCESSING_MODE": "inline",
        # The endpoint's throughput is measured, not the per-user question limit.
        "CHAT_RATE_LIMIT": "1000000 per minute",
        "UPLOAD_RATE_LIMIT": "1000000 per minute",
        "MEDIA_ROOT": media,
        "RAGKIT_HOME": str(arguments.home),
        "RAGKIT_EMBED_BACKEND": arguments.backend,
        "RAGKIT_QUERY_BACKEND": arguments.query_backend,
    }


@dataclass(frozen=True)
class Served:
    """The web app being measured: its base URL and the processes that serve it."""

    base: str
    pid: int  # gunicorn's master (its workers are its children), or this process

    def web_processes(self) -> list[int]:
        return children(self.pid) or [self.pid]


@contextmanager
def served_app(arguments: argparse.Namespace, database_url: str) -> Iterator[tuple[Served, RagKit]]:
    """The web app on a free loopback port (gunicorn or in this process), and a ``RagKit`` on
    its database."""
    settings = Settings(
        database_url=database_url,
        home=arguments.home,
        embed_backend=arguments.backend,
        query_backend=arguments.query_backend,
    )
    kit = RagKit(settings)  # migrates the fresh database
    serve = gunicorn if arguments.server == "gunicorn" else in_process
    try:
        with (
            tempfile.TemporaryDirectory(prefix="ragkit-bench-media-") as media,
            serve(arguments, app_config(arguments, database_url, media), kit) as served,
        ):
            yield served, kit
    finally:
        kit.close()


def gunicorn_command(arguments: argparse.Namespace, port: int) -> list[str]:
    """The image's command (Dockerfile), on loopback, with ``--workers`` and ``--threads``."""
    return [
        *(sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}"),
        *("--workers", str(arguments.workers), "--threads", str(arguments.threads)),
        # Uploads are processed in the request here: the first one loads the passage model.
        *("--timeout", "600", "--keep-alive", "5", "--no-control-socket"),
        "webapp:create_app()",
    ]


@contextmanager
def gunicorn(
    arguments: argparse.Namespace, config: dict[str, str], kit: RagKit
) -> Iterator[Served]:
    port = free_port()
    root = Path(__file__).resolve().parent.parent
    environment = {**os.environ, **config, "PYTHONPATH": str(root)}
    with tempfile.TemporaryFile() as output:
        server = subprocess.Popen(
            gunicorn_command(arguments, port),
            cwd=root,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_ready(base, server, output)
            yield Served(base, server.pid)
        finally:
            server.terminate()
            server.wait(timeout=60)


def wait_ready(base: str, server: subprocess.Popen[bytes], output: Any) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if server.poll() is not None:
            output.seek(0)
            raise SystemExit(f"gunicorn exited:\n{output.read().decode(errors='replace')}")
        try:
            if requests.get(f"{base}/readyz", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit("gunicorn did not answer /readyz within 300 s")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def in_process(
    arguments: argparse.Namespace, config: dict[str, str], kit: RagKit
) -> Iterator[Served]:
    """werkzeug's threaded server in this process, sharing ``kit`` (and the GIL) with the
    clients."""
    from werkzeug.serving import make_server

    from webapp import create_app
    from webapp.extensions import db

    app = create_app(
        {
            **config,
            "JWT_ACCESS_TOKEN_EXPIRES": timedelta(hours=1),
            "RAGKIT_SETTINGS": kit.settings,
        }
    )
    app.extensions["ragkit"] = kit
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Served(f"http://127.0.0.1:{server.port}", os.getpid())
    finally:
        server.shutdown()
        thread.join()
        with app.app_context():
            db.engine.dispose()


def sign_in(base: str, email: str) -> dict[str, str]:
    """The auth header of a fresh access token (they expire after 15 minutes)."""
    login = requests.post(
        f"{base}/api/v1/auth/login", json={"email": email, "password": PASSWORD}, timeout=30
    )
    login.raise_for_status()
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


def register_with_documents(base: str) -> str:
    """A new organization holding the example documents; the owner's email."""
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
    email: str = response.json()["email"]
    headers = sign_in(base, email)
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
    return email


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def cpu_seconds(pids: Sequence[int]) -> dict[int, float]:
    """User and system CPU time each process has used so far (gone processes left out)."""
    tick = os.sysconf("SC_CLK_TCK")
    used = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used[pid] = (int(fields[11]) + int(fields[12])) / tick
    return used


@dataclass
class CpuMeter:
    """CPU time used during a round by the web app's processes, the database's backends and
    this process (the clients, and the app too when it runs in process)."""

    served: Served
    kit: RagKit
    before: dict[str, dict[int, float]] = field(default_factory=dict)

    def processes(self) -> dict[str, list[int]]:
        with self.kit.database.engine.connect() as connection:
            backends = connection.scalars(
                sa.text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
            ).all()
        parts = {"database": list(backends), "benchmark": [os.getpid()]}
        web = [pid for pid in self.served.web_processes() if pid != os.getpid()]
        return {"web": web, **parts} if web else parts  # in process: the app is "benchmark"

    def start(self) -> None:
        self.before = {part: cpu_seconds(pids) for part, pids in self.processes().items()}

    def per_request_ms(self, requests: int) -> dict[str, float]:
        """Milliseconds of CPU per request, by part, since :meth:`start`."""
        spent = {}
        for part, pids in self.processes().items():
            now = cpu_seconds(pids)
            before = self.before.get(part, {})
            spent[part] = sum(seconds - before.get(pid, 0.0) for pid, seconds in now.items())
        return {
            part: round(1000 * seconds / max(requests, 1), 1) for part, seconds in spent.items()
        }


@dataclass
class ClientLog:
    seconds: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def spaced(question: str, variant: int) -> str:
    """``question`` with its word gaps widened by the base-4 digits of ``variant``: a distinct
    text for each variant, the same words for the tokenizer and the text search."""
    words = question.split(" ")
    gaps = []
    for _ in words[1:]:
        variant, digit = divmod(variant, 4)
        gaps.append(" " * (1 + digit))
    if variant:
        raise SystemExit(f"{question!r} was asked more often than it can be spaced differently")
    return words[0] + "".join(gap + word for gap, word in zip(gaps, words[1:]))


class Wording:
    """The text each question is sent as: itself, or (``unique``) spaced differently each time
    it is asked, so that no text repeats and nothing kept for a text asked before (question
    vectors, the previous exchange's vector) is reused, while the answer is the same."""

    def __init__(self, unique: bool) -> None:
        self.unique = unique
        self._asked: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __call__(self, question: str) -> str:
        if not self.unique:
            return question
        with self._lock:
            self._asked[question] += 1
            return spaced(question, self._asked[question])


def client(
    base: str,
    headers: dict[str, str],
    number: int,
    count: int,
    deadline: float,
    wording: Wording,
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
            question = wording(QUESTIONS[(number + turn) % len(QUESTIONS)])
            started = time.perf_counter()
            response = session.post(url, json={"content": question}, timeout=120)
            log.seconds.append(time.perf_counter() - started)
            if response.status_code != 201:
                log.errors.append(f"{response.status_code} {response.text[:200]}")
    return log


def load_test(
    base: str,
    headers: dict[str, str],
    clients: int,
    count: int,
    limit: float,
    meter: CpuMeter | None = None,
    wording: Wording | None = None,
) -> dict[str, Any]:
    """``clients`` users at once, each asking up to ``count`` questions within ``limit`` s."""
    logs = [ClientLog() for _ in range(clients)]
    deadline = time.perf_counter() + limit
    wording = wording or Wording(unique=False)

    def work(number: int) -> None:
        logs[number] = client(base, headers, number, count, deadline, wording)

    threads = [threading.Thread(target=work, args=(number,)) for number in range(clients)]
    if meter:
        meter.start()
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    seconds = [value for log in logs for value in log.seconds]
    errors = [error for log in logs for error in log.errors]
    cpu = meter.per_request_ms(len(seconds)) if meter else {}
    return {
        "questions": "unique" if wording.unique else "repeated",
        "clients": clients,
        "requests": len(seconds),
        "errors": len(errors),
        "first_errors": errors[:3],
        "wall_seconds": round(elapsed, 2),
        "requests_per_s": round(len(seconds) / elapsed, 2),
        **latency_summary(seconds),
        "cpu_ms_per_request": cpu,
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    arguments = parse_arguments(argv)
    run = Run("chat", arguments)
    rounds = []
    with (
        temporary_database(arguments.home, arguments.server_url) as url,
        served_app(arguments, url) as (served, kit),
    ):
        base = served.base
        meter = CpuMeter(served, kit)
        run.record_server(kit.database.engine)
        headers = sign_in(base, register_with_documents(base))
        # Warm-up: every worker thread loads its caches with every question before timing.
        warm = max(arguments.clients) * (arguments.workers if arguments.server == "gunicorn" else 1)
        load_test(base, headers, warm, len(QUESTIONS), 300.0)
        for unique in QUESTION_MODES[arguments.questions]:
            for clients in arguments.clients:
                limits = (arguments.requests, arguments.seconds)
                round_ = load_test(base, headers, clients, *limits, meter, Wording(unique))
                rounds.append(round_)
                print(f"{round_['questions']} questions, {clients} clients: {round_}", flush=True)
    print_table(
        [
            "questions",
            "clients",
            "requests",
            "errors",
            "req/s",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "CPU ms/request",
        ],
        [
            [
                row["questions"],
                row["clients"],
                row["requests"],
                row["errors"],
                row["requests_per_s"],
                row["p50_ms"],
                row["p95_ms"],
                row["p99_ms"],
                " ".join(f"{part} {ms}" for part, ms in row["cpu_ms_per_request"].items()),
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
        "server": server_description(arguments),
        "rounds": rounds,
    }
    run.finish(results, arguments.output)
    return results


def server_description(arguments: argparse.Namespace) -> dict[str, Any]:
    """What served the requests, and what shared the machine with it."""
    if arguments.server == "in-process":
        return {
            "kind": "in-process",
            "detail": "werkzeug threaded server in the benchmark's process: the client threads "
            "share its GIL",
        }
    return {
        "kind": "gunicorn",
        "worker_class": "gthread",
        "workers": arguments.workers,
        "threads": arguments.threads,
        "command": " ".join(gunicorn_command(arguments, 0)[1:]),
        "detail": "gunicorn processes of their own; the client threads run in the benchmark's "
        "process on the same cores",
    }


if __name__ == "__main__":
    main()
