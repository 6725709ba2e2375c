"""Stateless processes: two web apps under gunicorn and three RQ workers share only PostgreSQL
and Redis.

Each process has its own empty data directory (``RAGKIT_HOME``, ``MEDIA_ROOT``, ``TMPDIR``,
working directory), as it would on a machine of its own; they meet in one fresh database of the
test server and one Redis database. Thirty uploads are spread over both web processes at once;
a worker is killed with SIGKILL in the middle of a job and another started. Every document must
end ``ready`` once, with the chunk counts a single process gets from the same files, chats
through either web process must cite the same chunks, and no process may leave a file behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from redis import Redis
from rq import Worker

from ragkit import Chunk, Document, RagKit
from ragkit.migrate import upgrade
from tests.outage_servers import free_port

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = 30
START_SECONDS = 90
FINISH_SECONDS = 150
PASSWORD = "correct horse battery staple"
QUESTIONS = {7: "What does error E-1007 mean?", 21: "How long do I hold reset on the R21 router?"}


def wait_until(
    condition: Callable[[], object], seconds: float, what: str | Callable[[], str]
) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            shown = what if isinstance(what, str) else what()
            raise AssertionError(f"timed out after {seconds} s waiting for {shown}")
        time.sleep(0.1)


class Process:
    """A child in a session of its own (so SIGKILL reaches its helpers), in its own folders."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], base: Path) -> None:
        self.name = name
        self.folder = base / name
        self.data = {part: self.folder / part for part in ("home", "media", "tmp", "cwd")}
        for path in self.data.values():
            path.mkdir(parents=True)
        self.log = self.folder / "output.log"
        self.url = ""  # a web process's address
        own = {
            "RAGKIT_HOME": str(self.data["home"]),
            "MEDIA_ROOT": str(self.data["media"]),
            "TMPDIR": str(self.data["tmp"]),
            "HOME": str(self.data["home"]),
        }
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(
                command,
                cwd=self.data["cwd"],
                env={**env, **own},
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def alive(self) -> bool:
        assert self.process.poll() is None, f"{self.name} exited:\n{self.output()}"
        return True

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def files_left(self) -> list[str]:
        """Files the process wrote in its data folders (its log lives beside them).

        Empty folders do not count: torch and LlamaIndex make cache folders when imported.
        """
        return [
            str(path)
            for folder in self.data.values()
            for path in folder.rglob("*")
            if not path.is_dir()
        ]

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def terminate(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)

    def stop(self) -> None:
        self.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()


@pytest.fixture(scope="module")
def shared_database(database_url: str) -> Iterator[str]:
    """A fresh, migrated database of the test server: the one thing besides Redis shared."""
    server = sa.make_url(database_url)
    name = f"many_processes_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = server.set(database=name)
    engine = sa.create_engine(url)
    upgrade(engine)
    engine.dispose()
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="module")
def shared_redis() -> Iterator[str]:
    url = os.environ.get("WORKERS_TEST_PROCESS_REDIS_URL", "redis://127.0.0.1:6379/13")
    connection = Redis.from_url(url)
    connection.flushdb()
    yield url
    connection.flushdb()
    connection.close()


@pytest.fixture(scope="module")
def cluster(
    shared_database: str, shared_redis: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    started = Cluster(shared_database, shared_redis, tmp_path_factory.mktemp("processes"))
    try:
        started.start()
        yield started
    finally:
        started.stop()


class Cluster:
    """The processes of the test, started and stopped together."""

    def __init__(self, database_url: str, redis_url: str, base: Path) -> None:
        self.base = base
        self.redis = Redis.from_url(redis_url)
        self.env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "RAGKIT_ENV": "test",
            "SECRET_KEY": "many-processes-secret-" + "k" * 20,
            "JWT_SECRET_KEY": "many-processes-jwt-secret-" + "j" * 20,
            "PROCESSING_MODE": "queue",
            "RAGKIT_QUEUE_PREFIX": "",
        }
        self.processes: list[Process] = []
        self.webs: list[Process] = []
        self.workers: list[Process] = []

    def start(self) -> None:
        """Two web processes and three workers, each answering."""
        self.webs = [self.web(index) for index in range(2)]
        for index in range(3):
            self.worker(index)
        for web in self.webs:
            wait_until(lambda web=web: web.alive() and self.answers(web), START_SECONDS, web.name)
        for worker in self.workers:
            wait_until(lambda w=worker: w.alive() and self.pid_of(w), START_SECONDS, worker.name)

    def web(self, index: int) -> Process:
        port = free_port()
        command = [
            *(sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}"),
            *("--workers", "1", "--threads", "4", "--timeout", "120", "--no-control-socket"),
            "webapp:create_app()",
        ]
        process = Process(f"web-{index}", command, self.env, self.base)
        process.url = f"http://127.0.0.1:{port}"
        self.processes.append(process)
        return process

    def worker(self, index: int) -> Process:
        process = Process(f"worker-{index}", [sys.executable, "-m", "workers"], self.env, self.base)
        self.processes.append(process)
        self.workers.append(process)
        return process

    @staticmethod
    def answers(web: Process) -> bool:
        try:
            return requests.get(f"{web.url}/readyz", timeout=5).status_code == 200
        except requests.RequestException:  # not listening yet, or still loading the app
            return False

    def pid_of(self, process: Process) -> Worker | None:
        """The RQ worker of ``process``, once it has registered."""
        return next(
            (w for w in Worker.all(connection=self.redis) if w.pid == process.process.pid), None
        )

    def busy_worker(self) -> Process | None:
        for process in self.workers:
            registered = self.pid_of(process)
            if registered is not None and registered.get_state() == "busy":
                return process
        return None

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.stop()
        self.redis.close()


def handbook(number: int) -> str:
    """A help article about router R<number>, a few chunks long, unlike any other."""
    sections = [
        f"# Router R{number}\n\nThe R{number} is a dual-band router for offices of up to "
        f"{number * 3 + 10} people. It ships with firmware {number}.{number % 7}.",
        f"## Error E-{1000 + number}\n\nError E-{1000 + number} on the R{number} means the "
        f"uplink on port {number % 4 + 1} lost its carrier. Check the cable, then power-cycle "
        f"the modem before the router.",
        f"## Resetting\n\nTo reset the R{number}, hold the recessed button for {number + 5} "
        f"seconds until the light turns {['amber', 'blue', 'white'][number % 3]}.",
    ]
    return "\n\n".join(sections) + "\n"


@pytest.fixture(scope="module")
def articles(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("articles")
    paths = [folder / f"router-r{number}.md" for number in range(DOCUMENTS)]
    for number, path in enumerate(paths):
        path.write_text(handbook(number))
    return paths


def sign_up(web: str) -> dict[str, str]:
    email = f"owner-{uuid.uuid4().hex[:8]}@example.com"
    registered = requests.post(
        f"{web}/api/v1/auth/register",
        json={"email": email, "password": PASSWORD, "organization": "Many processes"},
        timeout=30,
    )
    assert registered.status_code == 202, registered.text
    tokens = requests.post(
        f"{web}/api/v1/auth/login", json={"email": email, "password": PASSWORD}, timeout=30
    )
    assert tokens.status_code == 200, tokens.text
    return {"Authorization": f"Bearer {tokens.json()['access_token']}"}


def ask(web: str, headers: dict[str, str], question: str) -> list[dict[str, Any]]:
    conversation = requests.post(
        f"{web}/api/v1/chat/conversations/", json={}, headers=headers, timeout=60
    )
    assert conversation.status_code == 201, conversation.text
    answer = requests.post(
        f"{web}/api/v1/chat/conversations/{conversation.json()['id']}/messages/",
        json={"content": question},
        headers=headers,
        timeout=120,
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["assistant_message"]["citations"]


def stored(database_url: str) -> dict[str, dict[str, Any]]:
    """Per file name: its documents' ids, statuses, chunk counts and stored chunk rows."""
    engine = sa.create_engine(database_url)
    found: dict[str, dict[str, Any]] = {}
    with engine.connect() as connection:
        documents = connection.execute(sa.select(Document.id, Document.source, Document.status))
        for document_id, source, status in documents:
            found.setdefault(source, {"ids": [], "status": [], "chunks": []})
            chunks = connection.execute(
                sa.select(sa.func.count(), sa.func.count(sa.distinct(Chunk.chunk_index))).where(
                    Chunk.document_id == document_id
                )
            ).one()
            found[source]["ids"].append(str(document_id))
            found[source]["status"].append(status)
            found[source]["chunks"].append(tuple(chunks))
    engine.dispose()
    return found


def test_web_and_workers_on_separate_data_directories_work_as_one(
    cluster: Cluster, articles: list[Path], shared_database: str, kit: RagKit
) -> None:
    first, second = (web.url for web in cluster.webs)
    headers = sign_up(first)

    def send(index: int) -> requests.Response:
        path = articles[index]
        with path.open("rb") as handle:
            return requests.post(
                f"{(first, second)[index % 2]}/api/v1/documents/",
                files={"file": (path.name, handle)},
                headers=headers,
                timeout=60,
            )

    with ThreadPoolExecutor(max_workers=8) as pool:
        uploads = list(pool.map(send, range(DOCUMENTS)))
    assert [response.status_code for response in uploads] == [201] * DOCUMENTS

    def statuses() -> Counter[str]:
        found = stored(shared_database).values()
        return Counter(status for document in found for status in document["status"])

    wait_until(cluster.busy_worker, FINISH_SECONDS, "a worker to be busy")
    victim = cluster.busy_worker()
    assert victim is not None
    victim.kill()
    replacement = cluster.worker(3)
    wait_until(
        lambda: replacement.alive() and statuses()["ready"] == DOCUMENTS,
        FINISH_SECONDS,
        lambda: f"every document to be ready: {dict(statuses())}",
    )

    documents = stored(shared_database)
    reference = {
        path.name: kit.ingest_file(path, organization=f"reference-{uuid.uuid4().hex[:8]}")
        for path in articles
    }
    assert set(documents) == set(reference)
    for name, found in documents.items():
        expected = reference[name].chunks_added
        assert found["status"] == ["ready"], (name, found)
        assert found["chunks"] == [(expected, expected)], (name, found, expected)

    for number, question in QUESTIONS.items():
        cited = [ask(web, headers, question) for web in (first, second)]
        assert cited[0] and [c["chunk_id"] for c in cited[0]] == [c["chunk_id"] for c in cited[1]]
        assert documents[f"router-r{number}.md"]["ids"][0] in {c["document_id"] for c in cited[0]}

    cluster.stop()
    for process in cluster.processes:
        left = process.files_left()
        if process is victim:  # killed in the middle of a job: its copy of the file may remain
            left = [path for path in left if "ragkit-file-" not in path]
        assert left == [], (process.name, process.output())
