"""Start-up times of cold processes: the CLI, the web app and a worker.

``python -m benchmarks.startup [--repeat 5]`` works on a temporary database of the embedded server
under ``--home`` and a Redis of its own. The example documents are ingested once with the CLI
(which also exports the question graph into the model cache); then each command is started
``--repeat`` times as a new process, and the median and fastest wall-clock times are reported:

* ``ragkit --help``, ``ragkit status`` and ``ragkit ask`` to their exit, with the database server
  already running (as under ``make run`` or with ``DATABASE_URL``), and ``status``/``ask`` again
  fully cold: the CLI starts the embedded server itself and stops it when it leaves;
* the web app (gunicorn, one sync worker) until ``/readyz`` answers, then its first chat answer,
  with its resident memory and whether PyTorch was loaded;
* a worker until it has registered with Redis, having loaded the model before forking.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa
from redis import Redis

from benchmarks.common import Run, add_common_arguments, temporary_database
from ragkit.database import embedded_data_dir
from tests.outage_servers import RedisServer, free_port
from tests.test_many_processes import ask, sign_up, wait_until

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "docs"
QUESTION = "How do I reset my password?"
ROOT = Path(__file__).resolve().parent.parent


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="starts of each command")
    add_common_arguments(parser, "startup")
    return parser.parse_args(argv)


def timed(command: Sequence[str], env: dict[str, str]) -> float:
    """Seconds from starting ``command`` to its exit (which must be a success)."""
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return elapsed


def summary(seconds: Sequence[float]) -> dict[str, float]:
    return {"median_s": round(statistics.median(seconds), 3), "min_s": round(min(seconds), 3)}


def repeat(times: int, measure: Callable[[], float]) -> dict[str, float]:
    return summary([measure() for _ in range(times)])


def cli_times(arguments: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    """The CLI against a running server (``env`` names it) and, for status/ask, fully cold."""
    ragkit = [sys.executable, "-m", "ragkit.cli"]
    results: dict[str, Any] = {
        "help": repeat(arguments.repeat, lambda: timed([*ragkit, "--help"], env)),
        "status": repeat(arguments.repeat, lambda: timed([*ragkit, "status"], env)),
        "ask": repeat(arguments.repeat, lambda: timed([*ragkit, "ask", QUESTION], env)),
    }
    with tempfile.TemporaryDirectory(prefix="rk-cold-") as home:
        cold = {**env, "RAGKIT_HOME": home}
        cold.pop("DATABASE_URL")
        timed([*ragkit, "ingest", str(EXAMPLES)], cold)  # its own embedded server, stopped after
        assert not (embedded_data_dir(Path(home)) / "postmaster.pid").exists()
        for name, command in (("status", ["status"]), ("ask", ["ask", QUESTION])):
            cold_command = [*ragkit, *command]
            seconds = [timed(cold_command, cold) for _ in range(arguments.repeat)]
            results[f"{name}_cold_server"] = summary(seconds)
    return results


def resident_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def loaded_torch(pid: int) -> bool:
    return "libtorch" in Path(f"/proc/{pid}/maps").read_text()


def web_start(env: dict[str, str]) -> dict[str, Any]:
    """One gunicorn start: seconds to /readyz, then to the first answer; memory."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", "1", "--no-control-socket", "webapp:create_app()"]
    started = time.perf_counter()
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_until(lambda: ready(url, process), 120, "the web app to answer")
        ready_s = time.perf_counter() - started
        worker = web_worker(process.pid)
        headers = sign_up(url)
        asked = time.perf_counter()
        ask(url, headers, QUESTION)
        return {
            "ready_s": ready_s,
            "first_answer_s": time.perf_counter() - asked,
            "rss_after_first_answer_mib": resident_mib(worker),
            "pytorch_loaded": loaded_torch(worker),
        }
    finally:
        process.terminate()
        process.wait(timeout=60)


def ready(url: str, process: subprocess.Popen[bytes]) -> bool:
    if process.poll() is not None:
        raise RuntimeError(f"the web app exited with {process.returncode}")
    try:
        return requests.get(f"{url}/readyz", timeout=5).status_code == 200
    except requests.RequestException:
        return False


def web_worker(master: int) -> int:
    """gunicorn's one worker process (the master only forks it)."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            if parent == master:
                return int(entry.name)
    raise RuntimeError("gunicorn started no worker")


def worker_start(env: dict[str, str], redis_url: str) -> float:
    """Seconds until a new worker has loaded the model and registered with Redis."""
    from rq import Worker

    redis = Redis.from_url(redis_url)
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "workers"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(
            lambda: any(w.pid == process.pid for w in Worker.all(connection=redis)),
            180,
            "the worker to register",
        )
        return time.perf_counter() - started
    finally:
        process.terminate()
        process.wait(timeout=60)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    arguments = parse_arguments(argv)
    run = Run("startup", arguments)
    redis = RedisServer()
    redis.start()
    try:
        with temporary_database(arguments.home, arguments.server_url) as database_url:
            run.record_server(sa.create_engine(database_url))
            env = {
                **os.environ,
                "PYTHONPATH": str(ROOT),
                "DATABASE_URL": database_url,
                "REDIS_URL": redis.url,
                "RAGKIT_HOME": str(arguments.home),
                "RAGKIT_ENV": "test",
                "SECRET_KEY": "startup-benchmark-" + "s" * 24,
                "JWT_SECRET_KEY": "startup-benchmark-jwt-" + "j" * 24,
            }
            print("ingesting the example documents (exports the question graph once)")
            timed([sys.executable, "-m", "ragkit.cli", "ingest", str(EXAMPLES)], env)
            results: dict[str, Any] = {"cli": cli_times(arguments, env)}
            print("cli:", results["cli"])
            starts = [web_start(env) for _ in range(arguments.repeat)]
            results["web"] = {
                "ready": summary([start["ready_s"] for start in starts]),
                "first_answer": summary([start["first_answer_s"] for start in starts]),
                "rss_after_first_answer_mib": starts[-1]["rss_after_first_answer_mib"],
                "pytorch_loaded": any(start["pytorch_loaded"] for start in starts),
            }
            print("web:", results["web"])
            results["worker"] = repeat(arguments.repeat, lambda: worker_start(env, redis.url))
            print("worker:", results["worker"])
    finally:
        redis.remove()
    results["goals"] = {"help_s": 0.5, "ask_s": 3.0, "status_s": 1.0}
    return run.finish(results, arguments.output)


if __name__ == "__main__":
    main()
