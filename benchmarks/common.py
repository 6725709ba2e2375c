"""What every benchmark shares: a throw-away database, the machine and versions, JSON results.

Each run gets a fresh database on the embedded PostgreSQL under ``/tmp/ragkit-bench`` (or on
``--server-url``), migrated by ragkit and dropped at the end, so runs never see each other's
rows. Results carry the load average at the start and end: the machine may be shared.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import platform
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa

from ragkit import RagKit, Settings
from ragkit.database import normalise_url, start_embedded

BENCH_HOME = Path("/tmp/ragkit-bench")
RESULTS = Path(__file__).resolve().parent / "results"
SCIFACT = Path("/work/shared/data/scifact")
PACKAGES = ("torch", "onnxruntime", "sentence-transformers", "llama-index-core", "ragkit")


def add_common_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    """Options every benchmark takes: where to write, which server, which ragkit home."""
    parser.add_argument("--output", type=Path, default=RESULTS / f"{name}.json")
    parser.add_argument(
        "--home",
        type=Path,
        default=BENCH_HOME,
        help="RAGKIT_HOME of the run: embedded server and the ONNX model cache",
    )
    parser.add_argument(
        "--server-url",
        default=None,
        help="a PostgreSQL+pgvector server to create the temporary database on "
        "(default: the embedded server under --home)",
    )


# The machine and the software


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def source_state() -> dict[str, Any]:
    """The commit measured, and ragkit files that differed from it (a shared working tree)."""
    root = Path(__file__).resolve().parent.parent

    def git(*command: str) -> str:
        try:
            return subprocess.run(
                ["git", *command], cwd=root, capture_output=True, text=True, check=True
            ).stdout.rstrip()
        except (OSError, subprocess.CalledProcessError):
            return ""

    changed = git("status", "--porcelain", "--", "ragkit", "webapp", "migrations")
    return {
        "commit": git("rev-parse", "--short", "HEAD"),
        "uncommitted": [line[3:] for line in changed.splitlines()],
    }


def server_versions(engine: sa.Engine) -> dict[str, str]:
    with engine.connect() as connection:
        server = connection.execute(sa.text("SHOW server_version")).scalar_one()
        vector = connection.execute(
            sa.text("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        ).scalar()
    return {"postgresql": str(server), "pgvector": str(vector)}


class Run:
    """One benchmark run: what it measured, on which machine, with which versions."""

    def __init__(self, name: str, arguments: argparse.Namespace) -> None:
        self.name = name
        self.arguments = {
            key: str(value) if isinstance(value, Path) else value
            for key, value in vars(arguments).items()
        }
        self.started = datetime.now(UTC)
        self.clock = time.perf_counter()
        self.load_at_start = load_average()
        self.versions = package_versions()
        self.source = source_state()
        # A plain kill runs the ``finally`` blocks too, so the temporary database is dropped.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        print(f"{name}: {os.cpu_count()} cores, {cpu_model()}, load average {self.load_at_start}")

    def record_server(self, engine: sa.Engine) -> None:
        self.versions.update(server_versions(engine))

    def finish(self, results: dict[str, Any], output: Path) -> dict[str, Any]:
        """Write the JSON result and print where it went."""
        report: dict[str, Any] = {
            "benchmark": self.name,
            "started_at": self.started.isoformat(timespec="seconds"),
            "duration_s": round(time.perf_counter() - self.clock, 1),
            "machine": {
                "cores": os.cpu_count(),
                "cpu_model": cpu_model(),
                "load_average_start": self.load_at_start,
                "load_average_end": load_average(),
            },
            "versions": self.versions,
            "source": self.source,
            "parameters": self.arguments,
            "results": results,
        }
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(report, indent=2) + "\n")
        print(
            f"versions: {', '.join(f'{key} {value}' for key, value in self.versions.items())}\n"
            f"load average at end {report['machine']['load_average_end']}; "
            f"took {report['duration_s']} s; wrote {output}"
        )
        return report


# A temporary database


@contextlib.contextmanager
def temporary_database(home: Path = BENCH_HOME, server_url: str | None = None) -> Iterator[str]:
    """A new empty database (URL) on the server, dropped with everything in it afterwards."""
    server = normalise_url(server_url) if server_url else start_embedded(home)
    name = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextlib.contextmanager
def temporary_kit(arguments: argparse.Namespace, **settings: Any) -> Iterator[RagKit]:
    """A ``RagKit`` on a fresh, migrated temporary database."""
    with temporary_database(arguments.home, arguments.server_url) as url:
        kit = RagKit(Settings(database_url=url, home=arguments.home, **settings))
        try:
            yield kit
        finally:
            kit.close()


# SciFact


def scifact_corpus(folder: Path = SCIFACT, limit: int | None = None) -> list[tuple[str, str, str]]:
    """``(id, title, text)`` of the corpus, in file order (read in place, never copied)."""
    path = folder / "corpus.jsonl.gz"
    opener = gzip.open if path.exists() else open
    path = path if path.exists() else folder / "corpus.jsonl"
    documents = []
    with opener(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                row = json.loads(line)
                documents.append((str(row["_id"]), row.get("title", ""), row["text"]))
                if limit is not None and len(documents) >= limit:
                    break
    return documents


def scifact_queries(folder: Path = SCIFACT, limit: int | None = None) -> list[str]:
    """The claims of SciFact's test split (all queries if it has no test qrels)."""
    judged: set[str] | None = None
    qrels = folder / "qrels" / "test.tsv"
    if qrels.exists():
        judged = {line.split("\t")[0] for line in qrels.read_text().splitlines()[1:] if line}
    queries = []
    with (folder / "queries.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            if judged is None or str(row["_id"]) in judged:
                queries.append(row["text"])
    return queries[:limit]


# Figures


def latency_summary(seconds: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99 and mean in milliseconds."""
    values = np.asarray(seconds) * 1000.0
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return {
        "n": len(values),
        "p50_ms": round(float(p50), 2),
        "p95_ms": round(float(p95), 2),
        "p99_ms": round(float(p99), 2),
        "mean_ms": round(float(values.mean()), 2),
    }


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A plain aligned table on stdout."""
    cells = [[str(header) for header in headers]]
    cells += [[_cell(value) for value in row] for row in rows]
    widths = [max(len(row[column]) for row in cells) for column in range(len(headers))]
    for number, row in enumerate(cells):
        print("  ".join(value.rjust(width) for value, width in zip(row, widths)))
        if number == 0:
            print("  ".join("-" * width for width in widths))


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


class PhaseTimer:
    """Seconds spent in some methods of some objects (wrapped on the instance only)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}

    def wrap(self, target: Any, method: str, label: str | None = None) -> None:
        label = label or method
        original = getattr(target, method)

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[label] = self.seconds.get(label, 0.0) + time.perf_counter() - started
                self.calls[label] = self.calls.get(label, 0) + 1

        setattr(target, method, timed)

    def reset(self) -> None:
        self.seconds.clear()
        self.calls.clear()

    def summary(self) -> dict[str, float]:
        return {label: round(value, 3) for label, value in self.seconds.items()}


def time_ingest_stages(phases: PhaseTimer, kit: RagKit) -> None:
    """Time the ingest stages of ``kit``: ``split`` (reading the units and splitting the changed
    ones), ``previous_vectors``, ``embed`` and ``replace`` (the database writes)."""
    from ragkit.ingest import embed, pipeline

    phases.wrap(kit.pipeline.preparer, "_split", "split")
    phases.wrap(kit.pipeline.preparer, "previous_vectors")
    phases.wrap(embed, "embed_documents", "embed")  # groups embedded in the background
    phases.wrap(pipeline, "embed_documents", "embed")  # one document
    phases.wrap(kit.pipeline.storage, "replace")
