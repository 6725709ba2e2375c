"""The full-size hostile-file corpus through a real worker and through ``ragkit ingest``.

Writes the ``full`` corpus of ``tests/hostile_corpus.py`` (a DOCX inflating to 1 GiB, a
million-row CSV, a 50 MB line of text, 20,000 PDF pages, ...), creates a scratch database on
the embedded PostgreSQL and starts one ``python -m workers`` with the default limits. Each file
is recorded as a ``pending`` document and queued alone; the run records how it ended, the
seconds until then and the peak resident memory of its work horse (read from ``/proc`` while it
runs), and checks that the worker is still alive. Then ``ragkit ingest`` takes the whole folder
in one run: its exit status, seconds, peak memory and whether it printed its summary.

    BENCHMARK_REDIS_URL=redis://127.0.0.1:6379/14 python -m benchmarks.hostile_files

Prints a table and writes ``benchmarks/results/hostile_files.json``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from redis import Redis
from rq import Worker

from benchmarks.workers_throughput import cpu_model, drop_database, scratch_database
from ragkit import Document, RagKit, Settings
from ragkit.database import Database
from tests.hostile_corpus import generate
from tests.workers.test_hostile_files import record_pending
from workers.queue import enqueue_processing

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "hostile_files.json"
REDIS_URL = os.environ.get("BENCHMARK_REDIS_URL", "redis://127.0.0.1:6379/14")
FILE_SECONDS = 900


def children_of(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def outcome(kit: RagKit, document_id: uuid.UUID) -> tuple[str, str | None]:
    with kit.database.sessions() as session:
        document = session.get(Document, document_id)
        assert document is not None
        return document.status, document.processing_error


def through_worker(kit: RagKit, connection: Redis, env: dict[str, str], folder: Path) -> dict:
    corpus = generate(folder, "full")
    worker = subprocess.Popen(
        [sys.executable, "-m", "workers"],
        cwd=folder,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    while worker.pid not in {w.pid for w in Worker.all(connection=connection)}:
        time.sleep(0.2)
    time.sleep(1)
    helpers = children_of(worker.pid)
    rows = []
    organization = f"hostile-{uuid.uuid4().hex[:8]}"
    for item in corpus:
        document_id = record_pending(kit, organization, item.path)
        with kit.database.sessions() as session:
            content_hash = session.get(Document, document_id).content_hash
        began = time.perf_counter()
        enqueue_processing(connection, document_id, content_hash)
        peak = 0.0
        status, error = outcome(kit, document_id)
        while status not in ("ready", "failed") and time.perf_counter() - began < FILE_SECONDS:
            for horse in children_of(worker.pid) - helpers:
                peak = max(peak, peak_rss_mb(horse))
            time.sleep(0.02)
            status, error = outcome(kit, document_id)
        rows.append(
            {
                "file": item.path.name,
                "megabytes": round(item.path.stat().st_size / 1024 / 1024, 2),
                "outcome": status,
                "expected": item.outcome,
                "as_expected": status == item.outcome
                and (status == "ready" or item.expect in (error or "")),
                "seconds": round(time.perf_counter() - began, 2),
                "peak_rss_mb": round(peak),
                "error": error,
            }
        )
        print(f"{rows[-1]['file']:<22} {status:<8} {rows[-1]['seconds']:>7} s {peak:>6.0f} MB")
    alive = worker.poll() is None
    worker.terminate()
    worker.wait(timeout=60)
    return {"files": rows, "worker_alive_after": alive}


def through_cli(env: dict[str, str], folder: Path) -> dict[str, Any]:
    began = time.perf_counter()
    with tempfile.TemporaryFile("w+") as output:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "ragkit"), "ingest", str(folder), "--json"],
            cwd=folder,
            env={**env, "RAGKIT_ORG": f"hostile-cli-{uuid.uuid4().hex[:8]}"},
            stdout=output,
            stderr=subprocess.DEVNULL,
        )
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        lines = output.read().strip().splitlines()
    summary = json.loads(lines[-1]) if lines else None
    return {
        "exit_status": process.returncode,
        "seconds": round(time.perf_counter() - began, 1),
        "peak_rss_mb": round(usage.ru_maxrss / 1024),
        "summary_printed": summary is not None,
        "summary": summary,
    }


def main() -> None:
    home = Path(os.environ.get("RAGKIT_BENCH_HOME", "/tmp/ragkit-bench"))
    server, name = scratch_database(home)
    url = server.set(database=name).render_as_string(hide_password=False)
    settings = Settings(database_url=url, home=home)
    kit = RagKit(settings, Database.from_settings(settings))
    connection = Redis.from_url(REDIS_URL)
    connection.flushdb()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": REDIS_URL,
        "RAGKIT_HOME": str(home),
        "PYTHONPATH": str(ROOT),
        "RAGKIT_QUEUE_PREFIX": "",
    }
    folder = Path(tempfile.mkdtemp(prefix="ragkit-hostile-"))
    try:
        worker = through_worker(kit, connection, env, folder)
        cli = through_cli(env, folder)
    finally:
        connection.flushdb()
        kit.database.close()
        drop_database(server, name)
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()
    results = {
        "machine": {"cores": os.cpu_count(), "cpu": cpu_model()},
        "worker": worker,
        "cli": cli,
    }
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps({"worker_alive_after": worker["worker_alive_after"], "cli": cli}, indent=2))


if __name__ == "__main__":
    main()
