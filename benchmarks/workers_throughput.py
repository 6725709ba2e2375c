"""Documents per minute processed by one and by two ``python -m workers`` processes.

Creates a scratch database on the embedded PostgreSQL and uses a scratch Redis database, records
20 uploaded-style documents as ``pending`` (as an upload does), starts the workers, waits until
they are ready, then queues the 20 jobs and times until every document is ``ready``. Worker
start-up (loading the model) is reported apart. Prints the figures and writes them as JSON to
``benchmarks/results/workers_throughput.json``.

    python benchmarks/workers_throughput.py [--documents 20] [--workers 1 2] [--simple]

``--simple`` runs ``python -m workers --simple`` (jobs in the worker process, no fork per job)
and writes ``workers_throughput_simple.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from redis import Redis
from rq import Worker

from ragkit import Document, DocumentStatus, RagKit, Settings
from ragkit.database import Database, start_embedded
from workers.queue import enqueue_processing

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "docs"
RESULTS = ROOT / "benchmarks" / "results" / "workers_throughput.json"
REDIS_URL = os.environ.get("BENCHMARK_REDIS_URL", "redis://127.0.0.1:6379/14")


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def write_documents(folder: Path, count: int) -> list[Path]:
    """``count`` distinct Markdown documents of about 10 KB, built from the example docs."""
    faq = (EXAMPLES / "faq.md").read_text()
    notes = (EXAMPLES / "release-notes.txt").read_text()
    paths = []
    for n in range(count):
        path = folder / f"guide-{n:02}.md"
        header = f"# Support guide {n}\n\nEdition {n} for region {n % 5}."
        path.write_text(f"{header}\n\n{faq}\n\n{notes}")
        paths.append(path)
    return paths


def record_pending(kit: RagKit, organization: str, paths: list[Path]) -> list[Document]:
    documents = []
    for path in paths:
        data = path.read_bytes()
        documents.append(
            Document(
                id=uuid.uuid4(),
                organization_id=organization,
                title=path.stem,
                source=path.name,
                file_path=str(path),
                content_type="text/markdown",
                file_size=len(data),
                content_hash=hashlib.sha256(data).hexdigest(),
                status=DocumentStatus.PENDING.value,
            )
        )
    with kit.database.sessions() as session:
        session.add_all(documents)
        session.commit()
    return documents


def count_with(kit: RagKit, organization: str, *statuses: DocumentStatus) -> int:
    with kit.database.sessions() as session:
        return session.execute(
            sa.select(sa.func.count()).where(
                Document.organization_id == organization,
                Document.status.in_([status.value for status in statuses]),
            )
        ).scalar_one()


def start_workers(
    count: int, env: dict[str, str], connection: Redis, options: list[str]
) -> list[subprocess.Popen]:
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "workers", *options],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(count)
    ]
    pids = {process.pid for process in processes}
    while {worker.pid for worker in Worker.all(connection=connection)} < pids:
        time.sleep(0.2)
    return processes


def stop_workers(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        process.wait(timeout=60)


def measure(
    kit: RagKit, connection: Redis, env: dict[str, str], workers: int, count: int, simple: bool
) -> dict:
    connection.flushdb()
    organization = f"bench-{uuid.uuid4().hex[:8]}"
    folder = Path(tempfile.mkdtemp(prefix="ragkit-bench-"))
    documents = record_pending(kit, organization, write_documents(folder, count))
    started = time.perf_counter()
    processes = start_workers(workers, env, connection, ["--simple"] if simple else [])
    startup = time.perf_counter() - started
    began = time.perf_counter()
    for document in documents:
        enqueue_processing(connection, document.id, document.content_hash)
    finished = (DocumentStatus.READY, DocumentStatus.FAILED)
    while count_with(kit, organization, *finished) < count:
        time.sleep(0.2)
    elapsed = time.perf_counter() - began
    stop_workers(processes)
    return {
        "workers": workers,
        "mode": "simple" if simple else "fork",
        "documents": count,
        "seconds": round(elapsed, 2),
        "documents_per_minute": round(count / elapsed * 60, 1),
        "worker_startup_seconds": round(startup, 2),
        "chunks": kit.status(organization).chunks,
        "failed": count_with(kit, organization, DocumentStatus.FAILED),
    }


def scratch_database(home: Path) -> tuple[sa.URL, str]:
    server = start_embedded(home)
    name = f"ragkit_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return server, name


def drop_database(server: sa.URL, name: str) -> None:
    admin = sa.create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=20)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--simple", action="store_true", help="workers run jobs in-process")
    arguments = parser.parse_args()
    home = Path(os.environ.get("RAGKIT_BENCH_HOME", "/tmp/ragkit-bench"))
    server, name = scratch_database(home)
    url = server.set(database=name).render_as_string(hide_password=False)
    settings = Settings(database_url=url, home=home)
    kit = RagKit(settings, Database.from_settings(settings))  # migrates the scratch database
    connection = Redis.from_url(REDIS_URL)
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": REDIS_URL, "RAGKIT_HOME": str(home)}
    try:
        runs = [
            measure(kit, connection, env, n, arguments.documents, arguments.simple)
            for n in arguments.workers
        ]
    finally:
        connection.flushdb()
        kit.database.close()
        drop_database(server, name)
    report(runs, RESULTS.with_stem(RESULTS.stem + "_simple") if arguments.simple else RESULTS)


def report(runs: list[dict[str, Any]], results: Path) -> None:
    machine = {"cores": os.cpu_count(), "cpu": cpu_model(), "python": platform.python_version()}
    print(f"machine: {machine['cores']} cores, {machine['cpu']}")
    for run in runs:
        print(
            f"{run['workers']} {run['mode']} worker(s): "
            f"{run['documents']} documents in {run['seconds']} s = "
            f"{run['documents_per_minute']} documents/minute "
            f"(start-up {run['worker_startup_seconds']} s, {run['chunks']} chunks)"
        )
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps({"machine": machine, "runs": runs}, indent=2) + "\n")
    print(f"written to {results.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
