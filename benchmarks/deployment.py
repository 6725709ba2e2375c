"""Figures for sizing a deployment (docs/deploy.md): process memory, storage per chunk, gunicorn.

``python -m benchmarks.deployment`` runs, on a temporary database of the embedded server and a
Redis of its own (``redis-server`` or ``valkey-server`` on a free port):

* **storage**: SciFact passages (``--passages``) ingested, then the bytes per chunk of the
  vector table with its HNSW index, and of everything a chunk adds (chunk row, BM25 postings);
* **memory**: resident and proportional set size of a worker with the model loaded, the peak of
  a work horse processing a document, and a gunicorn web process before and after its first
  chat (which loads the model);
* **files**: the peak memory of a gunicorn web process while a 50 MB file is uploaded and
  while it is downloaded (each peak measured from a reset high-water mark);
* **gunicorn**: chat questions and document lists at a given concurrency against gunicorn's
  sync workers and threaded workers, with requests per second and latency percentiles.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa
from redis import Redis

from benchmarks.common import (
    Run,
    add_common_arguments,
    latency_summary,
    scifact_corpus,
    temporary_database,
)
from ragkit import RagKit, Settings
from ragkit.index import active_index
from ragkit.ingest import TextItem
from ragkit.migrate import upgrade
from tests.outage_servers import RedisServer, free_port
from tests.test_many_processes import Process, handbook, sign_up, wait_until

MIB = 1024 * 1024
QUESTIONS = [
    "What does error E-1007 mean?",
    "How long do I hold reset on the R12 router?",
    "Which firmware does the R3 ship with?",
    "How many people is the R20 for?",
]


def process_memory(pid: int) -> dict[str, float]:
    """Resident, peak resident and proportional set size of a process, in MiB."""
    status = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    rollup = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
    pss = next(int(line.split()[1]) for line in rollup if line.startswith("Pss:"))
    return {
        "rss_mib": round(int(status["VmRSS"].split()[0]) / 1024, 1),
        "peak_rss_mib": round(int(status["VmHWM"].split()[0]) / 1024, 1),
        "pss_mib": round(pss / 1024, 1),
    }


def reset_peak(pid: int) -> None:
    """Start the process's peak resident size (VmHWM) again from its current size."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def children(pid: int) -> list[int]:
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


class Deployment:
    """Web processes and workers started on one database and one Redis, like the test's."""

    def __init__(self, database_url: str, redis_url: str, base: Path) -> None:
        self.base = base
        self.env = {
            **os.environ,
            "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "RAGKIT_ENV": "test",
            "SECRET_KEY": "deployment-benchmark-" + "s" * 24,
            "JWT_SECRET_KEY": "deployment-benchmark-jwt-" + "j" * 24,
            "PROCESSING_MODE": "queue",
            "MAX_UPLOAD_MB": "60",
            "UPLOAD_RATE_LIMIT": "10000 per minute",
            "CHAT_RATE_LIMIT": "100000 per minute",
        }
        self.processes: list[Process] = []
        self.redis = Redis.from_url(redis_url)

    def web(self, name: str, *options: str) -> Process:
        port = free_port()
        command = [
            *(sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}"),
            *("--no-control-socket", *options, "webapp:create_app()"),
        ]
        process = Process(name, command, self.env, self.base)
        process.url = f"http://127.0.0.1:{port}"
        self.processes.append(process)

        def answers() -> bool:
            try:
                return requests.get(f"{process.url}/readyz", timeout=5).status_code == 200
            except requests.RequestException:
                return process.alive() and False

        wait_until(answers, 180, f"{name} to answer")
        return process

    def worker(self, name: str) -> Process:
        from rq import Worker

        process = Process(name, [sys.executable, "-m", "workers"], self.env, self.base)
        self.processes.append(process)
        wait_until(
            lambda: (
                process.alive()
                and any(w.pid == process.process.pid for w in Worker.all(connection=self.redis))
            ),
            180,
            f"{name} to start",
        )
        return process

    def stop(self, process: Process) -> None:
        process.stop()
        self.processes.remove(process)

    def close(self) -> None:
        for process in list(self.processes):
            self.stop(process)
        self.redis.close()


@contextmanager
def deployment(database_url: str) -> Iterator[Deployment]:
    redis = RedisServer()
    redis.start()
    started = Deployment(database_url, redis.url, Path(tempfile.mkdtemp(prefix="rk-deploy-")))
    try:
        yield started
    finally:
        started.close()
        redis.stop()
        redis.remove()


def upload(web: str, headers: dict[str, str], name: str, data: bytes) -> dict[str, Any]:
    response = requests.post(
        f"{web}/api/v1/documents/", files={"file": (name, data)}, headers=headers, timeout=300
    )
    assert response.status_code == 201, response.text
    return response.json()


def wait_ready(web: str, headers: dict[str, str], document_ids: list[str]) -> None:
    def ready() -> bool:
        statuses = [
            requests.get(f"{web}/api/v1/documents/{id_}", headers=headers, timeout=30).json()[
                "status"
            ]
            for id_ in document_ids
        ]
        assert "failed" not in statuses, statuses
        return all(status == "ready" for status in statuses)

    wait_until(ready, 600, "the documents to be processed")


def ask(web: str, headers: dict[str, str], question: str) -> float:
    started = time.perf_counter()
    conversation = requests.post(
        f"{web}/api/v1/chat/conversations/", json={}, headers=headers, timeout=120
    ).json()["id"]
    answer = requests.post(
        f"{web}/api/v1/chat/conversations/{conversation}/messages/",
        json={"content": question},
        headers=headers,
        timeout=120,
    )
    assert answer.status_code == 201, answer.text
    return time.perf_counter() - started


def measure_memory(
    cluster: Deployment, headers: dict[str, str], web: Process, results: dict[str, Any]
) -> None:
    worker = cluster.worker("worker-memory")
    results["worker_idle_model_loaded"] = process_memory(worker.process.pid)
    horse_peak = 0.0
    documents = [
        upload(web.url, headers, f"router-{n}.md", handbook(n).encode()) for n in range(10)
    ]
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        for pid in children(worker.process.pid):
            with suppress(OSError, StopIteration, KeyError):
                horse_peak = max(horse_peak, process_memory(pid)["peak_rss_mib"])
        statuses = {
            requests.get(f"{web.url}/api/v1/documents/{d['id']}", headers=headers, timeout=30)
            .json()
            .get("status")
            for d in documents
        }
        if statuses == {"ready"}:
            break
        time.sleep(0.02)
    results["work_horse_peak_rss_mib"] = horse_peak
    results["worker_after_jobs"] = process_memory(worker.process.pid)
    gunicorn_worker = children(web.process.pid)[0]
    results["web_worker_before_chat"] = process_memory(gunicorn_worker)
    ask(web.url, headers, QUESTIONS[0])
    results["web_worker_after_chat"] = process_memory(gunicorn_worker)
    results["gunicorn_master"] = process_memory(web.process.pid)
    cluster.stop(worker)


def measure_files(web: Process, headers: dict[str, str], results: dict[str, Any]) -> None:
    gunicorn_worker = children(web.process.pid)[0]
    line = b"Support answer: restart the router, then check the uplink cable.\n"
    data = line * (50 * 1000 * 1000 // len(line))
    before = process_memory(gunicorn_worker)["rss_mib"]
    reset_peak(gunicorn_worker)
    started = time.perf_counter()
    document = upload(web.url, headers, "big.txt", data)
    upload_seconds = time.perf_counter() - started
    upload_peak = process_memory(gunicorn_worker)["peak_rss_mib"]
    reset_peak(gunicorn_worker)
    started = time.perf_counter()
    received = 0
    with requests.get(
        f"{web.url}/api/v1/documents/{document['id']}/file",
        headers=headers,
        stream=True,
        timeout=300,
    ) as response:
        for part in response.iter_content(MIB):
            received += len(part)
    download_seconds = time.perf_counter() - started
    download_peak = process_memory(gunicorn_worker)["peak_rss_mib"]
    assert received == len(data)
    results["file_mib"] = round(len(data) / MIB, 1)
    results["rss_before_mib"] = before
    results["upload"] = {
        "peak_rss_mib": upload_peak,
        "peak_above_before_mib": round(upload_peak - before, 1),
        "seconds": round(upload_seconds, 2),
    }
    results["download"] = {
        "peak_rss_mib": download_peak,
        "peak_above_before_mib": round(download_peak - before, 1),
        "seconds": round(download_seconds, 2),
    }
    requests.delete(f"{web.url}/api/v1/documents/{document['id']}", headers=headers, timeout=60)


def load(
    web: str, headers: dict[str, str], requests_count: int, concurrency: int
) -> dict[str, Any]:
    """Chat questions and document lists at ``concurrency``: rate and latency of each."""
    figures: dict[str, Any] = {}
    calls: dict[str, Callable[[int], float]] = {
        "chat": lambda n: ask(web, headers, QUESTIONS[n % len(QUESTIONS)]),
        "list_documents": lambda n: timed_get(f"{web}/api/v1/documents/", headers),
    }
    for name, call in calls.items():
        started = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            latencies = list(pool.map(call, range(requests_count)))
        elapsed = time.perf_counter() - started
        figures[name] = {
            "requests_per_second": round(requests_count / elapsed, 2),
            **latency_summary(latencies),
        }
    return figures


def timed_get(url: str, headers: dict[str, str]) -> float:
    started = time.perf_counter()
    response = requests.get(url, headers=headers, timeout=120)
    assert response.status_code == 200, response.text
    return time.perf_counter() - started


def measure_gunicorn(
    cluster: Deployment, headers: dict[str, str], arguments: argparse.Namespace
) -> dict[str, Any]:
    configurations = {
        "sync, 2 workers": ("--workers", "2", "--worker-class", "sync"),
        "gthread, 2 workers x 4 threads": ("--workers", "2", "--threads", "4"),
        "gthread, 1 worker x 8 threads": ("--workers", "1", "--threads", "8"),
        "gthread, 4 workers x 2 threads": ("--workers", "4", "--threads", "2"),
    }
    figures = {}
    for name, options in configurations.items():
        web = cluster.web(f"gunicorn-{len(figures)}", *options, "--timeout", "120")
        for question in QUESTIONS:  # every worker process loads the model before timing
            for _ in range(4):
                ask(web.url, headers, question)
        figures[name] = load(web.url, headers, arguments.requests, arguments.concurrency)
        figures[name]["total_pss_mib"] = round(
            sum(
                process_memory(pid)["pss_mib"]
                for pid in [web.process.pid, *children(web.process.pid)]
            ),
            1,
        )
        print(name, figures[name], flush=True)
        cluster.stop(web)
    return figures


def measure_storage(arguments: argparse.Namespace) -> dict[str, Any]:
    passages = scifact_corpus(limit=arguments.passages)
    with temporary_database(arguments.home, arguments.server_url) as url:
        kit = RagKit(Settings(database_url=url, home=arguments.home))
        try:
            kit.pipeline.ingest_texts(
                "sizing", [TextItem(id_, title, text) for id_, title, text in passages]
            )
            with kit.database.sessions() as session:
                table = active_index(session, "sizing").table_name
                sizes = {
                    name: int(session.execute(sa.text(query), {"table": table}).scalar_one())
                    for name, query in {
                        "chunks": "SELECT count(*) FROM chunks WHERE organization_id = 'sizing'",
                        "vector_table": "SELECT pg_total_relation_size(:table)",
                        "hnsw_index": "SELECT sum(pg_relation_size(indexrelid)) FROM pg_index "
                        "JOIN pg_class c ON c.oid = indexrelid JOIN pg_am a ON a.oid = c.relam "
                        "WHERE indrelid = CAST(:table AS regclass) AND a.amname = 'hnsw'",
                        "chunk_rows": "SELECT pg_total_relation_size('chunks')",
                        "postings": "SELECT pg_total_relation_size('chunk_terms')",
                        "documents": "SELECT pg_total_relation_size('documents')",
                    }.items()
                }
        finally:
            kit.close()
    chunks = sizes.pop("chunks")
    everything = sum(size for name, size in sizes.items() if name != "hnsw_index")  # in the table
    per_chunk = {name: round(size / chunks) for name, size in sizes.items()}
    return {
        "passages": len(passages),
        "chunks": chunks,
        "bytes": sizes,
        "bytes_per_chunk": per_chunk,
        "vectors_per_gib_vector_table_with_hnsw": round(1024**3 / (sizes["vector_table"] / chunks)),
        "chunks_per_gib_everything": round(1024**3 / (everything / chunks)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_arguments(parser, "deployment")
    parser.add_argument("--passages", type=int, default=3000, help="SciFact passages to store")
    parser.add_argument("--requests", type=int, default=40, help="requests per load run")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--only", choices=("storage", "memory", "files", "gunicorn"), action="append"
    )
    arguments = parser.parse_args()
    run = Run("deployment", arguments)
    parts = set(arguments.only or ("storage", "memory", "files", "gunicorn"))
    results: dict[str, Any] = {}
    if "storage" in parts:
        results["storage"] = measure_storage(arguments)
        print("storage", results["storage"], flush=True)
    if parts & {"memory", "files", "gunicorn"}:
        with temporary_database(arguments.home, arguments.server_url) as url:
            engine = sa.create_engine(url)
            upgrade(engine)
            run.record_server(engine)
            engine.dispose()
            with deployment(url) as cluster:
                web = cluster.web("web", "--workers", "1", "--threads", "4")
                headers = sign_up(web.url)
                if "memory" in parts:
                    results["memory"] = {}
                    measure_memory(cluster, headers, web, results["memory"])
                    print("memory", results["memory"], flush=True)
                if "files" in parts:
                    results["files"] = {}
                    measure_files(web, headers, results["files"])
                    print("files", results["files"], flush=True)
                if "gunicorn" in parts:
                    documents = [
                        upload(web.url, headers, f"router-r{n}.md", handbook(n).encode())
                        for n in range(30)
                    ]
                    worker = cluster.worker("worker-load")
                    wait_ready(web.url, headers, [d["id"] for d in documents])
                    cluster.stop(worker)
                    cluster.stop(web)
                    results["gunicorn"] = measure_gunicorn(cluster, headers, arguments)
    run.finish(results, arguments.output)


if __name__ == "__main__":
    main()
